"""One COPY, start to end: the statement parsed, the target columns and their converters, the JSON
mapping, the source files listed, then the files streamed into the table (binary COPY rows when every
column type allows it, FREEZE into a table created in the same transaction), the rejects recorded,
and the table's statistics updated (STATUPDATE)."""

from __future__ import annotations

import time

from psycopg2 import sql as pgsql

from .. import sqlfiles
from ..dialect import to_postgres
from . import binary as pgbinary
from .columns import json_mapping, value_getter
from .convert import converter, invalid_char_handler
from .loaders import FastPath, RecordLoader, row_chunks
from .rejects import Rejects, next_query_id, record_load_errors
from .result import CopyError, CopyResult, EmptySource
from .sources import Storage
from .statement import CopyCommand, parse_copy
from .stream import copy_rows


def execute_copy(conn, text: str, storage: Storage, *, progress: bool = True, where: str = "COPY",
                 new_table: bool = False) -> CopyResult:
    """Run one COPY statement on ``conn`` inside the caller's transaction. ``new_table``: the caller
    created (or truncated) the table in this transaction, so the COPY may FREEZE its rows, and
    without a STATUPDATE option the table gets statistics (Redshift updates them by default when
    the table was empty). STATUPDATE ON runs ANALYZE on the table in the COPY's transaction.

    Raises CopyError (with ``.result`` holding the rejects) when more than MAXERROR records are
    bad; the caller then rolls back and records the rejects with :func:`record_load_errors`.
    """
    started = time.perf_counter()
    cmd = parse_copy(text, where)
    names, column_types = _target_columns(conn, cmd, where)
    converters = [converter(dtype, length, cmd) for dtype, length in column_types]
    paths, keys = json_mapping(cmd, storage, len(names))
    files = _source_files(storage, cmd, where)
    result = CopyResult(table=cmd.table, source=cmd.source, files=len(files))
    mode = cmd.json.lower()
    binary = pgbinary.supported([dtype for dtype, _ in column_types])
    fast = FastPath.build(cmd, mode, names, column_types, keys, binary)
    rejects = Rejects(cmd, result, names, types=[dtype for dtype, _ in column_types],
                      lengths=["" if length is None else str(length) for _, length in column_types])
    replace = invalid_char_handler(cmd.accept_inv_chars) if cmd.accept_inv_chars else None
    records = RecordLoader(converters, value_getter(mode, names, paths, keys), rejects, replace,
                           pgbinary.RowEncoder([dtype for dtype, _ in column_types]) if binary else ",".join)
    copy_rows(conn, cmd.table, names, row_chunks(files, storage, fast, records, result, cmd.table, progress),
              binary=binary, freeze=new_table)
    if cmd.stat_update or (cmd.stat_update is None and new_table):
        with conn.cursor() as cur:
            cur.execute(pgsql.SQL("ANALYZE {}").format(pgsql.Identifier(cmd.table)))
    result.query_id = next_query_id(conn)
    record_load_errors(conn, result)
    result.seconds = time.perf_counter() - started
    assert result.records_read == result.rows_loaded + result.rows_rejected
    return result


def _target_columns(conn, cmd: CopyCommand, where: str) -> tuple[list[str], list[tuple[str, int | None]]]:
    """The columns the COPY loads (its column list, else every column of the table, in order) and the
    type and length of each."""
    table_cols = _table_columns(conn, cmd.table)
    if not table_cols:
        raise CopyError(f"{where}: table {cmd.table!r} does not exist")
    by_name = {name: (dtype, length) for name, dtype, length in table_cols}
    names = list(cmd.columns) if cmd.columns else [name for name, _, _ in table_cols]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise CopyError(f"{where}: column(s) {', '.join(unknown)} not in table {cmd.table}")
    return names, [by_name[n] for n in names]


def _table_columns(conn, table: str) -> list[tuple[str, str, int | None]]:
    with conn.cursor() as cur:
        cur.execute(to_postgres(sqlfiles.load("status/table_columns").text), {"table_name": table})
        return cur.fetchall()


def _source_files(storage: Storage, cmd: CopyCommand, where: str) -> list[str]:
    files = storage.list(cmd.source)
    if not files:
        raise EmptySource(f"{where}: the source prefix {cmd.source} matches no files "
                        f"(Redshift: 'The specified S3 prefix does not exist')")
    return files
