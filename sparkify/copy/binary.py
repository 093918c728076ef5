"""PostgreSQL's binary COPY format: rows as PostgreSQL stores them, so the server parses no text.

A binary COPY stream is a header, then per row a 16-bit field count and per field a 32-bit length
(-1 for NULL) and the value's bytes, big-endian, then a trailer. The bulk path encodes a whole block
of checked pyarrow columns at once (:func:`encode_columns`); the record path encodes the fields its
converters produced (:class:`RowEncoder`), so both send the same bytes for the same values.

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


def encode_columns(columns: list, types: list[str]):
    """A block of checked pyarrow columns (integers as int64, timestamps as int64 epoch milliseconds,
    floats as float64, text as strings) as the rows of a binary COPY: a pyarrow Buffer."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = len(columns[0]) if columns else 0
    cells = []
    for col, dtype in zip(columns, types, strict=True):
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        valid = np.ones(rows, dtype=bool) if arr.null_count == 0 else arr.is_valid().to_numpy(zero_copy_only=False)
        if dtype in _TEXT:
            data = arr.cast(pa.binary()).fill_null(b"")
            lengths = np.where(valid, pc.binary_length(data).to_numpy(zero_copy_only=False), -1).astype(">i4")
            cells.append(_fixed(lengths.view(np.uint8), 4, rows))
            cells.append(data)
            continue
        if dtype in _WIDTH:
            width, fmt, _ = _WIDTH[dtype]
            values = arr.fill_null(0).to_numpy(zero_copy_only=False).astype(fmt)
        elif dtype == "double precision":
            width, values = 8, arr.fill_null(0.0).to_numpy(zero_copy_only=False).astype(">f8")
        else:  # timestamp: epoch milliseconds -> microseconds since 2000-01-01
            width = 8
            values = ((arr.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64) - PG_EPOCH_MS) * 1000
                      ).astype(">i8")
        block = np.empty((rows, 4 + width), dtype=np.uint8)
        block[:, :4] = np.where(valid, width, -1).astype(">i4").view(np.uint8).reshape(rows, 4)
        block[:, 4:] = values.view(np.uint8).reshape(rows, width)
        if valid.all():
            cells.append(_fixed(block, 4 + width, rows))
        else:  # a NULL is its length (-1) alone
            keep = np.ones((rows, 4 + width), dtype=bool)
            keep[~valid, 4:] = False
            sizes = 4 + width * valid.astype(np.int32)
            offsets = np.concatenate(([0], np.cumsum(sizes))).astype(np.int32)
            cells.append(pa.BinaryArray.from_buffers(pa.binary(), rows, [None, pa.py_buffer(offsets),
                                                                      pa.py_buffer(block[keep].tobytes())]))
    joined = pc.binary_join_element_wise(pa.scalar(struct.pack(">h", len(types))), *cells, pa.scalar(b""))
    if isinstance(joined, pa.Scalar):  # no column at all
        return pa.py_buffer(b"")
    offsets = np.frombuffer(joined.buffers()[1], dtype=np.int32, count=rows + 1, offset=joined.offset * 4)
    return joined.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def _fixed(block, width: int, rows: int):
    """Bytes of ``rows`` cells of ``width`` bytes each as a pyarrow binary array (no copy of the bytes)."""
    import numpy as np
    import pyarrow as pa

    offsets = (np.arange(rows + 1, dtype=np.int32) * width)
    return pa.BinaryArray.from_buffers(pa.binary(), rows, [None, pa.py_buffer(offsets),
                                                          pa.py_buffer(np.ascontiguousarray(block))])
