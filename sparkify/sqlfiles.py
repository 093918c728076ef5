"""The SQL library: every statement lives in ``sql/`` as Redshift SQL, one statement per file.

A file opens with a comment header (what it does, its columns, its parameters) followed by one
statement. Parameters are written ``%(name)s`` and are filled in as safely quoted literals by
:func:`render` (strings quoted by sqlglot for the Redshift dialect, numbers checked to be numbers);
nothing is ever concatenated into SQL from Python strings.
"""

from __future__ import annotations

import functools
import numbers
import re
from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp

from .paths import SQL_DIR

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


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
    def parameters(self) -> list[str]:
        return sorted(set(_PLACEHOLDER.findall(self.text)))

    @property
    def stem(self) -> str:
        return self.path.stem

    def render(self, params: dict | None = None) -> str:
        return render(self.text, params or {}, where=str(self.path))


@functools.cache
def load(name: str) -> SqlFile:
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(f"no SQL file {path} (names are relative to sql/, without .sql)")
    return SqlFile(name, path, path.read_text(encoding="utf-8"))


def folder(name: str) -> list[SqlFile]:
    """Every file of a folder of sql/, in name order."""
    return [load(f"{name}/{p.stem}") for p in sorted((SQL_DIR / name).glob("*.sql"))]


def every_file() -> list[SqlFile]:
    return [load(str(p.relative_to(SQL_DIR).with_suffix(""))) for p in sorted(SQL_DIR.rglob("*.sql"))]


def quote(value: object) -> str:
    """A value as a Redshift SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, str):
        if any(ord(ch) < 32 for ch in value):
            raise ValueError("control characters are not allowed in SQL parameters")
        return exp.Literal.string(value).sql(dialect="redshift")
    raise TypeError(f"cannot use a {type(value).__name__} as a SQL parameter")


def render(text: str, params: dict, where: str = "SQL") -> str:
    """Fill ``%(name)s`` placeholders with quoted literals (``%%`` becomes ``%``)."""
    missing = sorted(set(_PLACEHOLDER.findall(text)) - set(params))
    if missing:
        raise KeyError(f"{where}: missing parameter(s) {', '.join(missing)}")
    return text % {key: quote(value) for key, value in params.items()}
