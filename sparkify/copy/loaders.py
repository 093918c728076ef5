"""Loaders: a file's blocks turned into CSV for PostgreSQL, in bulk when a block is clean, else record
by record.

* :class:`FastPath` (bulk): pyarrow parses a block of whole records and every value is checked in bulk;
  it only ever *accepts* a block, so both paths load identical rows.
* :class:`RecordLoader` (record by record): each record decoded, its values mapped to the columns and
  converted; a bad record goes to :class:`~sparkify.copy.rejects.Rejects` and the others load.
* :func:`csv_chunks`: the files of the COPY, in order, as CSV chunks of about CHUNK_BYTES, with a
  progress bar over files; it counts the records read, loaded and rejected per file and in total.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .convert import INT_RANGES, Reject
from .records import BOM, MAX_JSON_RECORD, BadRecord, decode_record, line_blocks, whole_record
from .rejects import Rejects
from .result import CopyResult
from .sources import Storage
from .statement import CopyCommand
from .stream import CHUNK_BYTES

FAST_MIN_BYTES = 64 * 1024  # below this, pyarrow's set-up costs more than it saves
BLOCK_BYTES = 8 * 1024 * 1024  # files are read and converted in blocks of this size (whole records)


class FastPath:
    """Parses a block of whole records with pyarrow's JSON reader and checks every value in bulk.

    It only ever *accepts* a block: if anything in it is not plainly valid (a parse error, a type
    pyarrow would coerce differently, an over-long string, a NUL, an out-of-range integer, a
    byte-order mark, an over-long record), :meth:`convert` returns None and the caller processes
    the same block record by record, which rejects exactly the bad records. So both paths load
    identical rows; the fast one just gets there without a Python loop per value.
    """

    def __init__(self, cmd: CopyCommand, keys: list[str], types: list[tuple[str, int | None]]) -> None:
        import pyarrow as pa
        import pyarrow.json as pajson

        self.cmd = cmd
        self.keys = keys
        self.types = types
        fields = []
        for key, (dtype, _) in zip(keys, types, strict=True):
            if dtype in INT_RANGES or dtype.startswith("timestamp"):
                fields.append(pa.field(key, pa.int64()))
            elif dtype in ("double precision", "real"):
                fields.append(pa.field(key, pa.float64()))
            else:
                fields.append(pa.field(key, pa.string()))
        self.parse = pajson.ParseOptions(explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore")
        self.pajson = pajson

    @classmethod
    def build(cls, cmd: CopyCommand, mode: str, names: list[str], types: list[tuple[str, int | None]],
              keys: list[str] | None) -> FastPath | None:
        if mode == "auto ignorecase" or (mode != "auto" and keys is None):
            return None  # case folding and nested JSONPaths stay record by record
        keys = names if mode == "auto" else keys
        if len(set(keys)) != len(keys):
            return None
        for dtype, _ in types:
            if not (dtype in INT_RANGES or dtype in ("double precision", "real", "character varying", "text")
                    or (dtype.startswith("timestamp") and cmd.timeformat == "epochmillisecs"
                        and "with time zone" not in dtype)):
                return None
        return cls(cmd, keys, types)

    def convert(self, data: bytes) -> tuple[object, int] | None:
        """CSV of the block (a buffer) and its record count, or None when it needs a closer look."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        if data.startswith(BOM) or len(data) > MAX_JSON_RECORD and self._longest_line(data, np) > MAX_JSON_RECORD:
            return None
        if b"\\u0000" in data:  # JSON can only carry a NUL as this escape; PostgreSQL text cannot hold one
            return None
        try:
            # one block for the whole file; one thread, so the other core is PostgreSQL's
            options = self.pajson.ReadOptions(use_threads=False, block_size=max(1 << 20, len(data) + 1))
            table = self.pajson.read_json(pa.BufferReader(data), parse_options=self.parse, read_options=options)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
            return None
        columns = []
        for key, (dtype, length) in zip(self.keys, self.types, strict=True):
            col = table.column(key)
            if dtype in INT_RANGES:
                low, high = INT_RANGES[dtype]
                if col.null_count < len(col) and (pc.min(col).as_py() < low or pc.max(col).as_py() > high):
                    return None
            elif dtype.startswith("timestamp"):
                col = col.cast(pa.timestamp("ms"))
            elif dtype in ("character varying", "text"):
                if length is not None and col.null_count < len(col) and pc.max(pc.binary_length(col)).as_py() > length:
                    return None  # over-long: rejected or truncated record by record
                to_null = None
                if self.cmd.empty_as_null:
                    to_null = pc.equal(col, "")
                if self.cmd.blanks_as_null:  # utf8_is_space: non-empty and all white space
                    blank = pc.utf8_is_space(col)
                    to_null = blank if to_null is None else pc.or_(to_null, blank)
                if to_null is not None:
                    col = pc.if_else(to_null, pa.scalar(None, pa.string()), col)
            columns.append(col)
        out = pa.BufferOutputStream()
        pacsv.write_csv(pa.table(columns, names=[f"c{i}" for i in range(len(columns))]), out,
                        pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        return out.getvalue(), table.num_rows  # a pyarrow Buffer: handed on without a copy

    @staticmethod
    def _longest_line(data: bytes, np) -> int:
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
        bounds = np.concatenate(([-1], ends, [len(data)]))
        return int(np.diff(bounds).max()) - 1


@dataclass
class _FileCounts:
    read: int = 0
    loaded: int = 0
    line_no: int = 0  # lines of the file before the current block


class RecordLoader:
    """Record by record: each record decoded, mapped to the columns and converted to a CSV line, or
    rejected (the others still load)."""

    def __init__(self, converters: list[Callable[[object], str]], values_of: Callable[[dict], list[object]],
                 rejects: Rejects, replace: str | None) -> None:
        self.converters, self.values_of, self.rejects, self.replace = converters, values_of, rejects, replace

    def block_rows(self, filename: str, block: bytes, counts: _FileCounts) -> Iterator[str]:
        """The CSV lines of the records of ``block`` that load, counting lines and records in ``counts``."""
        lines = block.split(b"\n")
        index = 0
        while index < len(lines):
            line = lines[index]
            index += 1
            counts.line_no += 1
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line.strip():
                continue
            counts.read += 1
            first_line = counts.line_no
            line, used, parsed = whole_record(line, lines, index)
            index += used
            counts.line_no += used
            row = self.convert(filename, first_line, line, parsed)
            if row is None:
                continue
            counts.loaded += 1
            yield row
        counts.line_no -= 1  # the block ended with a newline: its last "line" was the empty remainder

    def convert(self, filename: str, line_no: int, line: bytes, parsed: object = None) -> str | None:
        """One record as a CSV line, or None after recording why it was rejected. ``parsed`` is the
        record already decoded by the caller (UNPARSED when that failed)."""
        try:
            obj = decode_record(line, parsed, self.replace)
        except BadRecord as bad:
            self.rejects.add(filename, line_no, bad.raw, bad.code, bad.reason, None)
            return None
        fields_out = []
        for index, (convert, value) in enumerate(zip(self.converters, self.values_of(obj), strict=True)):
            try:
                fields_out.append(convert(value))
            except Reject as bad:
                self.rejects.add(filename, line_no, line, bad.code, bad.reason, index, bad.value)
                return None
        return ",".join(fields_out)


class _CsvBuffer:
    """CSV lines gathered into chunks of about CHUNK_BYTES."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.size = 0

    def add(self, row: str) -> bytes | None:
        """The full chunk when ``row`` fills it, else None."""
        self.lines.append(row)
        self.size += len(row)
        return self.flush() if self.size >= CHUNK_BYTES else None

    def flush(self) -> bytes | None:
        """What is gathered, as one chunk (None when nothing is)."""
        if not self.lines:
            return None
        self.lines.append("")
        chunk = "\n".join(self.lines).encode()
        self.lines, self.size = [], 0
        return chunk


def csv_chunks(files: list[str], storage: Storage, fast: FastPath | None, records: RecordLoader,
               result: CopyResult, table: str, progress: bool) -> Iterator[bytes]:
    """CSV for PostgreSQL: each block of a file in bulk when it is clean, else record by record."""
    from tqdm.auto import tqdm

    bar = tqdm(files, desc=f"COPY {table}", unit="file", disable=not progress, file=sys.stderr,
               mininterval=1.0, leave=True)
    buffer = _CsvBuffer()
    for filename in bar:
        counts = _FileCounts()
        rejected_before = result.rows_rejected
        for block in line_blocks(storage.open(filename), BLOCK_BYTES):
            converted = fast.convert(block) if fast is not None and len(block) >= FAST_MIN_BYTES else None
            if converted is not None:
                csv_bytes, rows = converted
                counts.read += rows
                counts.loaded += rows
                if (pending := buffer.flush()) is not None:
                    yield pending
                yield csv_bytes
                counts.line_no += block.count(b"\n")
                continue
            for row in records.block_rows(filename, block, counts):  # a closer look: record by record
                if (full := buffer.add(row)) is not None:
                    yield full
        result.records_read += counts.read
        result.rows_loaded += counts.loaded
        result.per_file.append((filename, counts.read, counts.loaded, result.rows_rejected - rejected_before))
    if (pending := buffer.flush()) is not None:
        yield pending
