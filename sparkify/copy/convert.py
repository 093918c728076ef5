"""Values: a JSON value checked and converted as Redshift would for its column type, to a CSV field.

VARCHAR lengths are counted in bytes (TRUNCATECOLUMNS cuts at a character boundary), integers are
range-checked and never fractional, NaN/Infinity are rejected, timestamps follow TIMEFORMAT
(``'auto'``: ISO text; ``'epochmillisecs'``/``'epochsecs'``: numbers), ``EMPTYASNULL`` and
``BLANKSASNULL`` make empty or blank text NULL. A bad value raises :class:`Reject` with Redshift's
error code; an unsupported column type is a :class:`CopyError`.
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
import re
from collections.abc import Callable

import orjson

from .result import CopyError
from .statement import CopyCommand

INT_RANGES = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1),
              "bigint": (-(2**63), 2**63 - 1)}
_INT_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")
_FLOAT_TEXT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_EPOCH = dt.datetime(1970, 1, 1)
# The domain of each type, defined once: the record path's converters below and the bulk path's
# checks (loaders.FastPath) both enforce these, so the two paths accept the same values.
BLANK_CHARS = " \t\n\r\x0b\x0c"  # BLANKSASNULL: a field of only these is blank (Arrow's ascii_is_space)
EPOCH_MS_MIN = (dt.datetime.min - _EPOCH) // dt.timedelta(milliseconds=1)  # 0001-01-01
EPOCH_MS_MAX = (dt.datetime.max - _EPOCH) // dt.timedelta(milliseconds=1)  # 9999-12-31 23:59:59.999


class Reject(Exception):
    """A value Redshift would reject: its error code, the reason and the value itself."""

    def __init__(self, code: int, reason: str, value: object = "") -> None:
        super().__init__(reason)
        self.code, self.reason, self.value = code, reason, value


def raw_text(value: object) -> str:
    """A value as stl_load_errors.raw_field_value shows it."""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode() if value is not None else ""


NULL = ""  # CSV: an unquoted empty field is NULL; text is always quoted


def converter(data_type: str, length: int | None, cmd: CopyCommand) -> Callable[[object], str]:
    """A function from a JSON value to its COPY text field, or raising Reject."""
    data_type = data_type.lower()
    if data_type in ("character varying", "character", "text"):
        return _text_converter(length, cmd)
    if data_type in INT_RANGES:
        return _integer_converter(data_type, cmd)
    if data_type in ("double precision", "real", "numeric"):
        return _number_converter(data_type, cmd)
    if data_type.startswith("timestamp") or data_type == "date":
        return _timestamp_converter(data_type, cmd)
    if data_type == "boolean":
        return _boolean_converter()
    raise CopyError(f"the local COPY emulator cannot load columns of type {data_type}")


def _text_converter(limit: int | None, cmd: CopyCommand) -> Callable[[object], str]:
    def text(value: object) -> str:
        if value is None:
            return NULL
        if isinstance(value, str):
            s = value
        elif isinstance(value, bool):
            s = "true" if value else "false"
        elif isinstance(value, int | float):
            s = orjson.dumps(value).decode()
        else:
            kind = "object" if isinstance(value, dict) else "array"
            raise Reject(1224, f"Invalid JSON: a nested {kind} where text is expected", value)
        if cmd.empty_as_null and s == "":
            return NULL
        if cmd.blanks_as_null and s and not s.strip(BLANK_CHARS):
            return NULL
        if "\x00" in s:
            raise Reject(1220, "String contains a NUL character (\\u0000)", value)
        if limit is not None and len(s) > limit // 4 and len(encoded := s.encode()) > limit:
            if not cmd.truncate_columns:
                raise Reject(1204, f"String length exceeds DDL length ({len(encoded)} bytes > {limit})", value)
            s = encoded[:limit].decode("utf-8", errors="ignore")
        return '"' + s.replace('"', '""') + '"'

    return text


def _integer_converter(data_type: str, cmd: CopyCommand) -> Callable[[object], str]:
    low, high = INT_RANGES[data_type]

    def integer(value: object) -> str:
        if value is None:
            return NULL
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, str) and _INT_TEXT.match(value):
                value = int(value)
            elif isinstance(value, str) and value.strip() == "" and (cmd.empty_as_null or cmd.blanks_as_null):
                return NULL
            elif isinstance(value, float) and math.isfinite(value) and abs(value) >= 2**63:
                # JSON parsers read integers beyond 64 bits as floats
                raise Reject(1216, f"Overflow: {value:.0f} is out of range for type {data_type.upper()}", value)
            else:
                raise Reject(1207, f"Invalid digit: {raw_text(value)[:40]!r} is not a whole number "
                                   f"for type {data_type.upper()}", value)
        if not low <= value <= high:
            raise Reject(1216, f"Overflow: {value} is out of range for type {data_type.upper()}", value)
        return str(value)

    return integer


def _number_converter(data_type: str, cmd: CopyCommand) -> Callable[[object], str]:
    def number(value: object) -> str:
        if value is None:
            return NULL
        if isinstance(value, bool):
            raise Reject(1207, f"Invalid digit: {value!r} is not a number", value)
        if isinstance(value, str):
            if not _FLOAT_TEXT.match(value):
                if value.strip() == "" and (cmd.empty_as_null or cmd.blanks_as_null):
                    return NULL
                raise Reject(1207, f"Invalid digit: {value[:40]!r} is not a number", value)
            value = float(value)
        if not isinstance(value, int | float):
            raise Reject(1207, "Invalid digit: a nested object or array is not a number", value)
        if isinstance(value, float) and not math.isfinite(value):
            raise Reject(1207, "Invalid digit: NaN and Infinity are not numbers", value)
        return repr(float(value)) if data_type != "numeric" else str(value)

    return number


def _timestamp_converter(data_type: str, cmd: CopyCommand) -> Callable[[object], str]:
    fmt = cmd.timeformat

    def timestamp(value: object) -> str:
        if value is None:
            return NULL
        if fmt in ("epochmillisecs", "epochsecs") and not isinstance(value, bool) and \
                isinstance(value, int | float | str):
            try:
                number = int(value) if isinstance(value, int) or _INT_TEXT.match(str(value)) else float(value)
            except ValueError:
                raise Reject(1206, f"Invalid timestamp: {raw_text(value)[:40]!r} is not an epoch number",
                             value) from None
            if isinstance(number, float) and not math.isfinite(number):
                raise Reject(1206, "Invalid timestamp: NaN or Infinity", value)
            millis = number if fmt == "epochmillisecs" else number * 1000
            if not EPOCH_MS_MIN <= millis <= EPOCH_MS_MAX:
                raise Reject(1206, f"Invalid timestamp: {number} is out of range (years 1 to 9999)", value)
            try:
                stamp = _EPOCH + dt.timedelta(microseconds=millis * 1000)
            except OverflowError:
                raise Reject(1206, f"Invalid timestamp: {number} is out of range (years 1 to 9999)", value) from None
            return stamp.isoformat(sep=" ") if data_type != "date" else stamp.date().isoformat()
        if isinstance(value, str):
            try:
                stamp = dt.datetime.fromisoformat(value.strip())
            except ValueError:
                raise Reject(1206, f"Invalid timestamp format: {value[:40]!r}", value) from None
            return stamp.isoformat(sep=" ") if data_type != "date" else stamp.date().isoformat()
        raise Reject(1206, f"Invalid timestamp: {raw_text(value)[:40]!r} (a number needs TIMEFORMAT "
                           f"'epochmillisecs' or 'epochsecs')", value)

    return timestamp


def _boolean_converter() -> Callable[[object], str]:
    def boolean(value: object) -> str:
        if value is None:
            return NULL
        if isinstance(value, bool):
            return "t" if value else "f"
        if isinstance(value, int) and value in (0, 1):
            return "t" if value else "f"
        if isinstance(value, str) and value.strip().lower() in ("t", "true", "f", "false", "1", "0", "y", "n",
                                                                "yes", "no"):
            return "t" if value.strip().lower() in ("t", "true", "1", "y", "yes") else "f"
        raise Reject(1207, f"Invalid boolean: {raw_text(value)[:40]!r}", value)

    return boolean


def invalid_char_handler(replacement: str) -> str:
    """The name of a codecs error handler that puts ``replacement`` for each invalid UTF-8 byte sequence
    (ACCEPTINVCHARS)."""
    name = f"sparkify_replace_{ord(replacement)}"
    try:
        codecs.lookup_error(name)
    except LookupError:
        codecs.register_error(name, lambda err: (replacement, err.end))
    return name
