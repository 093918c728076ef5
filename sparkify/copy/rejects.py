"""Rejects: each bad record kept as a :class:`LoadError` while the COPY runs, more than MAXERROR of
them failing the COPY, and all of them written to ``stl_load_errors`` (modelled on Redshift's: file,
line, column, type, length, raw line, raw value, error code and reason).

The rejects are written inside the caller's transaction; when the COPY fails, the caller rolls the
load back and writes them again in a transaction of their own, so they outlive it, as in Redshift.
"""

from __future__ import annotations

from .. import sqlfiles
from ..dialect import to_postgres
from .convert import raw_text
from .result import RAW_LIMIT, CopyError, CopyResult, LoadError
from .statement import CopyCommand


class Rejects:
    """Keeps each rejected record of one COPY in ``result.errors``; raises CopyError past MAXERROR."""

    def __init__(self, cmd: CopyCommand, result: CopyResult, names: list[str], types: list[str],
                 lengths: list[str]) -> None:
        self.cmd, self.result = cmd, result
        self.names, self.types, self.lengths = names, types, lengths

    def add(self, filename: str, line_no: int, raw: bytes | str, code: int, reason: str, col: int | None,
            value: object = "") -> None:
        """Reject the record at ``line_no`` of ``filename``, for column index ``col`` (None: the record)."""
        cmd, result, names, types, lengths = self.cmd, self.result, self.names, self.types, self.lengths
        line_text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
        result.errors.append(LoadError(
            filename=filename, line_number=line_no, colname=names[col] if col is not None else "",
            type=types[col] if col is not None else "", col_length=lengths[col] if col is not None else "",
            raw_line=line_text[:RAW_LIMIT], raw_field_value=raw_text(value)[:RAW_LIMIT], err_code=code,
            err_reason=reason[:256]))
        result.rows_rejected += 1
        if result.rows_rejected > cmd.max_error:
            first = result.errors[0]
            raise CopyError(
                f"COPY {cmd.table} failed: {result.rows_rejected} bad record(s), more than MAXERROR "
                f"{cmd.max_error}. First: {first.filename} line {first.line_number}"
                f"{', column ' + first.colname if first.colname else ''}: {first.err_reason}. "
                f"The table is unchanged; see stl_load_errors.", result)


FILENAME_LIMIT = 1024  # stl_load_errors.filename holds 1024 characters


def _fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters keeping its end (a file's name says more than its folders);
    CopyResult keeps the whole name, for messages."""
    return text if len(text) <= limit else "..." + text[-(limit - 3):]


def next_query_id(conn) -> int:
    """A new id for this COPY's rows in stl_load_errors (the local stand-in for Redshift's query id)."""
    with conn.cursor() as cur:
        cur.execute(to_postgres(sqlfiles.load("emulator/next_query_id").text))
        return int(cur.fetchone()[0])


def record_load_errors(conn, result: CopyResult) -> None:
    """Write a COPY's rejects to stl_load_errors (inside the current transaction)."""
    if not result.errors:
        return
    if not result.query_id:
        result.query_id = next_query_id(conn)
    insert = to_postgres(sqlfiles.load("emulator/insert_load_error").text)
    with conn.cursor() as cur:
        cur.execute(to_postgres(sqlfiles.load("emulator/table_id").text), {"table_name": result.table})
        row = cur.fetchone()
        tbl = int(row[0]) if row else 0
        from psycopg2.extras import execute_batch

        execute_batch(cur, insert, [{
            "query": result.query_id, "tbl": tbl, "tablename": result.table[:128],
            "filename": _fit(e.filename, FILENAME_LIMIT),
            "line_number": e.line_number, "colname": e.colname, "type": e.type, "col_length": e.col_length,
            "raw_line": e.raw_line.replace("\x00", ""), "raw_field_value": e.raw_field_value.replace("\x00", ""),
            "err_code": e.err_code, "err_reason": e.err_reason} for e in result.errors])
