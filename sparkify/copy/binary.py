"""PostgreSQL's binary COPY format: rows as PostgreSQL stores them, so the server parses no text.

A binary COPY stream is a header, then per row a 16-bit field count and per field a 32-bit length
(-1 for NULL) and the value's bytes, big-endian, then a trailer. The bulk path encodes a whole block
of checked pyarrow columns at once with pgpq (:class:`BlockEncoder`); the record path encodes the
fields its converters produced (:class:`RowEncoder`), so both send the same bytes for the same values.

Only the types whose binary form is exact are sent in binary: integers, DOUBLE PRECISION,
VARCHAR/TEXT and TIMESTAMP (without time zone). A COPY into a table with any other column type
(REAL, NUMERIC, BOOLEAN, DATE, CHAR, TIMESTAMPTZ) streams CSV, as before (:func:`supported`).
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
NULL_FIELD = struct.pack(">i", -1)
_PG_EPOCH = dt.datetime(2000, 1, 1)
PG_EPOCH_MS = 946_684_800_000  # 2000-01-01 in Unix epoch milliseconds: PostgreSQL's timestamp origin
_WIDTH = {"smallint": (2, ">i2", ">ih"), "integer": (4, ">i4", ">ii"), "bigint": (8, ">i8", ">iq")}
_TEXT = ("character varying", "text")


def supported(types: list[str]) -> bool:
    """Whether every column type has an exact binary form here."""
    return all(t in _WIDTH or t in _TEXT or t == "double precision" or t == "timestamp without time zone"
               for t in types)


class RowEncoder:
    """One record's fields, as the record path's converters wrote them (CSV fields: an unquoted empty
    field is NULL, text is quoted), encoded as one binary row."""

    def __init__(self, types: list[str]) -> None:
        self.count = struct.pack(">h", len(types))
        self.fields = [_field_encoder(t) for t in types]

    def __call__(self, fields: list[str]) -> bytes:
        return self.count + b"".join(NULL_FIELD if text == "" else encode(text)
                                     for encode, text in zip(self.fields, fields, strict=True))


def _field_encoder(dtype: str) -> Callable[[str], bytes]:
    if dtype in _WIDTH:
        fmt = _WIDTH[dtype][2]
        size = _WIDTH[dtype][0]
        return lambda text: struct.pack(fmt, size, int(text))
    if dtype == "double precision":
        return lambda text: struct.pack(">id", 8, float(text))
    if dtype.startswith("timestamp"):
        def timestamp(text: str) -> bytes:
            # a zone in the input is ignored by TIMESTAMP (without time zone), as PostgreSQL's text input does
            delta = dt.datetime.fromisoformat(text).replace(tzinfo=None) - _PG_EPOCH
            return struct.pack(">iq", 8, (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
        return timestamp

    def text(quoted: str) -> bytes:
        data = quoted[1:-1].replace('""', '"').encode()
        return struct.pack(">i", len(data)) + data

    return text


class BlockEncoder:
    """Blocks of checked pyarrow columns (integers as int64, timestamps as int64 epoch milliseconds,
    floats as float64, text as strings) encoded as binary COPY rows by pgpq (Arrow -> PostgreSQL's
    binary format, in Rust): one encoder per COPY, its column types fixed."""

    def __init__(self, types: list[str]) -> None:
        import pgpq
        import pyarrow as pa

        self._targets = []
        for dtype in types:
            if dtype in _WIDTH:
                self._targets.append({"smallint": pa.int16(), "integer": pa.int32(), "bigint": pa.int64()}[dtype])
            elif dtype == "double precision":
                self._targets.append(pa.float64())
            elif dtype in _TEXT:
                self._targets.append(pa.string())
            else:  # TIMESTAMP (without time zone): PostgreSQL counts microseconds
                self._targets.append(pa.timestamp("us"))
        self._schema = pa.schema([pa.field(f"c{i}", t) for i, t in enumerate(self._targets)])
        self._pgpq = pgpq

    def __call__(self, columns: list) -> bytes:
        import pyarrow as pa

        cast = []
        for col, target in zip(columns, self._targets, strict=True):
            if pa.types.is_timestamp(target) and not pa.types.is_timestamp(col.type):
                col = col.cast(pa.timestamp("ms"))  # epoch milliseconds, range checked by the caller
            cast.append(col.cast(target))
        table = pa.Table.from_arrays(cast, schema=self._schema)
        # An encoder per block: pgpq buffers rows until finish(), which returns them with the
        # stream's trailer; copy_rows frames the whole stream with its own header and trailer.
        encoder = self._pgpq.ArrowToPostgresBinaryEncoder(self._schema)
        encoder.write_header()
        parts = [encoder.write_batch(batch) for batch in table.to_batches()]
        finished = encoder.finish()
        if finished[-len(TRAILER):] != TRAILER:
            raise AssertionError("pgpq's stream did not end with the binary COPY trailer")
        parts.append(finished[:-len(TRAILER)])
        return b"".join(parts)
