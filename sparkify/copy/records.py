"""Records: a file's bytes split into records, and each record decoded as a JSON object.

A record is a non-blank line, or the lines of one pretty-printed object (which Redshift accepts); blank
lines separate records and are not records (as in Redshift's JSON reader, where whitespace between
objects is ignored), but they still count for the line numbers of stl_load_errors. Files are read in
blocks of whole lines, so that no record is ever split between two blocks. A record that is not a JSON
object (over 4 MB, a byte-order mark, invalid UTF-8 without ACCEPTINVCHARS, invalid JSON, a scalar)
raises :class:`BadRecord` with Redshift's error code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import orjson

from .result import RAW_LIMIT

MAX_JSON_RECORD = 4 * 1024 * 1024  # Redshift's limit for one JSON object
BOM = b"\xef\xbb\xbf"
UNPARSED = object()  # a record line that did not decode as JSON on its own


class BadRecord(Exception):
    """A record that is no JSON object: Redshift's error code, the reason, and the raw record to report."""

    def __init__(self, code: int, reason: str, raw: bytes | str) -> None:
        super().__init__(reason)
        self.code, self.reason, self.raw = code, reason, raw


def _object_spanning_lines(line: bytes, lines: list[bytes], start: int) -> tuple[bytes, int] | None:
    """If ``line`` opens a JSON object that the following lines complete (pretty-printed JSON, which
    Redshift accepts), the whole record and how many more lines it took; else None.

    Only lines that cannot start a record of their own are joined (a line opening with ``{`` at
    column 0 does), so a truncated record never swallows the next one, and the work stays linear."""
    if not line.lstrip().startswith(b"{"):
        return None
    parts = [line]
    size = len(line)
    for offset, following in enumerate(lines[start:], start=1):
        if following.startswith(b"{") or size > MAX_JSON_RECORD:
            return None
        parts.append(following)
        size += len(following) + 1
        if following.rstrip().endswith(b"}"):
            candidate = b"\n".join(parts)
            try:
                orjson.loads(candidate)
                return candidate, offset
            except orjson.JSONDecodeError:
                continue
    return None


def line_blocks(blocks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Re-block a byte stream into blocks of about ``size`` bytes that end with a newline (the last
    block may not), so that no record is ever split between two blocks. A record longer than
    ``size`` makes its block longer; memory stays at about one block plus one record."""
    pending: list[bytes] = []
    pending_size = 0
    for chunk in blocks:
        pending.append(chunk)
        pending_size += len(chunk)
        if pending_size < size:
            continue
        data = b"".join(pending)
        cut = data.rfind(b"\n")
        if cut < 0:
            pending, pending_size = [data], len(data)
            continue
        yield data[:cut + 1]
        rest = data[cut + 1:]
        pending, pending_size = ([rest], len(rest)) if rest else ([], 0)
    if pending_size:
        yield b"".join(pending)


def whole_record(line: bytes, lines: list[bytes], start: int) -> tuple[bytes, int, object]:
    """The record that opens with ``line`` (``lines[start:]`` follow it): its bytes, how many more lines
    it took, and its decoded JSON (UNPARSED when it is not valid JSON on its own)."""
    try:
        return line, 0, orjson.loads(line)
    except orjson.JSONDecodeError:
        spanned = _object_spanning_lines(line, lines, start)
        if spanned is None:
            return line, 0, UNPARSED
        record, used = spanned  # a pretty-printed object: one record over several lines
        return record, used, orjson.loads(record)


def decode_record(line: bytes, parsed: object, replace: str | None) -> dict:
    """The record as a JSON object, or BadRecord. ``parsed`` is the record already decoded by the caller
    (UNPARSED when that failed); ``replace`` the error handler for invalid UTF-8 (ACCEPTINVCHARS) or None."""
    if len(line) > MAX_JSON_RECORD:
        raise BadRecord(1225, f"JSON record of {len(line)} bytes exceeds the 4 MB limit", line[:RAW_LIMIT])
    if line.startswith(BOM):
        raise BadRecord(1222, "Invalid JSON: byte-order mark (U+FEFF) before the object", line)
    try:
        if parsed is UNPARSED or parsed is None:
            obj = orjson.loads(line)
        else:
            obj = parsed
    except orjson.JSONDecodeError as err:
        obj = _decode_invalid(line, err, replace)
    if not isinstance(obj, dict):
        kind = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
                type(None): "null"}.get(type(obj), type(obj).__name__)
        raise BadRecord(1222, f"Invalid JSON: expected an object, found {kind}", line)
    return obj


def _decode_invalid(line: bytes, err: orjson.JSONDecodeError, replace: str | None) -> object:
    """A record orjson refused: decoded again with invalid UTF-8 replaced when ACCEPTINVCHARS allows it,
    else BadRecord saying why it is not JSON."""
    try:
        decoded = line.decode("utf-8")
    except UnicodeDecodeError as uerr:
        if replace is None:
            raise BadRecord(1220, f"Invalid UTF8 character at byte {uerr.start + 1} "
                                  f"(use ACCEPTINVCHARS to replace it)", line) from None
        decoded = line.decode("utf-8", errors=replace)
        try:
            return orjson.loads(decoded)
        except orjson.JSONDecodeError as err2:
            raise BadRecord(1222, f"Invalid JSON: {err2}", line) from None
    reason = str(err)
    if "NaN" in decoded or "Infinity" in decoded:
        reason += " (NaN and Infinity are not JSON)"
    raise BadRecord(1222, f"Invalid JSON: {reason}", decoded)
