"""Records: a file's bytes split into records, and each record decoded as a JSON object.

A record is a non-blank line, or the lines of one pretty-printed object (which Redshift accepts); blank
lines separate records and are not records (as in Redshift's JSON reader, where whitespace between
objects is ignored), but they still count for the line numbers of stl_load_errors. Files are read in
blocks of whole lines, so that no record is ever split between two blocks. A record that is not a JSON
object (over 4 MB, a byte-order mark, invalid UTF-8 without ACCEPTINVCHARS, invalid JSON, a scalar)
raises :class:`BadRecord` with Redshift's error code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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


_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')  # JSON strings, whose braces do not count


def _brace_balance(line: bytes) -> int:
    """Opening minus closing braces of ``line``, outside its JSON strings."""
    if b'"' in line:
        line = _STRINGS.sub(b"", line)
    return line.count(b"{") - line.count(b"}")


def _object_spanning_lines(line: bytes, lines: list[bytes], start: int) -> tuple[bytes | None, int]:
    """If ``line`` opens a JSON object that the following lines complete (pretty-printed JSON, which
    Redshift accepts): the whole record and how many more lines it took. Else None and how many
    following lines were looked at.

    Braces are counted line by line (outside strings), so there is one candidate end, where they
    balance, and one parse: the work is linear in the lines looked at. Only lines that cannot start
    a record of their own are joined (a line opening with ``{`` at column 0 does), so a truncated
    record never swallows the next one."""
    if not line.lstrip().startswith(b"{"):
        return None, 0
    depth = _brace_balance(line)
    size = len(line)
    for offset, following in enumerate(lines[start:], start=1):
        if following.startswith(b"{") or size > MAX_JSON_RECORD:
            return None, offset - 1
        size += len(following) + 1
        depth += _brace_balance(following)
        if depth <= 0:
            candidate = b"\n".join([line, *lines[start:start + offset]])
            try:
                orjson.loads(candidate)
            except orjson.JSONDecodeError:
                return None, offset
            return candidate, offset
    return None, len(lines) - start


@dataclass
class Oversized:
    """A line longer than MAX_JSON_RECORD, in place of its bytes: only its beginning is kept (for
    stl_load_errors), the rest is read past, so memory stays bounded whatever the line's length."""

    head: bytes
    size: int


def line_blocks(blocks: Iterable[bytes], size: int, max_line: int = MAX_JSON_RECORD) -> Iterator[bytes | Oversized]:
    """Re-block a byte stream into blocks of about ``size`` bytes that end with a newline (the last
    block may not), so that no record is ever split between two blocks. A line longer than
    ``max_line`` comes as one :class:`Oversized` item instead of bytes: memory stays at about one
    block plus one record, whatever the input."""
    pending = bytearray()
    skipping: Oversized | None = None  # the over-long line being read past
    for chunk in blocks:
        if skipping is not None:
            newline = chunk.find(b"\n")
            if newline < 0:
                skipping.size += len(chunk)
                continue
            skipping.size += newline
            yield skipping
            skipping = None
            chunk = chunk[newline + 1:]
        pending += chunk
        partial = pending.rfind(b"\n") + 1  # where the unfinished last line starts
        if len(pending) - partial > max_line:
            if partial:
                yield bytes(pending[:partial])
            skipping = Oversized(bytes(pending[partial:partial + RAW_LIMIT]), len(pending) - partial)
            pending = bytearray()
        elif len(pending) >= size and partial:
            yield bytes(pending[:partial])
            del pending[:partial]
    if skipping is not None:
        yield skipping
    if pending:
        yield bytes(pending)


def whole_record(line: bytes, lines: list[bytes], start: int, may_span: bool = True) -> tuple[bytes, int, object, int]:
    """The record that opens with ``line`` (``lines[start:]`` follow it): its bytes, how many more lines
    it took, its decoded JSON (UNPARSED when it is not valid JSON on its own), and how many following
    lines a failed search for a pretty-printed object looked at (``may_span`` False: no search).
    The caller does not search again from those lines, so the work stays linear in the file size."""
    if len(line) > MAX_JSON_RECORD:
        return line, 0, UNPARSED, 0
    try:
        return line, 0, orjson.loads(line), 0
    except orjson.JSONDecodeError:
        if not may_span:
            return line, 0, UNPARSED, 0
        record, looked = _object_spanning_lines(line, lines, start)
        if record is None:
            return line, 0, UNPARSED, looked
        return record, looked, orjson.loads(record), 0  # a pretty-printed object: one record over several lines


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
