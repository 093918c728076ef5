"""One COPY, start to end: the statement parsed, the target columns and their converters, the JSON
mapping, the source files listed, then the files streamed into the table and the rejects recorded."""

from __future__ import annotations

import time

from .. import sqlfiles
from ..dialect import to_postgres
from .columns import json_mapping, value_getter
from .convert import converter, invalid_char_handler
from .loaders import FastPath, RecordLoader, csv_chunks
from .rejects import Rejects, next_query_id, record_load_errors
from .result import CopyError, CopyResult, EmptySource
from .sources import Storage
from .statement import CopyCommand, parse_copy
from .stream import copy_csv


def execute_copy(conn, text: str, storage: Storage, *, progress: bool = True, where: str = "COPY") -> CopyResult:
    """Run one COPY statement on ``conn`` inside the caller's transaction.

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
    fast = FastPath.build(cmd, mode, names, column_types, keys)
    rejects = Rejects(cmd, result, names, types=[dtype for dtype, _ in column_types],
                      lengths=["" if length is None else str(length) for _, length in column_types])
    replace = invalid_char_handler(cmd.accept_inv_chars) if cmd.accept_inv_chars else None
    records = RecordLoader(converters, value_getter(mode, names, paths, keys), rejects, replace)
    copy_csv(conn, cmd.table, names, csv_chunks(files, storage, fast, records, result, cmd.table, progress))
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
