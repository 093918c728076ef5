"""The local COPY emulator: runs a Redshift ``COPY ... FORMAT AS JSON`` statement on PostgreSQL.

It executes the statement text itself (parsed by sqlglot), with Redshift's semantics:

* source: a key prefix, as S3 matches it (every object whose key *starts with* the prefix, not a
  folder walk), from a local directory or from S3 through boto3 (optional endpoint URL; unsigned
  requests when no credentials are configured, for public buckets); files in key order;
* ``JSON 'auto'`` (column names matched to keys exactly), ``'auto ignorecase'`` and a JSONPaths
  file (paths mapped to columns by position; ``$['key']``, ``$["key"]``, ``$.key`` and nested forms);
* options ``TIMEFORMAT``, ``BLANKSASNULL``, ``EMPTYASNULL``, ``TRUNCATECOLUMNS``, ``ACCEPTINVCHARS``,
  ``MAXERROR``; ``REGION``, ``COMPUPDATE``, ``STATUPDATE`` and credentials are accepted and ignored;
* every rejected record goes to ``stl_load_errors`` (file, line, column, raw value, reason); more
  than MAXERROR rejects fail the COPY with a message naming the first bad file and line, and the
  caller's transaction is rolled back, leaving the target table unchanged;
* records read = rows loaded + rows rejected, per file and in total. A record is a non-blank line,
  or the lines of one pretty-printed object; blank lines separate records and are not records (as
  in Redshift's JSON reader, where whitespace between objects is ignored).

Values are checked in Python as Redshift would check them (VARCHAR lengths in bytes, integer
ranges, no fractional integers, NaN/Infinity rejected), then streamed to PostgreSQL with
``COPY ... FROM STDIN`` in chunks, so memory stays bounded whatever the input size and PostgreSQL
parses one chunk while Python prepares the next.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import orjson
from psycopg2 import sql as pgsql
from sqlglot import exp

from . import sqlfiles
from .dialect import parse_redshift, to_postgres

MAX_JSON_RECORD = 4 * 1024 * 1024  # Redshift's limit for one JSON object
CHUNK_BYTES = 1 << 20
RAW_LIMIT = 1024  # stl_load_errors.raw_line / raw_field_value hold 1024 characters
INT_RANGES = {"smallint": (-(2**15), 2**15 - 1), "integer": (-(2**31), 2**31 - 1),
              "bigint": (-(2**63), 2**63 - 1)}
_INT_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")
_FLOAT_TEXT = re.compile(r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$")
_BOM = b"\xef\xbb\xbf"
_EPOCH = dt.datetime(1970, 1, 1)
_UNPARSED = object()  # a record line that did not decode as JSON on its own


class CopyError(RuntimeError):
    """A COPY that failed: bad statement, missing source, or more rejects than MAXERROR."""

    def __init__(self, message: str, result: CopyResult | None = None) -> None:
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class CopyCommand:
    table: str
    columns: tuple[str, ...] | None
    source: str
    json: str  # "auto", "auto ignorecase" or the URI of a JSONPaths file
    timeformat: str | None = None
    blanks_as_null: bool = False
    empty_as_null: bool = False
    truncate_columns: bool = False
    accept_inv_chars: str | None = None  # replacement character when ACCEPTINVCHARS is given
    max_error: int = 0
    ignored: tuple[str, ...] = ()


@dataclass
class LoadError:
    filename: str
    line_number: int
    colname: str
    type: str
    col_length: str
    raw_line: str
    raw_field_value: str
    err_code: int
    err_reason: str


@dataclass
class CopyResult:
    table: str
    source: str
    query_id: int = 0
    files: int = 0
    records_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    seconds: float = 0.0
    errors: list[LoadError] = field(default_factory=list)
    per_file: list[tuple[str, int, int, int]] = field(default_factory=list)  # (file, read, loaded, rejected)


# --------------------------------------------------------------------------------------------
# The statement
# --------------------------------------------------------------------------------------------
def _flatten_params(params: list[exp.Expression]) -> list[tuple[str, object]]:
    """sqlglot pairs Redshift COPY options loosely; flatten them to (kind, value) tokens."""
    tokens: list[tuple[str, object]] = []

    def add(node: exp.Expression | None) -> None:
        if node is None:
            return
        if isinstance(node, exp.Literal):
            tokens.append(("str", node.this) if node.is_string else ("num", node.this))
        elif isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            tokens.append(("num", "-" + node.this.this))
        else:
            tokens.append(("word", " ".join(node.sql(dialect="redshift").upper().split())))

    for param in params:
        add(param.this)
        for item in param.expressions:
            add(item)
        add(param.args.get("expression"))
    return tokens


def parse_copy(text: str, where: str = "COPY") -> CopyCommand:
    tree = parse_redshift(text, where)
    if not isinstance(tree, exp.Copy):
        raise CopyError(f"{where}: not a COPY statement")
    if not tree.args.get("kind"):
        raise CopyError(f"{where}: only COPY ... FROM is supported")
    target = tree.this
    columns = None
    if isinstance(target, exp.Schema):
        columns = tuple(col.name for col in target.expressions)
        target = target.this
    files = tree.args.get("files") or []
    if len(files) != 1 or not isinstance(files[0], exp.Literal):
        raise CopyError(f"{where}: COPY needs one quoted source URI after FROM")
    options: dict[str, object] = {"ignored": []}
    tokens = _flatten_params(tree.args.get("params") or [])
    i = 0

    def next_value(option: str, kinds: tuple[str, ...]) -> object:
        nonlocal i
        if i < len(tokens) and tokens[i][0] == "word" and tokens[i][1] == "AS":
            i += 1
        if i >= len(tokens) or tokens[i][0] not in kinds:
            raise CopyError(f"{where}: option {option} needs a value")
        value = tokens[i][1]
        i += 1
        return value

    while i < len(tokens):
        kind, value = tokens[i]
        i += 1
        word = str(value)
        if kind != "word":
            raise CopyError(f"{where}: unexpected {value!r} among the COPY options")
        if word in ("FORMAT AS JSON", "FORMAT JSON", "JSON", "FORMAT AS", "FORMAT"):
            if word in ("FORMAT AS", "FORMAT"):
                fmt = next_value(word, ("word",))
                if fmt != "JSON":
                    raise CopyError(f"{where}: the local emulator reads FORMAT AS JSON only, not {fmt}")
            options["json"] = str(next_value("JSON", ("str", "word")))
        elif word in ("TIMEFORMAT", "TIMEFORMAT AS"):
            options["timeformat"] = str(next_value("TIMEFORMAT", ("str",))).lower()
        elif word in ("MAXERROR", "MAXERROR AS"):
            options["max_error"] = int(next_value("MAXERROR", ("num",)))
        elif word == "BLANKSASNULL":
            options["blanks_as_null"] = True
        elif word == "EMPTYASNULL":
            options["empty_as_null"] = True
        elif word == "TRUNCATECOLUMNS":
            options["truncate_columns"] = True
        elif word in ("ACCEPTINVCHARS", "ACCEPTINVCHARS AS"):
            options["accept_inv_chars"] = "?"
            if i < len(tokens) and (tokens[i][0] == "str" or tokens[i] == ("word", "AS")):
                options["accept_inv_chars"] = str(next_value("ACCEPTINVCHARS", ("str",)))[:1] or "?"
        elif word in ("REGION", "REGION AS", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN",
                      "CREDENTIALS", "IAM_ROLE"):
            next_value(word, ("str", "word"))
            options["ignored"].append(word.split()[0])
        elif word in ("COMPUPDATE", "STATUPDATE"):
            if i < len(tokens) and tokens[i][0] == "word" and tokens[i][1] in ("ON", "OFF", "TRUE", "FALSE",
                                                                               "PRESET"):
                i += 1
            options["ignored"].append(word)
        else:
            raise CopyError(f"{where}: COPY option {word} is not supported by the local emulator")
    if "json" not in options:
        raise CopyError(f"{where}: the local emulator loads JSON: add FORMAT AS JSON 'auto' or a JSONPaths file")
    if options.get("timeformat") not in (None, "auto", "epochmillisecs", "epochsecs"):
        raise CopyError(f"{where}: TIMEFORMAT {options['timeformat']!r} is not supported by the local emulator "
                        f"(use 'auto', 'epochsecs' or 'epochmillisecs')")
    options["ignored"] = tuple(options["ignored"])
    return CopyCommand(table=target.name, columns=columns, source=files[0].this, **options)


# --------------------------------------------------------------------------------------------
# Sources: local paths and S3
# --------------------------------------------------------------------------------------------
class Storage:
    """Lists keys under a prefix and reads objects, from the local disk or from S3."""

    def __init__(self, endpoint_url: str = "", region: str = "us-west-2", key: str = "", secret: str = ""):
        self.endpoint_url = endpoint_url or None
        self.region = region
        self._key, self._secret = key, secret
        self._client = None

    @property
    def s3(self):
        if self._client is None:
            import boto3
            from botocore import UNSIGNED
            from botocore.config import Config as BotoConfig

            session = boto3.Session(aws_access_key_id=self._key or None, aws_secret_access_key=self._secret or None,
                                    region_name=self.region)
            config = BotoConfig(retries={"max_attempts": 5, "mode": "standard"})
            if session.get_credentials() is None:
                config = config.merge(BotoConfig(signature_version=UNSIGNED))
            self._client = session.client("s3", endpoint_url=self.endpoint_url, config=config)
        return self._client

    @staticmethod
    def split(uri: str) -> tuple[str, str]:
        bucket, _, key = uri[len("s3://"):].partition("/")
        return bucket, key

    def list(self, prefix: str) -> list[str]:
        if prefix.startswith("s3://"):
            bucket, key_prefix = self.split(prefix)
            keys = []
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
                keys.extend(f"s3://{bucket}/{obj['Key']}" for obj in page.get("Contents", []))
            return sorted(keys)
        return sorted(_local_prefix_files(_local_path(prefix)))

    def open(self, uri: str) -> Iterator[bytes]:
        """The object's bytes, in blocks."""
        if uri.startswith("s3://"):
            from botocore.exceptions import BotoCoreError, ClientError

            bucket, key = self.split(uri)
            try:
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
                yield from body.iter_chunks(CHUNK_BYTES)
            except (ClientError, BotoCoreError) as err:
                raise CopyError(f"cannot read {uri}: {err}") from None
            return
        with open(uri, "rb") as handle:
            while block := handle.read(CHUNK_BYTES):
                yield block

    def read(self, uri: str, what: str) -> bytes:
        try:
            if uri.startswith("s3://"):
                return b"".join(self.open(uri))
            with open(_local_path(uri), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise CopyError(f"{what} {uri} does not exist") from None
        except Exception as err:  # botocore ClientError (NoSuchKey ...)
            if type(err).__name__ in ("NoSuchKey", "ClientError"):
                raise CopyError(f"{what} {uri} cannot be read: {err}") from None
            raise


def _local_path(uri: str) -> str:
    return uri[len("file://"):] if uri.startswith("file://") else uri


def _local_prefix_files(prefix: str) -> Iterator[str]:
    """Every file whose path starts with ``prefix`` (S3 semantics: a prefix, not a folder)."""
    base = prefix if prefix.endswith("/") else (os.path.dirname(prefix) or ".")
    if not os.path.isdir(base):
        return

    def walk(directory: str) -> Iterator[str]:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=True):
                    if entry.path.startswith(prefix) or prefix.startswith(entry.path + os.sep):
                        yield from walk(entry.path)
                elif entry.path.startswith(prefix):
                    yield entry.path

    yield from walk(base.rstrip("/") or "/")


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


def _line_blocks(blocks: Iterable[bytes], size: int) -> Iterator[bytes]:
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


# --------------------------------------------------------------------------------------------
# JSONPaths
# --------------------------------------------------------------------------------------------
_PATH_PART = re.compile(r"""\[\s*'((?:[^'\\]|\\.)*)'\s*\]   # $['key']
                          |\[\s*"((?:[^"\\]|\\.)*)"\s*\]   # $["key"]
                          |\.([A-Za-z_$][\w$]*)              # $.key
                          |\[(\d+)\]                          # [0]""", re.VERBOSE)


def parse_jsonpath(path: str, where: str) -> tuple[object, ...]:
    if not isinstance(path, str) or not path.startswith("$"):
        raise CopyError(f"{where}: invalid JSONPath {path!r}: it must start with $")
    parts: list[object] = []
    pos = 1
    while pos < len(path):
        match = _PATH_PART.match(path, pos)
        if not match:
            raise CopyError(f"{where}: invalid JSONPath {path!r} at character {pos + 1}")
        single, double, dotted, index = match.groups()
        parts.append(int(index) if index is not None else (single if single is not None else
                                                          double if double is not None else dotted))
        pos = match.end()
    if not parts:
        raise CopyError(f"{where}: invalid JSONPath {path!r}: it names no element")
    return tuple(parts)


def load_jsonpaths(storage: Storage, uri: str, ncols: int) -> list[tuple[object, ...]]:
    raw = storage.read(uri, "JSONPaths file")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as err:
        raise CopyError(f"JSONPaths file {uri}: not valid JSON: {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("jsonpaths"), list):
        raise CopyError(f'JSONPaths file {uri}: expected an object {{"jsonpaths": [...]}}')
    paths = [parse_jsonpath(p, f"JSONPaths file {uri}") for p in doc["jsonpaths"]]
    if len(paths) != ncols:
        raise CopyError(f"JSONPaths file {uri}: the number of jsonpaths ({len(paths)}) and the number of "
                        f"columns in the table or column list ({ncols}) should match")
    return paths


# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------
class Reject(Exception):
    def __init__(self, code: int, reason: str, value: object = "") -> None:
        super().__init__(reason)
        self.code, self.reason, self.value = code, reason, value


def _raw(value: object) -> str:
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode() if value is not None else ""


def _converter(data_type: str, length: int | None, cmd: CopyCommand) -> Callable[[object], str]:
    """A function from a JSON value to its COPY text field, or raising Reject."""
    data_type = data_type.lower()
    null = ""  # CSV: an unquoted empty field is NULL; text is always quoted

    if data_type in ("character varying", "character", "text"):
        limit = length

        def text(value: object) -> str:
            if value is None:
                return null
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
                return null
            if cmd.blanks_as_null and s and not s.strip():
                return null
            if "\x00" in s:
                raise Reject(1220, "String contains a NUL character (\\u0000)", value)
            if limit is not None and len(s) > limit // 4 and len(encoded := s.encode()) > limit:
                if not cmd.truncate_columns:
                    raise Reject(1204, f"String length exceeds DDL length ({len(encoded)} bytes > {limit})", value)
                s = encoded[:limit].decode("utf-8", errors="ignore")
            return '"' + s.replace('"', '""') + '"'

        return text

    if data_type in INT_RANGES:
        low, high = INT_RANGES[data_type]

        def integer(value: object) -> str:
            if value is None:
                return null
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, str) and _INT_TEXT.match(value):
                    value = int(value)
                elif isinstance(value, str) and value.strip() == "" and (cmd.empty_as_null or cmd.blanks_as_null):
                    return null
                elif isinstance(value, float) and math.isfinite(value) and abs(value) >= 2**63:
                    # JSON parsers read integers beyond 64 bits as floats
                    raise Reject(1216, f"Overflow: {value:.0f} is out of range for type {data_type.upper()}", value)
                else:
                    raise Reject(1207, f"Invalid digit: {_raw(value)[:40]!r} is not a whole number "
                                       f"for type {data_type.upper()}", value)
            if not low <= value <= high:
                raise Reject(1216, f"Overflow: {value} is out of range for type {data_type.upper()}", value)
            return str(value)

        return integer

    if data_type in ("double precision", "real", "numeric"):

        def number(value: object) -> str:
            if value is None:
                return null
            if isinstance(value, bool):
                raise Reject(1207, f"Invalid digit: {value!r} is not a number", value)
            if isinstance(value, str):
                if not _FLOAT_TEXT.match(value):
                    if value.strip() == "" and (cmd.empty_as_null or cmd.blanks_as_null):
                        return null
                    raise Reject(1207, f"Invalid digit: {value[:40]!r} is not a number", value)
                value = float(value)
            if not isinstance(value, int | float):
                raise Reject(1207, "Invalid digit: a nested object or array is not a number", value)
            if isinstance(value, float) and not math.isfinite(value):
                raise Reject(1207, "Invalid digit: NaN and Infinity are not numbers", value)
            return repr(float(value)) if data_type != "numeric" else str(value)

        return number

    if data_type.startswith("timestamp") or data_type == "date":
        fmt = cmd.timeformat

        def timestamp(value: object) -> str:
            if value is None:
                return null
            if fmt in ("epochmillisecs", "epochsecs") and not isinstance(value, bool) and \
                    isinstance(value, int | float | str):
                try:
                    number = int(value) if isinstance(value, int) or _INT_TEXT.match(str(value)) else float(value)
                except ValueError:
                    raise Reject(1206, f"Invalid timestamp: {_raw(value)[:40]!r} is not an epoch number",
                                 value) from None
                if isinstance(number, float) and not math.isfinite(number):
                    raise Reject(1206, "Invalid timestamp: NaN or Infinity", value)
                micros = number * 1000 if fmt == "epochmillisecs" else number * 1_000_000
                try:
                    stamp = _EPOCH + dt.timedelta(microseconds=micros)
                except OverflowError:
                    raise Reject(1206, f"Invalid timestamp: {number} is out of range", value) from None
                return stamp.isoformat(sep=" ") if data_type != "date" else stamp.date().isoformat()
            if isinstance(value, str):
                try:
                    stamp = dt.datetime.fromisoformat(value.strip())
                except ValueError:
                    raise Reject(1206, f"Invalid timestamp format: {value[:40]!r}", value) from None
                return stamp.isoformat(sep=" ") if data_type != "date" else stamp.date().isoformat()
            raise Reject(1206, f"Invalid timestamp: {_raw(value)[:40]!r} (a number needs TIMEFORMAT "
                               f"'epochmillisecs' or 'epochsecs')", value)

        return timestamp

    if data_type == "boolean":

        def boolean(value: object) -> str:
            if value is None:
                return null
            if isinstance(value, bool):
                return "t" if value else "f"
            if isinstance(value, int) and value in (0, 1):
                return "t" if value else "f"
            if isinstance(value, str) and value.strip().lower() in ("t", "true", "f", "false", "1", "0", "y", "n",
                                                                    "yes", "no"):
                return "t" if value.strip().lower() in ("t", "true", "1", "y", "yes") else "f"
            raise Reject(1207, f"Invalid boolean: {_raw(value)[:40]!r}", value)

        return boolean

    raise CopyError(f"the local COPY emulator cannot load columns of type {data_type}")


def _inv_char_handler(replacement: str) -> str:
    name = f"sparkify_replace_{ord(replacement)}"
    try:
        codecs.lookup_error(name)
    except LookupError:
        codecs.register_error(name, lambda err: (replacement, err.end))
    return name


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------
class _StreamReader(io.RawIOBase):
    """A file-like view of a generator of bytes, for cursor.copy_expert (reads pull on demand)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")
        self._pos = 0
        self.error: BaseException | None = None  # what stopped the stream (psycopg2 only reports "read failed")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the current chunk (b"" at the end): no chunk is copied whole."""
        while self._pos >= len(self._view):
            try:
                self._view, self._pos = memoryview(next(self._chunks)), 0
            except StopIteration:
                return b""
            except BaseException as err:
                self.error = err
                raise
        end = len(self._view) if size < 0 else min(len(self._view), self._pos + size)
        data = self._view[self._pos:end].tobytes()
        self._pos = end
        return data


class _Producer:
    """Runs a chunk generator in a thread, a few chunks ahead of PostgreSQL.

    Parsing (pyarrow releases the GIL) overlaps with the server ingesting the previous chunks on the
    other core; the queue is bounded, so memory stays at a few chunks whatever the input size.
    """

    _DONE = object()

    def __init__(self, chunks: Iterator[bytes], depth: int = 4) -> None:
        import queue
        import threading

        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(chunks,), name="copy-producer", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        import queue

        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                if not self._put(chunk):
                    return
        except BaseException as err:  # handed to the consumer, raised there
            self._put(err)
            return
        self._put(self._DONE)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


def _table_columns(conn, table: str) -> list[tuple[str, str, int | None]]:
    with conn.cursor() as cur:
        cur.execute(to_postgres(sqlfiles.load("emulator/table_columns").text), {"table_name": table})
        return cur.fetchall()


def execute_copy(conn, text: str, storage: Storage, *, progress: bool = True, where: str = "COPY") -> CopyResult:
    """Run one COPY statement on ``conn`` inside the caller's transaction.

    Raises CopyError (with ``.result`` holding the rejects) when more than MAXERROR records are
    bad; the caller then rolls back and records the rejects with :func:`record_load_errors`.
    """
    started = time.perf_counter()
    cmd = parse_copy(text, where)
    table_cols = _table_columns(conn, cmd.table)
    if not table_cols:
        raise CopyError(f"{where}: table {cmd.table!r} does not exist")
    by_name = {name: (dtype, length) for name, dtype, length in table_cols}
    names = list(cmd.columns) if cmd.columns else [name for name, _, _ in table_cols]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise CopyError(f"{where}: column(s) {', '.join(unknown)} not in table {cmd.table}")
    converters = [_converter(*by_name[n], cmd) for n in names]
    types = [f"{by_name[n][0]}" for n in names]
    lengths = ["" if by_name[n][1] is None else str(by_name[n][1]) for n in names]

    mode = cmd.json.lower()
    paths: list[tuple[object, ...]] = []
    keys: list[str] | None = None  # JSONPaths that each name one top-level key
    if mode not in ("auto", "auto ignorecase"):
        paths = load_jsonpaths(storage, cmd.json, len(names))
        if all(len(p) == 1 and isinstance(p[0], str) for p in paths):
            keys = [p[0] for p in paths]

    files = storage.list(cmd.source)
    if not files:
        raise CopyError(f"{where}: the source prefix {cmd.source} matches no files "
                        f"(Redshift: 'The specified S3 prefix does not exist')")
    result = CopyResult(table=cmd.table, source=cmd.source, files=len(files))
    fast = FastPath.build(cmd, mode, names, [by_name[n] for n in names], keys)
    replace = _inv_char_handler(cmd.accept_inv_chars) if cmd.accept_inv_chars else None
    ignorecase = mode == "auto ignorecase"

    def values_of(obj: dict) -> list[object]:
        if mode == "auto":
            return [obj.get(n) for n in names]
        if ignorecase:
            lowered = {k.lower(): v for k, v in obj.items()}
            return [lowered.get(n.lower()) for n in names]
        if keys is not None:
            return [obj.get(k) for k in keys]
        out = []
        for path in paths:
            node: object = obj
            for part in path:
                if isinstance(part, int):
                    node = node[part] if isinstance(node, list) and part < len(node) else None
                else:
                    node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    break
            out.append(node)
        return out

    def reject(filename: str, line_no: int, raw: bytes | str, code: int, reason: str, col: int | None,
               value: object = "") -> None:
        raw_text = raw if isinstance(raw, str) else raw.decode("utf-8", errors="replace")
        result.errors.append(LoadError(
            filename=filename, line_number=line_no, colname=names[col] if col is not None else "",
            type=types[col] if col is not None else "", col_length=lengths[col] if col is not None else "",
            raw_line=raw_text[:RAW_LIMIT], raw_field_value=_raw(value)[:RAW_LIMIT], err_code=code,
            err_reason=reason[:256]))
        result.rows_rejected += 1
        if result.rows_rejected > cmd.max_error:
            first = result.errors[0]
            raise CopyError(
                f"COPY {cmd.table} failed: {result.rows_rejected} bad record(s), more than MAXERROR "
                f"{cmd.max_error}. First: {first.filename} line {first.line_number}"
                f"{', column ' + first.colname if first.colname else ''}: {first.err_reason}. "
                f"The table is unchanged; see stl_load_errors.", result)

    def convert_line(filename: str, line_no: int, line: bytes, parsed: object = None) -> str | None:
        """One record as a CSV line, or None after recording why it was rejected. ``parsed`` is the
        record already decoded by the caller (_UNPARSED when that failed)."""
        if len(line) > MAX_JSON_RECORD:
            reject(filename, line_no, line[:RAW_LIMIT], 1225,
                   f"JSON record of {len(line)} bytes exceeds the 4 MB limit", None)
            return None
        if line.startswith(_BOM):
            reject(filename, line_no, line, 1222, "Invalid JSON: byte-order mark (U+FEFF) before the object", None)
            return None
        try:
            if parsed is _UNPARSED or parsed is None:
                obj = orjson.loads(line)
            else:
                obj = parsed
        except orjson.JSONDecodeError as err:
            try:
                decoded = line.decode("utf-8")
            except UnicodeDecodeError as uerr:
                if replace is None:
                    reject(filename, line_no, line, 1220,
                           f"Invalid UTF8 character at byte {uerr.start + 1} (use ACCEPTINVCHARS to replace it)", None)
                    return None
                decoded = line.decode("utf-8", errors=replace)
                try:
                    obj = orjson.loads(decoded)
                except orjson.JSONDecodeError as err2:
                    reject(filename, line_no, line, 1222, f"Invalid JSON: {err2}", None)
                    return None
            else:
                reason = str(err)
                if "NaN" in decoded or "Infinity" in decoded:
                    reason += " (NaN and Infinity are not JSON)"
                reject(filename, line_no, decoded, 1222, f"Invalid JSON: {reason}", None)
                return None
        if not isinstance(obj, dict):
            kind = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
                    type(None): "null"}.get(type(obj), type(obj).__name__)
            reject(filename, line_no, line, 1222, f"Invalid JSON: expected an object, found {kind}", None)
            return None
        fields_out = []
        for index, (convert, value) in enumerate(zip(converters, values_of(obj), strict=True)):
            try:
                fields_out.append(convert(value))
            except Reject as bad:
                reject(filename, line_no, line, bad.code, bad.reason, index, bad.value)
                return None
        return ",".join(fields_out)

    def chunks() -> Iterator[bytes]:
        """CSV for PostgreSQL: each block of a file in bulk when it is clean, else record by record."""
        from tqdm.auto import tqdm

        bar = tqdm(files, desc=f"COPY {cmd.table}", unit="file", disable=not progress, file=sys.stderr,
                   mininterval=1.0, leave=True)
        buffer: list[str] = []
        size = 0
        for filename in bar:
            read = loaded = 0
            rejected_before = result.rows_rejected
            line_no = 0  # lines of the file before the current block
            for block in _line_blocks(storage.open(filename), BLOCK_BYTES):
                converted = fast.convert(block) if fast is not None and len(block) >= FAST_MIN_BYTES else None
                if converted is not None:
                    csv_bytes, rows = converted
                    read += rows
                    loaded += rows
                    if buffer:
                        buffer.append("")
                        yield "\n".join(buffer).encode()
                        buffer, size = [], 0
                    yield csv_bytes
                    line_no += block.count(b"\n")
                    continue
                lines = block.split(b"\n")  # something here needs a closer look: record by record
                index = 0
                while index < len(lines):
                    line = lines[index]
                    index += 1
                    line_no += 1
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    if not line.strip():
                        continue
                    read += 1
                    first_line = line_no
                    try:
                        parsed = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        parsed = _UNPARSED
                        spanned = _object_spanning_lines(line, lines, index)
                        if spanned is not None:  # a pretty-printed object: one record over several lines
                            line, used = spanned
                            index += used
                            line_no += used
                            parsed = orjson.loads(line)
                    row = convert_line(filename, first_line, line, parsed)
                    if row is None:
                        continue
                    loaded += 1
                    buffer.append(row)
                    size += len(row)
                    if size >= CHUNK_BYTES:
                        buffer.append("")
                        yield "\n".join(buffer).encode()
                        buffer, size = [], 0
                line_no -= 1  # the block ended with a newline: its last "line" was the empty remainder
            result.records_read += read
            result.rows_loaded += loaded
            result.per_file.append((filename, read, loaded, result.rows_rejected - rejected_before))
        if buffer:
            buffer.append("")
            yield "\n".join(buffer).encode()

    statement = pgsql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        pgsql.Identifier(cmd.table), pgsql.SQL(", ").join(pgsql.Identifier(n) for n in names))
    producer = _Producer(chunks())
    reader = _StreamReader(iter(producer))
    with conn.cursor() as cur:
        try:
            cur.copy_expert(statement, reader, size=CHUNK_BYTES)
        except Exception:
            if reader.error is not None:
                raise reader.error from None
            raise
        finally:
            producer.close()
    result.query_id = _next_query_id(conn)
    record_load_errors(conn, result)
    result.seconds = time.perf_counter() - started
    assert result.records_read == result.rows_loaded + result.rows_rejected
    return result


def _next_query_id(conn) -> int:
    with conn.cursor() as cur:
        cur.execute(to_postgres(sqlfiles.load("emulator/next_query_id").text))
        return int(cur.fetchone()[0])


def record_load_errors(conn, result: CopyResult) -> None:
    """Write a COPY's rejects to stl_load_errors (inside the current transaction)."""
    if not result.errors:
        return
    if not result.query_id:
        result.query_id = _next_query_id(conn)
    insert = to_postgres(sqlfiles.load("emulator/insert_load_error").text)
    with conn.cursor() as cur:
        cur.execute(to_postgres(sqlfiles.load("emulator/table_id").text), {"table_name": result.table})
        row = cur.fetchone()
        tbl = int(row[0]) if row else 0
        from psycopg2.extras import execute_batch

        execute_batch(cur, insert, [{
            "query": result.query_id, "tbl": tbl, "tablename": result.table, "filename": e.filename,
            "line_number": e.line_number, "colname": e.colname, "type": e.type, "col_length": e.col_length,
            "raw_line": e.raw_line.replace("\x00", ""), "raw_field_value": e.raw_field_value.replace("\x00", ""),
            "err_code": e.err_code, "err_reason": e.err_reason} for e in result.errors])


# --------------------------------------------------------------------------------------------
# The fast path: a whole clean file at once, with pyarrow
# --------------------------------------------------------------------------------------------
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

        if data.startswith(_BOM) or len(data) > MAX_JSON_RECORD and self._longest_line(data, np) > MAX_JSON_RECORD:
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
