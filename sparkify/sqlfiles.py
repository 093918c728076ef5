"""The SQL library: every statement lives in ``sql/`` as Redshift SQL, one statement per file.

A file opens with a comment header (what it does, its columns, its parameters) followed by one
statement. Parameters are written ``%(name)s``: the pipeline binds them through psycopg2, and
:func:`render` fills them in as literals quoted by psycopg2's own adapters (for the COPY emulator,
which parses the statement text); nothing is ever concatenated into SQL from Python strings.

Files are re-read when they change on disk (the cache is keyed by path and modification time), so
an edit made while JupyterLab runs is picked up by the next call in the same kernel.
"""

from __future__ import annotations

import numbers
import re
from dataclasses import dataclass
from pathlib import Path

from psycopg2.extensions import adapt

from .paths import SQL_DIR

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")
_NAMED_CHECK = re.compile(r"^Check (\w+): (.+)$")


@dataclass(frozen=True)
class SqlFile:
    name: str  # path below sql/ without .sql, e.g. "checks/users_level_accepted"
    path: Path
    text: str

    @property
    def header(self) -> str:
        """The leading comment lines, without the ``--`` markers."""
        lines = []
        for line in self.text.splitlines():
            if not line.startswith("--"):
                break
            lines.append(line[2:].strip())
        return "\n".join(lines)

    @property
    def purpose(self) -> str:
        return self.header.split("\n")[0]

    @property
    def checks(self) -> list[tuple[str, str]]:
        """The data-quality checks a file of sql/checks/ holds, as (name, what it checks). Most hold
        one, named after the file, its header opening with "Check: <what>", and any row it returns
        breaks it. A file that checks several rules of a table in one pass names each on a header
        line "Check <name>: <what>" and returns, for every row that breaks any of them, a column per
        check named after it, TRUE where the row breaks that check."""
        named = [match.groups() for match in map(_NAMED_CHECK.match, self.header.splitlines()) if match]
        return named or [(self.stem, self.purpose.removeprefix("Check: "))]

    @property
    def parameters(self) -> list[str]:
        return sorted(set(_PLACEHOLDER.findall(self.text)))

    @property
    def stem(self) -> str:
        return self.path.stem

    def render(self, params: dict | None = None) -> str:
        return render(self.text, params or {}, where=str(self.path))


_cache: dict[Path, tuple[int, SqlFile]] = {}


def load(name: str) -> SqlFile:
    """``sql/<name>.sql``, read again whenever the file changed since the last call."""
    path = SQL_DIR / f"{name}.sql"
    try:
        stamp = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise FileNotFoundError(f"no SQL file {path} (names are relative to sql/, without .sql)") from None
    cached = _cache.get(path)
    if cached is None or cached[0] != stamp:
        cached = (stamp, SqlFile(name, path, path.read_text(encoding="utf-8")))
        _cache[path] = cached
    return cached[1]


def folder(name: str) -> list[SqlFile]:
    """Every file of a folder of sql/, in name order."""
    return [load(f"{name}/{p.stem}") for p in sorted((SQL_DIR / name).glob("*.sql"))]


def every_file() -> list[SqlFile]:
    return [load(str(p.relative_to(SQL_DIR).with_suffix(""))) for p in sorted(SQL_DIR.rglob("*.sql"))]


def quote(value: object) -> str:
    """A value as a SQL literal, quoted by psycopg2's adapters (strings as UTF-8, with backslashes
    escaped as Redshift reads them). Only plain scalars are accepted."""
    if value is not None and not isinstance(value, (str, numbers.Real)):
        raise TypeError(f"cannot use a {type(value).__name__} as a SQL parameter")
    if isinstance(value, str) and any(ord(ch) < 32 for ch in value):
        raise ValueError("control characters are not allowed in SQL parameters")
    adapted = adapt(value)
    if hasattr(adapted, "encoding"):
        adapted.encoding = "utf-8"
    return adapted.getquoted().decode("utf-8")


def render(text: str, params: dict, where: str = "SQL") -> str:
    """Fill ``%(name)s`` placeholders with quoted literals (``%%`` becomes ``%``)."""
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(params))
    if missing:
        raise KeyError(f"{where}: missing parameter(s) {', '.join(missing)}")
    return text % {key: quote(value) for key, value in params.items()}
