"""Loaders: a file's blocks turned into rows for PostgreSQL's COPY (binary when every column type has an
exact binary form, see :mod:`.binary`, else CSV), in bulk when a block is clean, else record by record.

* :class:`FastPath` (bulk): pyarrow parses a block of whole records and every value is checked in bulk;
  it only ever *accepts* a block, so both paths load identical rows.
* :class:`RecordLoader` (record by record): each record decoded, its values mapped to the columns and
  converted; a bad record goes to :class:`~sparkify.copy.rejects.Rejects` and the others load.
* :func:`row_chunks`: the files of the COPY, in order, as chunks of rows of about CHUNK_BYTES, with a
  progress bar over files; it counts the records read, loaded and rejected per file and in total.
  Small files (a song catalog holds one record per file) are gathered into batches that the bulk
  path converts at once: a file costs no parse of its own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from . import binary as pgbinary
from .convert import EPOCH_MS_MAX, EPOCH_MS_MIN, INT_RANGES, Reject
from .records import BOM, MAX_JSON_RECORD, BadRecord, Oversized, decode_record, line_blocks, whole_record
from .rejects import Rejects
from .result import CopyResult
from .sources import Storage
from .statement import CopyCommand
from .stream import CHUNK_BYTES

FAST_MIN_BYTES = 64 * 1024  # below this, pyarrow's set-up costs more than it saves
BLOCK_BYTES = 8 * 1024 * 1024  # files are read and converted in blocks of this size (whole records)
PARSE_BYTES = 1 << 20  # pyarrow parses a block in pieces of this size, in parallel
BATCH_BYTES = 4 * 1024 * 1024  # small files are gathered into batches of about this size for the bulk path


class FastPath:
    """Parses a block of whole records with pyarrow's JSON reader and checks every value in bulk.

    Equivalent to the record path by construction: it only ever *accepts* a block, and only when the
    block lies wholly inside the domain where the two paths compute the same function. Anything
    else (:meth:`convert` returns None) goes record by record, which rejects exactly the bad
    records. The domain, checked, never assumed:

    * structure: one JSON object per non-blank line, nothing else. Each non-blank line starts with
      ``{`` and ends with ``}`` (so every line break lies between two top-level values), and pyarrow
      found exactly as many objects as there are such lines (so no line holds two);
    * bytes: valid UTF-8, no byte-order mark, no NaN or Infinity token (pyarrow accepts both, even
      under keys that no column reads, where the record path rejects the record), no ``\\u0000``,
      no line over the 4 MB record limit;
    * values, column by column, with the limits of :mod:`.convert` that the record path enforces:
      integers within INT_RANGES, finite floats, timestamps within EPOCH_MS_MIN..EPOCH_MS_MAX, text
      within its byte length, BLANK_CHARS for BLANKSASNULL. A JSON type pyarrow would have to coerce
      (a number in a text column, a float in an integer column, a nested value) fails its parse.

    tests/test_copy_equivalence.py checks the claim with generated hostile input.
    """

    def __init__(self, cmd: CopyCommand, keys: list[str], types: list[tuple[str, int | None]],
                 binary: bool = False) -> None:
        import pyarrow as pa
        import pyarrow.json as pajson

        self.binary = binary  # rows in PostgreSQL's binary COPY format, else CSV
        self._encoder: pgbinary.BlockEncoder | None = None
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
              keys: list[str] | None, binary: bool = False) -> FastPath | None:
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
        return cls(cmd, keys, types, binary)

    def convert(self, data: bytes) -> tuple[object, int] | None:
        """The block's rows (a buffer: binary COPY rows or CSV) and its record count, or None when it
        needs a closer look."""
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv

        lines = self._object_lines(data, np)
        if lines is None or b"NaN" in data or b"Infinity" in data or b"\\u0000" in data:
            return None
        if not data.isascii() and not _valid_utf8(data, pa, np):
            return None  # pyarrow does not check the bytes of keys no column reads
        try:
            # blocks of PARSE_BYTES (each holding its longest line) parsed on pyarrow's threads: they
            # take whatever CPU the server leaves, and blocks that fit the cache parse faster
            options = self.pajson.ReadOptions(use_threads=True, block_size=max(PARSE_BYTES, self._longest + 2))
            table = self.pajson.read_json(pa.BufferReader(data), parse_options=self.parse, read_options=options)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
            return None
        if table.num_rows != lines:
            return None  # a line holding more than one object
        columns = []
        for key, (dtype, length) in zip(self.keys, self.types, strict=True):
            col = table.column(key)
            present = col.null_count < len(col)
            if dtype in INT_RANGES:
                low, high = INT_RANGES[dtype]
                if present and not low <= (bounds := pc.min_max(col))["min"].as_py() <= bounds["max"].as_py() <= high:
                    return None
            elif dtype.startswith("timestamp"):
                if present and not (EPOCH_MS_MIN <= (bounds := pc.min_max(col))["min"].as_py()
                                    <= bounds["max"].as_py() <= EPOCH_MS_MAX):
                    return None
                if not self.binary:
                    col = col.cast(pa.timestamp("ms"))
            elif dtype in ("double precision", "real"):
                if present and not pc.all(pc.is_finite(col)).as_py():
                    return None
            else:
                sizes = pc.binary_length(col)
                if length is not None and present and pc.max(sizes).as_py() > length:
                    return None  # over-long: rejected or truncated record by record
                to_null = None
                if self.cmd.empty_as_null:
                    to_null = pc.equal(sizes, 0)
                if self.cmd.blanks_as_null:
                    # ASCII space in Arrow is exactly BLANK_CHARS, and an empty string is not space
                    blank = pc.ascii_is_space(col)
                    to_null = blank if to_null is None else pc.or_(to_null, blank)
                if to_null is not None and pc.any(to_null).as_py():
                    col = pc.if_else(to_null, pa.scalar(None, pa.string()), col)
            columns.append(col)
        if self.binary:
            if self._encoder is None:
                self._encoder = pgbinary.BlockEncoder([dtype for dtype, _ in self.types])
            return self._encoder(columns), table.num_rows
        out = pa.BufferOutputStream()
        pacsv.write_csv(pa.table(columns, names=[f"c{i}" for i in range(len(columns))]), out,
                        pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        return out.getvalue(), table.num_rows  # a pyarrow Buffer: handed on without a copy

    _longest = 0  # the longest line of the block _object_lines last looked at

    def _object_lines(self, data: bytes, np) -> int | None:
        """The number of non-blank lines when each starts with ``{`` and ends with ``}`` (before an
        optional CR), none is longer than MAX_JSON_RECORD and no byte-order mark opens the block;
        else None."""
        if data.startswith(BOM):
            return None
        raw = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(raw == 10)
        starts = np.concatenate(([0], ends + 1))
        stops = np.concatenate((ends, [len(data)]))
        keep = starts < stops  # empty lines are no records
        starts, stops = starts[keep], stops[keep]
        if len(starts) == 0:
            return 0
        stops = stops - (raw[stops - 1] == 13)  # a CRLF line ending
        keep = starts < stops
        if not keep.all():
            return None  # a line of a lone CR: the record path decides
        self._longest = int((stops - starts).max())
        if self._longest > MAX_JSON_RECORD:
            return None
        if not ((raw[starts] == ord("{")).all() and (raw[stops - 1] == ord("}")).all()):
            return None
        return len(starts)


@dataclass
class _FileCounts:
    read: int = 0
    loaded: int = 0
    line_no: int = 0  # lines of the file before the current block


class RecordLoader:
    """Record by record: each record decoded, mapped to the columns and converted to a CSV line, or
    rejected (the others still load)."""

    def __init__(self, converters: list[Callable[[object], str]], values_of: Callable[[dict], list[object]],
                 rejects: Rejects, replace: str | None,
                 encode_row: Callable[[list[str]], str | bytes] = ",".join) -> None:
        self.converters, self.values_of, self.rejects, self.replace = converters, values_of, rejects, replace
        self.encode_row = encode_row  # a CSV line (str), or a binary COPY row (bytes)

    def block_rows(self, filename: str, block: bytes, counts: _FileCounts) -> Iterator[str | bytes]:
        """The rows (CSV lines or binary rows) of the records of ``block`` that load, counting lines and
        records in ``counts``."""
        lines = block.split(b"\n")
        index = 0
        searched_until = 0  # lines a failed search for a pretty-printed object already looked at
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
            line, used, parsed, looked = whole_record(line, lines, index, may_span=index > searched_until)
            searched_until = max(searched_until, index + looked)
            index += used
            counts.line_no += used
            row = self.convert(filename, first_line, line, parsed)
            if row is None:
                continue
            counts.loaded += 1
            yield row
        counts.line_no -= 1  # the block ended with a newline: its last "line" was the empty remainder

    def reject_oversized(self, filename: str, item: Oversized, counts: _FileCounts) -> None:
        """A line too long to be a record, read past without being held in memory."""
        counts.line_no += 1
        counts.read += 1
        self.rejects.add(filename, counts.line_no, item.head, 1225,
                         f"JSON record of {item.size} bytes exceeds the 4 MB limit", None)

    def convert(self, filename: str, line_no: int, line: bytes, parsed: object = None) -> str | bytes | None:
        """One record as a row (CSV line or binary row), or None after recording why it was rejected. ``parsed`` is the
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
        return self.encode_row(fields_out)


class _RowBuffer:
    """Rows (CSV lines, or binary COPY rows) gathered into chunks of about CHUNK_BYTES."""

    def __init__(self) -> None:
        self.rows: list[str | bytes] = []
        self.size = 0

    def add(self, row: str | bytes) -> bytes | None:
        """The full chunk when ``row`` fills it, else None."""
        self.rows.append(row)
        self.size += len(row)
        return self.flush() if self.size >= CHUNK_BYTES else None

    def flush(self) -> bytes | None:
        """What is gathered, as one chunk (None when nothing is)."""
        if not self.rows:
            return None
        if isinstance(self.rows[0], bytes):
            chunk = b"".join(self.rows)
        else:
            self.rows.append("")
            chunk = "\n".join(self.rows).encode()
        self.rows, self.size = [], 0
        return chunk


def _small_file(storage: Storage, filename: str) -> tuple[bytes | None, Iterator[bytes]]:
    """The whole content of a file smaller than FAST_MIN_BYTES (else None), and its blocks to read it
    as usual (those already read first)."""
    import itertools

    head: list[bytes] = []
    size = 0
    stream = iter(storage.open(filename))
    for chunk in stream:
        head.append(chunk)
        size += len(chunk)
        if size >= FAST_MIN_BYTES:
            return None, itertools.chain(head, stream)
    return b"".join(head), iter(head)


def row_chunks(files: list[str], storage: Storage, fast: FastPath | None, records: RecordLoader,
               result: CopyResult, table: str, progress: bool) -> Iterator[bytes]:
    """Rows for PostgreSQL: each block of a file in bulk when it is clean, else record by record.
    Clean small files are batched: a batch the bulk path accepts loads every record of its files; a
    batch it refuses is done again file by file (so the rejects, counts and lines are each file's)."""
    from tqdm.auto import tqdm

    bar = tqdm(files, desc=f"COPY {table}", unit="file", disable=not progress, file=sys.stderr,
               mininterval=1.0, leave=True)
    buffer = _RowBuffer()
    batch: list[tuple[str, bytes, int]] = []  # (file, content ending with a newline, its records)
    batch_bytes = 0

    def one_file(filename: str, blocks: Iterator[bytes]) -> Iterator[bytes]:
        counts = _FileCounts()
        rejected_before = result.rows_rejected
        for block in line_blocks(blocks, BLOCK_BYTES):
            if isinstance(block, Oversized):
                records.reject_oversized(filename, block, counts)
                continue
            converted = fast.convert(block) if fast is not None and len(block) >= FAST_MIN_BYTES else None
            if converted is not None:
                rows_bytes, rows = converted
                counts.read += rows
                counts.loaded += rows
                if (pending := buffer.flush()) is not None:
                    yield pending
                yield rows_bytes
                counts.line_no += block.count(b"\n")
                continue
            for row in records.block_rows(filename, block, counts):  # a closer look: record by record
                if (full := buffer.add(row)) is not None:
                    yield full
        result.records_read += counts.read
        result.rows_loaded += counts.loaded
        result.per_file.append((filename, counts.read, counts.loaded, result.rows_rejected - rejected_before))

    def flush_batch() -> Iterator[bytes]:
        nonlocal batch, batch_bytes
        gathered, batch, batch_bytes = batch, [], 0
        if not gathered:
            return
        data = b"".join(content for _, content, _ in gathered)
        converted = fast.convert(data) if len(data) >= FAST_MIN_BYTES else None
        if converted is None or converted[1] != sum(n for _, _, n in gathered):
            for filename, content, _ in gathered:
                yield from one_file(filename, iter([content]))
            return
        if (pending := buffer.flush()) is not None:
            yield pending
        yield converted[0]
        for filename, _, n in gathered:
            result.records_read += n
            result.rows_loaded += n
            result.per_file.append((filename, n, n, 0))

    for filename in bar:
        blocks: Iterator[bytes]
        if fast is None:
            blocks = storage.open(filename)
        else:
            content, blocks = _small_file(storage, filename)
            lines = None if content is None else fast._object_lines(content, _numpy())
            if lines:  # a small file of clean lines: into the batch
                batch.append((filename, content if content.endswith(b"\n") else content + b"\n", lines))
                batch_bytes += len(content) + 1
                if batch_bytes >= BATCH_BYTES:
                    yield from flush_batch()
                continue
        yield from flush_batch()  # files keep their order
        yield from one_file(filename, blocks)
    yield from flush_batch()
    if (pending := buffer.flush()) is not None:
        yield pending


def _valid_utf8(data: bytes, pa, np) -> bool:
    """Whether ``data`` is valid UTF-8, checked by Arrow's validation (SIMD) without decoding it."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _numpy():
    import numpy as np

    return np
