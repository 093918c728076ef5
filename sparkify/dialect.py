"""Redshift SQL to PostgreSQL, with sqlglot.

Each statement is parsed as Redshift SQL and generated for PostgreSQL. sqlglot maps the functions
and types (DATEADD, GETDATE, LEN, NVL, ``datetime``, IDENTITY ...); this module removes what
PostgreSQL has no use for or would enforce differently:

* physical design: DISTSTYLE, DISTKEY, SORTKEY, ENCODE;
* PRIMARY KEY constraints: Redshift treats them as information only and never rejects a duplicate,
  so PostgreSQL must not either, or a duplicate that Redshift would load (and our checks would
  report) would fail locally instead;
* VARCHAR(MAX) becomes TEXT;
* ``STRTOL(hex, 16)`` (Redshift's base conversion, which PostgreSQL lacks) becomes a cast of the
  zero-padded hex digits through ``BIT(64)`` to BIGINT: the same value for up to 15 hex digits. The
  first n digits of an MD5 (``SUBSTRING(MD5(...), 1, n)``, always n digits) are cast through
  ``BIT(4n)`` without the padding, which is a third of the cost of the whole conversion;
* ``EXTRACT(part FROM ...)`` of a whole-number part (HOUR, DAY, WEEK, DOW, ...) becomes
  ``CAST(DATE_PART('part', ...) AS INTEGER)``: Redshift returns an INTEGER there, PostgreSQL's EXTRACT
  a NUMERIC, which is also about twice as slow to compute as DATE_PART's DOUBLE PRECISION.

A ``DELETE`` of every row of a table (no WHERE, no USING), how a full load empties the star schema
inside its transaction, becomes ``TRUNCATE TABLE``. Redshift commits a TRUNCATE at once, so the SQL
files never use one; PostgreSQL's TRUNCATE is transactional (a failed load's rollback restores the
table), and it leaves no dead rows behind, so the reload writes a fresh table (no WAL at
``wal_level = minimal``) that later scans read at its own size. What differs: until the transaction
ends, other sessions wait to read that table instead of reading the previous load (the local
backend sets a lock timeout for the transform, so it never waits forever on a session that holds
the table either).

What Redshift does with the physical design, PostgreSQL gets in its own form where it pays: a
``SORTKEY`` becomes a BRIN index on the same columns, created with the table (``<table>_zone_map``).
A BRIN index keeps the minimum and maximum of each range of pages, as Redshift's zone maps keep them per
block: a filter on the sort key (a day, the last 7 days, the staged day's time range) reads only the
page ranges that can match, and the index costs almost nothing to keep up when rows are added in sort
key order. Rows just added are summarized by autovacuum (``autosummarize``, and its VACUUM after a
load); until then their pages are read whatever the filter. The SQL files stay the same; Redshift
needs no index. (``zone_maps=False`` leaves it out: the local backend does so for the staging
tables, which every COPY replaces and every query reads whole, so that autovacuum's VACUUM after a
COPY skips their frozen pages instead of reading them all to summarize an index nothing uses.)

COPY statements are not translated: :mod:`sparkify.copy` executes them.
"""

from __future__ import annotations

import re

import sqlglot
from sqlglot import exp

_DROPPED_PROPERTIES = (exp.DistStyleProperty, exp.DistKeyProperty, exp.SortKeyProperty)
_DROPPED_CONSTRAINTS = (exp.EncodeColumnConstraint, exp.PrimaryKeyColumnConstraint)
# EXTRACT parts that are whole numbers on both engines (Redshift: INTEGER from a TIMESTAMP); the others
# (SECOND with its fraction, EPOCH, MILLISECOND ...) keep PostgreSQL's EXTRACT.
_WHOLE_PARTS = {"YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "WEEK", "DOW", "DOY", "QUARTER", "DECADE", "CENTURY",
                "MILLENNIUM", "ISODOW", "ISOYEAR"}


class DialectError(ValueError):
    """A statement that is not valid Redshift SQL (or has no PostgreSQL form)."""


def parse_redshift(sql: str, where: str = "SQL") -> exp.Expression:
    try:
        statements = [s for s in sqlglot.parse(sql, read="redshift") if s is not None]
    except sqlglot.errors.ParseError as err:
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # sqlglot underlines the token for terminals
        raise DialectError(f"{where}: not valid Redshift SQL: {message}") from None
    if len(statements) != 1:
        raise DialectError(f"{where}: expected one statement, found {len(statements)}")
    return statements[0]


def _md5_prefix_length(node: exp.Expression) -> int:
    """n for SUBSTRING(MD5(...), 1, n) with 1 <= n <= 15 (always n hex digits), else 0."""
    if not (isinstance(node, exp.Substring) and isinstance(node.this, exp.MD5)):
        return 0
    start, length = node.args.get("start"), node.args.get("length")
    if not (isinstance(start, exp.Literal) and isinstance(length, exp.Literal) and start.name == "1"):
        return 0
    return int(length.name) if length.name.isdigit() and 1 <= int(length.name) <= 15 else 0


def _strip(node: exp.Expression) -> exp.Expression | None:
    if isinstance(node, _DROPPED_PROPERTIES):
        return None
    if isinstance(node, exp.ColumnConstraint) and isinstance(node.args.get("kind"), _DROPPED_CONSTRAINTS):
        return None
    if isinstance(node, exp.PrimaryKey) and isinstance(node.parent, exp.Schema):
        return None
    if isinstance(node, exp.FromBase):
        if node.expression.name != "16":
            raise DialectError(f"STRTOL with base {node.expression.sql()}: only base 16 has a PostgreSQL form here")
        known = _md5_prefix_length(node.this)
        if known:  # exactly `known` hex digits: no padding needed
            digits, width = node.this.copy(), 4 * known
        else:
            digits = exp.func("LPAD", node.this.copy(), exp.Literal.number(16), exp.Literal.string("0"))
            width = 64
        bit_type = exp.DataType.build(f"BIT({width})", dialect="postgres")
        bits = exp.cast(exp.DPipe(this=exp.Literal.string("x"), expression=digits), bit_type)
        return exp.cast(bits, "BIGINT")
    if isinstance(node, exp.Extract) and node.this.name.upper() in _WHOLE_PARTS:
        part = exp.Literal.string(node.this.name.lower())
        return exp.cast(exp.Anonymous(this="DATE_PART", expressions=[part, node.expression.copy()]), "INTEGER")
    if isinstance(node, exp.DataType) and node.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR):
        sizes = node.expressions
        if sizes and sizes[0].name.upper() == "MAX":
            return exp.DataType.build("TEXT")
    return node


def _zone_map(tree: exp.Expression) -> str:
    """For a CREATE TABLE with a SORTKEY: the BRIN index that stands in for its zone maps (see above)."""
    if not (isinstance(tree, exp.Create) and tree.kind == "TABLE"):
        return ""
    sort_key = tree.find(exp.SortKeyProperty)
    if sort_key is None:
        return ""
    table = tree.find(exp.Table)
    index = exp.to_identifier(f"{table.name}_zone_map")
    columns = ", ".join(column.sql(dialect="postgres") for column in sort_key.this)
    return (f"; CREATE INDEX IF NOT EXISTS {index.sql(dialect='postgres')} ON {table.sql(dialect='postgres')} "
            f"USING BRIN ({columns}) WITH (autosummarize = on)")


def to_postgres(sql: str, where: str = "SQL", zone_maps: bool = True) -> str:
    """One Redshift statement as PostgreSQL text (a CREATE TABLE with a SORTKEY: and its BRIN index,
    unless ``zone_maps`` is False)."""
    tree = parse_redshift(sql, where)
    if isinstance(tree, exp.Copy):
        raise DialectError(f"{where}: COPY is executed by the local COPY emulator, not translated")
    if isinstance(tree, exp.Delete) and not any(tree.args.get(part) for part in ("where", "using", "returning")):
        return f"TRUNCATE TABLE {tree.this.sql(dialect='postgres')}"  # every row: see above
    zone_map = _zone_map(tree) if zone_maps else ""
    tree = tree.transform(_strip)
    properties = tree.args.get("properties")
    if isinstance(properties, exp.Properties) and not properties.expressions:
        tree.set("properties", None)
    try:
        return tree.sql(dialect="postgres", unsupported_level=sqlglot.ErrorLevel.RAISE) + zone_map
    except sqlglot.errors.UnsupportedError as err:
        raise DialectError(f"{where}: no PostgreSQL form: {err}") from None
