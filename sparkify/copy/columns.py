"""Columns: which value of a JSON record goes to which column.

* ``JSON 'auto'``: each column takes the key of the same name (lower-case column names, matched to
  keys exactly);
* ``'auto ignorecase'``: keys matched to column names whatever their case;
* a JSONPaths file: paths mapped to columns by position (``$['key']``, ``$["key"]``, ``$.key`` and
  nested forms such as ``$.a.b[0]``). A path that is missing in a record gives NULL.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import orjson

from .result import CopyError
from .sources import Storage
from .statement import CopyCommand

_PATH_PART = re.compile(r"""\[\s*'((?:[^'\\]|\\.)*)'\s*\]   # $['key']
                          |\[\s*"((?:[^"\\]|\\.)*)"\s*\]   # $["key"]
                          |\.([A-Za-z_$][\w$]*)              # $.key
                          |\[(\d+)\]                          # [0]""", re.VERBOSE)


def parse_jsonpath(path: str, where: str) -> tuple[object, ...]:
    """``$['a'].b[0]`` as ('a', 'b', 0)."""
    if not isinstance(path, str) or not path.startswith("$"):
        raise CopyError(f"{where}: invalid JSONPath {path!r}: it must start with $")
    parts: list[object] = []
    pos = 1
    while pos < len(path):
        match = _PATH_PART.match(path, pos)
        if not match:
            raise CopyError(f"{where}: invalid JSONPath {path!r} at character {pos + 1}")
        single, double, dotted, index = match.groups()
        parts.append(int(index) if index is not None else (single if single is not None else
                                                          double if double is not None else dotted))
        pos = match.end()
    if not parts:
        raise CopyError(f"{where}: invalid JSONPath {path!r}: it names no element")
    return tuple(parts)


def load_jsonpaths(storage: Storage, uri: str, ncols: int) -> list[tuple[object, ...]]:
    """The paths of the JSONPaths file at ``uri``, one per column."""
    raw = storage.read(uri, "JSONPaths file")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise CopyError(f"JSONPaths file {uri}: not valid JSON: {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("jsonpaths"), list):
        raise CopyError(f'JSONPaths file {uri}: expected an object {{"jsonpaths": [...]}}')
    paths = [parse_jsonpath(p, f"JSONPaths file {uri}") for p in doc["jsonpaths"]]
    if len(paths) != ncols:
        raise CopyError(f"JSONPaths file {uri}: the number of jsonpaths ({len(paths)}) and the number of "
                        f"columns in the table or column list ({ncols}) should match")
    return paths


def json_mapping(cmd: CopyCommand, storage: Storage, ncols: int) -> tuple[list[tuple[object, ...]], list[str] | None]:
    """The JSONPaths of the COPY (none for 'auto' and 'auto ignorecase'), and the top-level key of each
    column when every path names one (None otherwise)."""
    paths: list[tuple[object, ...]] = []
    keys: list[str] | None = None  # JSONPaths that each name one top-level key
    if cmd.json.lower() not in ("auto", "auto ignorecase"):
        paths = load_jsonpaths(storage, cmd.json, ncols)
        if all(len(p) == 1 and isinstance(p[0], str) for p in paths):
            keys = [p[0] for p in paths]
    return paths, keys


def value_getter(mode: str, names: list[str], paths: list[tuple[object, ...]],
                 keys: list[str] | None) -> Callable[[dict], list[object]]:
    """A function from a JSON object to the values of the columns ``names``, in their order."""
    ignorecase = mode == "auto ignorecase"

    def values_of(obj: dict) -> list[object]:
        if mode == "auto":
            return [obj.get(n) for n in names]
        if ignorecase:
            lowered = {k.lower(): v for k, v in obj.items()}
            return [lowered.get(n.lower()) for n in names]
        if keys is not None:
            return [obj.get(k) for k in keys]
        out = []
        for path in paths:
            node: object = obj
            for part in path:
                if isinstance(part, int):
                    node = node[part] if isinstance(node, list) and part < len(node) else None
                else:
                    node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    break
            out.append(node)
        return out

    return values_of
