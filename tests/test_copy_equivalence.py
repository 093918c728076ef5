"""The COPY emulator's two paths are one function: a property-based test.

Hypothesis generates files of records, hostile ones included (NaN and Infinity, timestamps beyond year
9999, integers beyond every range, invalid UTF-8, lone surrogates, NUL escapes, byte-order marks,
truncated and pretty-printed objects, two objects on a line, scalars, duplicate and unknown keys,
blank and CRLF lines, text at and over its byte length), and loads each file twice: record by record
only, and with the bulk (pyarrow) path tried on every block. Both must give the same rows, the same
rejects (file, line, column, value, code, reason), the same counts and the same error, in small
files and in files big enough (64 kB and more) for the bulk path as configured.

The seed is printed on failure; rerun with SPARKIFY_PROPERTY_SEED=<seed> to replay it.
"""

from __future__ import annotations

import json
import os
import random

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from sparkify.copy import CopyError, Storage, execute_copy, loaders
from sparkify.copy.convert import EPOCH_MS_MAX, EPOCH_MS_MIN, INT_RANGES

MIN_RECORDS = 2000  # generated records per run, at least
EXAMPLES = 300
DDL = """CREATE TABLE t_equiv (name VARCHAR(10), n INTEGER, s SMALLINT, b BIGINT, x DOUBLE PRECISION,
         ts TIMESTAMP)"""
KEYS = ["name", "n", "s", "b", "x", "ts"]


class Raw(bytes):
    """A JSON token written as is (NaN, a lone surrogate escape, invalid UTF-8 in a string...)."""


def _boundaries() -> list[int]:
    edges = [0, 1, -1, 2**53 + 1, EPOCH_MS_MIN, EPOCH_MS_MIN - 1, EPOCH_MS_MAX, EPOCH_MS_MAX + 1,
             253402300800000, 10**17, -(10**17), 2**64, -(2**64) - 1]
    for low, high in INT_RANGES.values():
        edges += [low, high, low - 1, high + 1]
    return edges


TEXTS = st.one_of(
    st.text(max_size=14),
    st.sampled_from(["", " ", "   ", "\t", "\x0b\x0c", "\u00a0", "\x1c", "ééééé", "éééééé", "a\"b", "\\.", "x\ny",
                     "NaN", "Infinity", "0123456789", "01234567890", "😀😀😀", "\\N", "{", "}"]),
)
RAW_TOKENS = st.sampled_from([Raw(b"NaN"), Raw(b"Infinity"), Raw(b"-Infinity"), Raw(b"1e400"), Raw(b"-0"),
                              Raw(b'"\\ud800"'), Raw(b'"\\u0000"'), Raw(b'"a\xf6b"'), Raw(b'"\xed\xa0\x80"'),
                              Raw(b'"tab\there"'), Raw(b"01"), Raw(b"1.5e3"), Raw(b'"\\u00e9\\ud83d\\ude00"'),
                              Raw(b"99999999999999999999"), Raw(b"1541105830796.5"), Raw(b'"\\/"')])
VALUES = st.one_of(
    st.none(), st.booleans(), TEXTS,
    st.integers(min_value=-(2**65), max_value=2**65), st.sampled_from(_boundaries()),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([0.5, -0.0, 1e-320, 3.0, 1e300]),
    st.integers(min_value=EPOCH_MS_MIN - 5, max_value=EPOCH_MS_MAX + 5).map(str),
    st.just({"nested": 1}), st.just([1, 2]), RAW_TOKENS,
)


# well-typed values, near the edges of each column's domain: blocks of these reach the bulk path
TYPED = {
    "name": st.one_of(TEXTS, st.none()),
    "n": st.one_of(st.sampled_from([v for v in _boundaries() if abs(v) < 2**40]), st.integers(-(2**31), 2**31 - 1)),
    "s": st.integers(-(2**15) - 2, 2**15 + 1),
    "b": st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([2**63 - 1, -(2**63)])),
    "x": st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**70), 2**70)),
    "ts": st.one_of(st.integers(EPOCH_MS_MIN - 2, EPOCH_MS_MIN + 2), st.integers(EPOCH_MS_MAX - 2, EPOCH_MS_MAX + 2),
                    st.integers(-(10**13), 10**13), st.none()),
}


def _token(value: object, ascii_only: bool) -> bytes:
    if isinstance(value, Raw):
        return bytes(value)
    return json.dumps(value, ensure_ascii=ascii_only).encode()


@st.composite
def records(draw, typed: bool = False) -> bytes:
    """One line (or a few, pretty-printed) of a JSON file, usually an object, sometimes hostile;
    ``typed``: a plain object of well-typed values."""
    if typed:
        pairs = [(key, draw(TYPED[key])) for key in draw(st.lists(st.sampled_from(KEYS), max_size=6, unique=True))]
    else:
        keys = draw(st.lists(st.sampled_from([*KEYS, "extra", "Name"]), max_size=8))
        pairs = [(key, draw(VALUES)) for key in keys]
    ascii_only = draw(st.booleans())
    body = b"{" + b", ".join(json.dumps(k).encode() + b": " + _token(v, ascii_only) for k, v in pairs) + b"}"
    if typed:
        return body
    shape = draw(st.sampled_from(["plain"] * 12 + ["crlf", "bom", "truncated", "two", "scalar", "array",
                                                    "blank", "spaces", "pretty", "indented", "unclosed"]))
    if shape == "crlf":
        return body + b"\r"
    if shape == "bom":
        return b"\xef\xbb\xbf" + body
    if shape == "truncated":
        return body[:draw(st.integers(1, max(1, len(body) - 1)))]
    if shape == "two":
        return body + b" " + body
    if shape == "scalar":
        return draw(st.sampled_from([b"null", b"42", b"true", b'"text"', b"NaN"]))
    if shape == "array":
        return b"[" + body + b"]"
    if shape == "blank":
        return b""
    if shape == "spaces":
        return b"   "
    if shape == "indented":
        return b"  " + body
    if shape == "unclosed":
        return b'{"name": "open",\n  "n": 1,\n  {"x": 2}\n'
    if shape == "pretty":
        try:
            plain = json.loads(body)
        except ValueError:
            return body
        return json.dumps(plain, indent=2).encode() if isinstance(plain, dict) else body
    return body


FILLER = [json.dumps({"name": f"f{i}", "n": i, "s": i % 100, "b": i * 1000, "x": i / 7, "ts": 1541105830796 + i})
          .encode() for i in range(1400)]


@st.composite
def files(draw) -> tuple[bytes, bool, int]:
    """A file's bytes, whether it is big (the generated lines amid 64 kB and more of good ones), and
    how many records were generated (the good ones not counted)."""
    typed = draw(st.booleans())
    lines = draw(st.lists(records(typed=typed), min_size=6, max_size=40))
    big = draw(st.booleans())
    generated = sum(1 for line in lines if line.strip())
    if big:
        cut = draw(st.integers(0, len(FILLER)))
        lines = FILLER[:cut] + lines + FILLER[cut:]
    data = b"\n".join(lines) + draw(st.sampled_from([b"", b"\n", b"\n\n"]))
    return data, big, generated


OPTIONS = st.tuples(st.sampled_from([0, 3, 10_000]), st.booleans(), st.booleans(), st.booleans(), st.booleans())


@pytest.fixture
def conn(scratch_table):
    return scratch_table("t_equiv", DDL)


def _load(conn, text: str, fast_min_bytes: int):
    """One COPY in a transaction that is rolled back: what it loaded, rejected and raised."""
    saved = loaders.FAST_MIN_BYTES
    loaders.FAST_MIN_BYTES = fast_min_bytes
    try:
        result, error = execute_copy(conn, text, Storage(), progress=False), None
        with conn.cursor() as cur:
            cur.execute("SELECT name, n, s, b, x, ts FROM t_equiv")
            rows = sorted(cur.fetchall(), key=repr)
    except CopyError as err:
        result, error, rows = err.result, str(err), None
    finally:
        loaders.FAST_MIN_BYTES = saved
        conn.rollback()
    counts = None if result is None else (result.records_read, result.rows_loaded, result.rows_rejected,
                                          result.per_file, [vars(e) for e in result.errors])
    return rows, counts, error


def test_bulk_and_record_paths_give_the_same_rows_rejects_and_errors(conn, tmp_path):
    run_seed = int(os.environ.get("SPARKIFY_PROPERTY_SEED") or random.randrange(2**32))
    generated = {"records": 0, "big": 0, "small": 0, "fast": 0}
    path = tmp_path / "src" / "part.json"
    path.parent.mkdir()
    original_convert = loaders.FastPath.convert

    def counting_convert(self, data):
        out = original_convert(self, data)
        generated["fast"] += out is not None
        return out

    @seed(run_seed)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              suppress_health_check=list(HealthCheck))
    @given(files(), OPTIONS)
    def same_result(file, options):
        data, big, count = file
        max_error, empty, blanks, truncate, accept = options
        path.write_bytes(data)
        generated["records"] += count
        generated["big" if big else "small"] += 1
        text = (f"COPY t_equiv FROM '{path.parent}/' FORMAT AS JSON 'auto' TIMEFORMAT 'epochmillisecs' "
                f"MAXERROR {max_error}" + " EMPTYASNULL" * empty + " BLANKSASNULL" * blanks
                + " TRUNCATECOLUMNS" * truncate + " ACCEPTINVCHARS" * accept)
        record_path = _load(conn, text, fast_min_bytes=10**12)
        bulk_path = _load(conn, text, fast_min_bytes=loaders.FAST_MIN_BYTES if big else 0)
        assert bulk_path == record_path

    loaders.FastPath.convert = counting_convert
    try:
        same_result()
    except BaseException as err:
        err.add_note(f"property seed {run_seed}: rerun with SPARKIFY_PROPERTY_SEED={run_seed}")
        raise
    finally:
        loaders.FastPath.convert = original_convert
    print(f"property seed {run_seed}: {generated}")
    assert generated["records"] >= MIN_RECORDS
    assert generated["big"] and generated["small"]
    assert generated["fast"], "the bulk path never accepted a block: the test compares nothing"
