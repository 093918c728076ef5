"""The local COPY emulator against bad input: every malformed record ends as a rejected-record row
(file, line, column, raw value, reason) or a clear error naming the file; nothing is lost silently:
records read = rows loaded + rows rejected, and beyond MAXERROR the table is unchanged."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest

from sparkify.copy import CopyError, Storage, execute_copy
from sparkify.copy.statement import parse_copy

DDL = """CREATE TABLE t_copy (name VARCHAR(10), n INTEGER, s SMALLINT, b BIGINT, x DOUBLE PRECISION,
         ts TIMESTAMP)"""


@pytest.fixture
def conn(scratch_table):
    return scratch_table("t_copy", DDL)


def run_copy(conn, tmp_path, files: dict[str, bytes], options: str = "FORMAT AS JSON 'auto'", prefix: str = "src/",
             storage: Storage | None = None):
    for rel, data in files.items():
        path = tmp_path / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    text = f"COPY t_copy FROM '{tmp_path / prefix}' {options}"
    try:
        result = execute_copy(conn, text, storage or Storage(), progress=False)
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    with conn.cursor() as cur:
        cur.execute("SELECT name, n, s, b, x, ts FROM t_copy ORDER BY n NULLS LAST, name")
        rows = cur.fetchall()
        cur.execute("SELECT filename, line_number, colname, raw_field_value, err_reason FROM stl_load_errors "
                    "WHERE query = %s ORDER BY filename, line_number", (result.query_id,))
        errors = cur.fetchall() if result.rows_rejected else []
    # the invariant, every time
    assert result.records_read == result.rows_loaded + result.rows_rejected
    assert len(rows) == result.rows_loaded
    assert len(errors) == result.rows_rejected
    return result, rows, errors


GOOD = b'{"name": "ok", "n": 1}'


def one_bad(conn, tmp_path, bad: bytes, options: str = "FORMAT AS JSON 'auto' MAXERROR 5"):
    result, rows, errors = run_copy(conn, tmp_path, {"a.json": GOOD + b"\n" + bad}, options)
    assert result.records_read == 2 and result.rows_loaded == 1 and result.rows_rejected == 1
    filename, line, colname, raw_value, reason = errors[0]
    assert filename.endswith("a.json") and line == 2
    return colname, raw_value, reason, rows


@pytest.mark.parametrize(("bad", "column", "reason"), [
    (b'{"name": "cut", "n": 2', "", "Invalid JSON"),  # truncated line
    (b'{"name": "bj\xf6rk", "n": 2}', "", "Invalid UTF8"),  # Latin-1 byte, not UTF-8
    (b'\xef\xbb\xbf{"name": "bom", "n": 2}', "", "byte-order mark"),
    (b'{"name": "x", "n": "abc"}', "n", "Invalid digit"),
    (b'{"name": "x", "n": 3.5}', "n", "Invalid digit"),
    (b'{"name": "x", "n": 3.0}', "n", "Invalid digit"),  # a float is never an integer
    (b'{"name": "x", "n": 2147483648}', "n", "Overflow"),
    (b'{"name": "x", "s": 40000}', "s", "Overflow"),
    (b'{"name": "x", "b": 99999999999999999999}', "b", "Overflow"),  # beyond 64 bits
    (b'{"name": {"first": "a"}, "n": 2}', "name", "nested object"),
    (b'{"name": ["a", "b"], "n": 2}', "name", "nested array"),
    (b'[{"name": "in an array", "n": 2}]', "", "expected an object, found an array"),
    (b'{"name": "x", "x": NaN}', "", "NaN"),
    (b'{"name": "x", "x": Infinity}', "", "Invalid JSON"),
    (b'{"name": "much too long for ten", "n": 2}', "name", "String length exceeds DDL length"),
    (b'{"name": "x", "n": 2} trailing', "", "Invalid JSON"),
    (b'{"name": "x", "ts": 1541105830796}', "ts", "TIMEFORMAT"),  # epoch number without TIMEFORMAT
    (b'{"name": "nul\\u0000", "n": 2}', "name", "NUL"),
    (b'"just a string"', "", "expected an object"),
])
def test_malformed_record_is_rejected_with_file_line_and_reason(conn, tmp_path, bad, column, reason):
    colname, raw_value, why, rows = one_bad(conn, tmp_path, bad)
    assert reason in why
    assert colname.strip() == column
    if column:
        assert raw_value  # the offending value is kept for the reader
    assert rows[0][0] == "ok"


def test_invalid_utf8_with_acceptinvchars_is_loaded_with_a_replacement(conn, tmp_path):
    result, rows, _ = run_copy(conn, tmp_path, {"a.json": b'{"name": "bj\xf6rk", "n": 1}'},
                               "FORMAT AS JSON 'auto' ACCEPTINVCHARS AS '^'")
    assert rows[0][0] == "bj^rk" and result.rows_rejected == 0


def test_over_long_string_with_truncatecolumns_is_cut_at_a_character_boundary(conn, tmp_path):
    text = "ééééééééé"  # 9 characters, 18 bytes: VARCHAR(10) counts bytes, as Redshift does
    data = json.dumps({"name": text, "n": 1}, ensure_ascii=False).encode()
    result, rows, _ = run_copy(conn, tmp_path, {"a.json": data}, "FORMAT AS JSON 'auto' TRUNCATECOLUMNS")
    assert rows[0][0] == "ééééé" and len(rows[0][0].encode()) == 10


def test_crlf_line_endings_load_cleanly(conn, tmp_path):
    result, rows, _ = run_copy(conn, tmp_path, {"a.json": b'{"name": "a", "n": 1}\r\n{"name": "b", "n": 2}\r\n'})
    assert [r[0] for r in rows] == ["a", "b"] and result.records_read == 2


def test_missing_keys_are_null_and_extra_keys_ignored(conn, tmp_path):
    result, rows, _ = run_copy(conn, tmp_path, {"a.json": b'{"n": 1, "unknown": "x", "Name": "case"}'})
    assert rows == [(None, 1, None, None, None, None)] and result.rows_rejected == 0


def test_duplicate_keys_keep_the_last_value(conn, tmp_path):
    result, rows, _ = run_copy(conn, tmp_path, {"a.json": b'{"name": "first", "name": "last", "n": 1}'})
    assert rows[0][0] == "last"


def test_empty_file_and_blank_lines_are_no_records(conn, tmp_path):
    result, rows, _ = run_copy(conn, tmp_path, {"a.json": b"", "b.json": b"\n\n" + GOOD + b"\n\n"})
    assert result.files == 2 and result.records_read == 1 and rows[0][0] == "ok"
    assert [f[1] for f in result.per_file] == [0, 1]


def test_very_long_line_is_rejected(conn, tmp_path):
    big = b'{"name": "' + b"x" * (5 * 1024 * 1024) + b'", "n": 2}'
    colname, _, reason, _ = one_bad(conn, tmp_path, big)
    assert "exceeds the 4 MB limit" in reason


def test_prefix_matching_no_files_fails_naming_the_prefix(conn, tmp_path):
    (tmp_path / "src").mkdir()
    with pytest.raises(CopyError, match=r"src/nothing matches no files"):
        run_copy(conn, tmp_path, {}, prefix="src/nothing")


def test_missing_jsonpaths_file_fails_naming_it(conn, tmp_path):
    with pytest.raises(CopyError, match=r"JSONPaths file .*missing.json does not exist"):
        run_copy(conn, tmp_path, {"a.json": GOOD}, f"FORMAT AS JSON '{tmp_path}/missing.json'")


def test_jsonpaths_count_must_match_the_columns(conn, tmp_path):
    paths = tmp_path / "paths.json"
    paths.write_text(json.dumps({"jsonpaths": ["$['name']", "$['n']"]}))
    with pytest.raises(CopyError, match=r"number of jsonpaths \(2\) and the number of columns .* \(6\)"):
        run_copy(conn, tmp_path, {"a.json": GOOD}, f"FORMAT AS JSON '{paths}'")


def test_jsonpaths_map_by_position_in_all_forms(conn, tmp_path):
    paths = tmp_path / "paths.json"
    paths.write_text(json.dumps({"jsonpaths": ["$['userName']", "$.count", '$["nested"]["small"]', "$.list[1]",
                                               "$['x']", "$['ts']"]}))
    line = b'{"userName": "ann", "count": 7, "nested": {"small": 3}, "list": [1, 99], "x": 2.5, "ts": 1541105830796}'
    result, rows, _ = run_copy(conn, tmp_path, {"a.json": line},
                               f"FORMAT AS JSON '{paths}' TIMEFORMAT 'epochmillisecs'")
    assert rows == [("ann", 7, 3, 99, 2.5, dt.datetime(2018, 11, 1, 20, 57, 10, 796000))]


def test_auto_matches_lower_case_names_exactly_and_ignorecase_does_not_care(conn, tmp_path):
    line = b'{"NAME": "upper", "N": 5}'
    result, rows, _ = run_copy(conn, tmp_path, {"a.json": line})
    assert rows == [(None, None, None, None, None, None)]
    with conn.cursor() as cur:
        cur.execute("TRUNCATE t_copy")
    conn.commit()
    result, rows, _ = run_copy(conn, tmp_path, {"a.json": line}, "FORMAT AS JSON 'auto ignorecase'")
    assert rows == [("upper", 5, None, None, None, None)]


def test_blanks_and_empty_strings_as_null(conn, tmp_path):
    lines = b'{"name": "", "n": 1}\n{"name": "   ", "n": 2}'
    _, rows, _ = run_copy(conn, tmp_path, {"a.json": lines})
    assert [r[0] for r in rows] == ["", "   "]
    with conn.cursor() as cur:
        cur.execute("TRUNCATE t_copy")
    conn.commit()
    _, rows, _ = run_copy(conn, tmp_path, {"a.json": lines}, "FORMAT AS JSON 'auto' EMPTYASNULL BLANKSASNULL")
    assert [r[0] for r in rows] == [None, None]


def test_beyond_maxerror_the_copy_fails_and_the_table_is_unchanged(conn, tmp_path):
    with conn.cursor() as cur:
        cur.execute("INSERT INTO t_copy (name, n) VALUES ('before', 0)")
    conn.commit()
    files = {"a.json": GOOD, "b.json": b'{"n": "x1"}\n{"n": "x2"}\n' + GOOD}
    with pytest.raises(CopyError) as err:
        run_copy(conn, tmp_path, files, "FORMAT AS JSON 'auto' MAXERROR 1")
    message = str(err.value)
    assert "b.json line 1" in message and "more than MAXERROR 1" in message
    assert err.value.result.rows_rejected == 2
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM t_copy")
        assert cur.fetchall() == [("before",)]


def test_stage_records_the_rejects_of_a_failed_load(session, tmp_path, make_config):
    """Through the pipeline: the load rolls back, the rejected records stay in stl_load_errors."""
    from sparkify.pipeline import Session

    songs = tmp_path / "lake" / "song_data"
    songs.mkdir(parents=True)
    (songs / "a.json").write_text('{"song_id": "S1", "year": "nineteen"}')
    (tmp_path / "lake" / "log_data").mkdir()
    (tmp_path / "lake" / "log_json_path.json").write_text("{}")
    with Session(make_config(tmp_path / "lake")) as s:
        s.create_tables()
        with pytest.raises(CopyError, match=r"a.json line 1, column year: Invalid digit") as failed:
            s.stage("staging_songs", max_errors=0, progress=False)
        assert s.table_counts().set_index("table_name").loc["staging_songs", "row_count"] == 0
        errors = s.query("status/load_errors", {"query": failed.value.result.query_id})
        assert errors.iloc[0]["colname"] == "year" and errors.iloc[0]["raw_field_value"] == "nineteen"
        report = s.stage("staging_songs", max_errors=1, progress=False)
        assert (report.records_read, report.rows_loaded, report.rows_rejected) == (1, 0, 1)
        assert list(report.rejects["colname"]) == ["year"]


def test_prefix_semantics_and_order(conn, tmp_path):
    files = {"log_b.json": b'{"name": "b", "n": 2}', "log_a.json": b'{"name": "a", "n": 1}',
             "logs/deep/c.json": b'{"name": "c", "n": 3}', "other/log_x.json": b'{"name": "x", "n": 4}'}
    result, rows, _ = run_copy(conn, tmp_path, files, prefix="src/log")
    assert [r[0] for r in rows] == ["a", "b", "c"]
    assert [f[0].split("src/")[1] for f in result.per_file] == ["log_a.json", "log_b.json", "logs/deep/c.json"]


def test_unsupported_options_and_formats_fail_clearly():
    with pytest.raises(CopyError, match="COPY option GZIP is not supported"):
        parse_copy("COPY t FROM 's3://b/k' FORMAT AS JSON 'auto' GZIP")
    with pytest.raises(CopyError, match="loads JSON"):
        parse_copy("COPY t FROM 's3://b/k' IAM_ROLE 'x'")
    command = parse_copy("COPY t (a, b) FROM 's3://b/k' CREDENTIALS 'aws_iam_role=x' JSON 'auto ignorecase' "
                         "REGION AS 'us-west-2' MAXERROR AS 3 ACCEPTINVCHARS COMPUPDATE OFF STATUPDATE ON")
    assert command.columns == ("a", "b") and command.max_error == 3 and command.accept_inv_chars == "?"
    assert command.json == "auto ignorecase"


def test_reads_an_s3_prefix_through_boto3(conn, tmp_path, aws_env):
    s3 = boto3.client("s3", endpoint_url=aws_env, region_name="us-west-2")
    s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="lake", Key="log_data/2018/11/b.json", Body=b'{"name": "b", "n": 2}')
    s3.put_object(Bucket="lake", Key="log_data/2018/11/a.json", Body=GOOD + b"\n{bad")
    s3.put_object(Bucket="lake", Key="log_database.json", Body=b'{"name": "prefix!", "n": 3}')
    s3.put_object(Bucket="lake", Key="song_data/x.json", Body=b'{"name": "no", "n": 4}')
    storage = Storage(endpoint_url=aws_env, key="testing", secret="testing")
    result = execute_copy(conn, "COPY t_copy FROM 's3://lake/log_data' FORMAT AS JSON 'auto' MAXERROR 1", storage,
                          progress=False)
    conn.commit()
    assert result.files == 3 and result.records_read == 4 and result.rows_rejected == 1
    assert result.errors[0].filename == "s3://lake/log_data/2018/11/a.json" and result.errors[0].line_number == 2
    with conn.cursor() as cur:
        cur.execute("SELECT name FROM t_copy ORDER BY n")
        assert [r[0] for r in cur.fetchall()] == ["ok", "b", "prefix!"]


def _dump(session, table):
    with session.conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10")
        rows = cur.fetchall()
    session.conn.commit()
    return rows


def test_bulk_path_and_record_path_load_identical_rows(warehouse, make_config, udacity_lake, monkeypatch):
    """Files large enough for the pyarrow bulk path load exactly what the record-by-record path loads."""
    from sparkify.copy import loaders
    from sparkify.pipeline import Session

    lake, manifest = udacity_lake
    accepted = []
    original = loaders.FastPath.convert

    def counting(self, data):
        out = original(self, data)
        accepted.append(out is not None)
        return out

    monkeypatch.setattr(loaders.FastPath, "convert", counting)
    with Session(make_config(lake)) as s:
        s.create_tables()
        s.stage("staging_events", progress=False)
        bulk = _dump(s, "staging_events")
        assert accepted and all(accepted), "the generated log files should take the bulk path"
        monkeypatch.setattr(loaders, "FAST_MIN_BYTES", 10**12)
        accepted.clear()
        s.stage("staging_events", progress=False)
        assert accepted == []
        assert _dump(s, "staging_events") == bulk
        assert len(bulk) == manifest["events"]


def test_a_bad_record_in_a_large_file_is_rejected_alone(conn, tmp_path):
    good = [json.dumps({"name": f"r{i}", "n": i, "x": i / 7, "ts": None}).encode() for i in range(3000)]
    good[1234] = b'{"name": "r1234", "n": "not a number"}'
    data = b"\n".join(good)
    assert len(data) > 64 * 1024  # large enough for the bulk path, which hands it to the record path
    result, rows, errors = run_copy(conn, tmp_path, {"big.json": data}, "FORMAT AS JSON 'auto' MAXERROR 1")
    assert (result.records_read, result.rows_loaded, result.rows_rejected) == (3000, 2999, 1)
    assert errors[0][1] == 1235 and errors[0][2].strip() == "n"
    assert rows[0][4] == 0.0 and abs(rows[7][4] - 1.0) < 1e-12


def test_line_numbers_stay_right_across_blocks(conn, tmp_path, monkeypatch):
    """Large files are read in blocks of whole records; a reject deep in the file keeps its line."""
    from sparkify.copy import loaders

    monkeypatch.setattr(loaders, "BLOCK_BYTES", 70 * 1024)
    lines = [json.dumps({"name": f"r{i}", "n": i}).encode() for i in range(12000)]
    lines[9876] = b'{"name": "bad", "n": 1.5}'
    lines[100] = b""  # a blank line is no record but still a line
    result, rows, errors = run_copy(conn, tmp_path, {"big.json": b"\n".join(lines)}, "FORMAT AS JSON 'auto' MAXERROR 1")
    assert (result.records_read, result.rows_loaded, result.rows_rejected) == (11999, 11998, 1)
    assert errors[0][1] == 9877


def test_pretty_printed_objects_span_lines_as_in_redshift(conn, tmp_path):
    pretty = json.dumps({"name": "pretty", "n": 7, "x": 1.5}, indent=4).encode()
    data = GOOD + b"\n" + pretty + b"\n" + b'{"name": "cut", "n": 2\n' + b'{"name": "after", "n": 9}'
    result, rows, errors = run_copy(conn, tmp_path, {"a.json": data}, "FORMAT AS JSON 'auto' MAXERROR 1")
    assert (result.records_read, result.rows_loaded, result.rows_rejected) == (4, 3, 1)
    assert [r[0] for r in rows] == ["ok", "pretty", "after"]
    assert errors[0][1] == 2 + pretty.count(b"\n") + 1  # the truncated record's own line, after the 5-line object


@pytest.mark.parametrize(("line", "found"), [(b"null", "null"), (b"42", "a number"), (b"true", "a boolean")])
def test_a_json_scalar_is_no_record(conn, tmp_path, line, found):
    _, _, reason, _ = one_bad(conn, tmp_path, line)
    assert f"expected an object, found {found}" in reason


def test_public_buckets_are_read_without_credentials(conn, tmp_path, aws_env, monkeypatch):
    """No key in the configuration and none in the boto3 chain: requests go unsigned, as for the
    public udacity-dend bucket."""
    s3 = boto3.client("s3", endpoint_url=aws_env, region_name="us-west-2")
    s3.create_bucket(Bucket="public-lake", CreateBucketConfiguration={"LocationConstraint": "us-west-2"},
                     ACL="public-read")
    s3.put_object(Bucket="public-lake", Key="song_data/A/A/A/x.json", Body=GOOD, ACL="public-read")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    storage = Storage(endpoint_url=aws_env)
    from botocore import UNSIGNED

    assert storage.s3.meta.config.signature_version is UNSIGNED
    result = execute_copy(conn, "COPY t_copy FROM 's3://public-lake/song_data/A' FORMAT AS JSON 'auto'", storage,
                          progress=False)
    conn.commit()
    assert (result.files, result.rows_loaded) == (1, 1)
    with pytest.raises(CopyError, match=r"cannot read s3://public-lake/song_data/gone.json: .*NoSuchKey"):
        list(storage.open("s3://public-lake/song_data/gone.json"))  # an object deleted after the listing


# -- issue 14, section 5: the bulk path agrees with the record path; limits hold ---------------------
def _big(bad: bytes, at: int = 1500, count: int = 3000) -> bytes:
    """``bad`` amid enough good records for the bulk (pyarrow) path."""
    good = [json.dumps({"name": f"r{i}", "n": i, "x": i / 7, "ts": 1541105830796 + i}).encode() for i in range(count)]
    good[at] = bad
    data = b"\n".join(good)
    from sparkify.copy import loaders

    assert len(data) > loaders.FAST_MIN_BYTES
    return data


@pytest.mark.parametrize(("bad", "column", "reason"), [
    (b'{"name": "nan", "n": -1, "x": NaN}', "", "NaN and Infinity are not JSON"),
    (b'{"name": "inf", "n": -1, "x": Infinity}', "", "Invalid JSON"),
    (b'{"name": "ninf", "n": -1, "x": -Infinity}', "", "Invalid JSON"),
    (b'{"name": "y10000", "n": -1, "ts": 253402300800000}', "ts", "out of range (years 1 to 9999)"),
    (b'{"name": "far", "n": -1, "ts": 100000000000000000}', "ts", "out of range"),
    (b'{"name": "bj\xf6rk", "n": -1}', "", "Invalid UTF8"),
    (b'{"name": "ok", "n": -1, "unread": "\xf6"}', "", "Invalid UTF8"),  # in a key no column reads
    (b'{"name": "ok", "n": -1, "unread": NaN}', "", "NaN"),
    (b'{"name": "a", "n": -1} {"name": "b", "n": -2}', "", "Invalid JSON"),  # two objects on one line
])
def test_a_big_file_rejects_what_the_record_path_rejects(conn, tmp_path, bad, column, reason):
    """Files of 64 kB and more (the bulk path): each bad record rejected alone, with its file, line
    and reason, as in a small file; formerly loaded (NaN, Infinity, year 10000) or fatal (invalid
    UTF-8, timestamps beyond PostgreSQL's range)."""
    result, rows, errors = run_copy(conn, tmp_path, {"big.json": _big(bad)},
                                    "FORMAT AS JSON 'auto' TIMEFORMAT 'epochmillisecs' MAXERROR 1")
    assert (result.records_read, result.rows_loaded, result.rows_rejected) == (3000, 2999, 1)
    filename, line, colname, _, why = errors[0]
    assert filename.endswith("big.json") and line == 1501 and colname.strip() == column and reason in why
    assert all(r[1] != -1 for r in rows)


def test_a_big_file_past_maxerror_fails_naming_file_and_line_not_with_a_raw_database_error(conn, tmp_path):
    with pytest.raises(CopyError) as err:
        run_copy(conn, tmp_path, {"big.json": _big(b'{"name": "bj\xf6rk", "n": 1}')},
                 "FORMAT AS JSON 'auto' TIMEFORMAT 'epochmillisecs' MAXERROR 0")
    assert "big.json line 1501" in str(err.value) and "Invalid UTF8" in str(err.value)
    with pytest.raises(CopyError, match=r"big.json line 11, column ts: Invalid timestamp"):
        run_copy(conn, tmp_path, {"big.json": _big(b'{"name": "far", "n": 1, "ts": -100000000000000000}', at=10)},
                 "FORMAT AS JSON 'auto' TIMEFORMAT 'epochmillisecs' MAXERROR 0")


def test_a_reject_in_a_file_with_a_path_over_1024_bytes_is_recorded(conn, tmp_path):
    deep = "/".join(["d" * 200] * 5) + "/a.json"
    result, rows, errors = run_copy(conn, tmp_path, {deep: GOOD + b'\n{"n": "bad"}'},
                                    "FORMAT AS JSON 'auto' MAXERROR 1")
    assert len(str(tmp_path / "src" / deep).encode()) > 1024
    assert (result.rows_loaded, result.rows_rejected) == (1, 1)
    filename = errors[0][0]
    assert len(filename) <= 1024 and filename.startswith("...") and filename.endswith("/a.json")
    assert result.errors[0].filename == str(tmp_path / "src" / deep)  # the whole name in the result


def test_an_unclosed_object_followed_by_many_lines_is_rejected_in_linear_time(conn, tmp_path):
    """Formerly quadratic (each following line re-scanned to the end: 60 kB took 449 s); now each
    line is looked at a bounded number of times."""
    import time

    data = b'{"name": "open",\n' + b'  {"x": 1}}\n' * 20000  # 240 kB
    started = time.perf_counter()
    result, rows, errors = run_copy(conn, tmp_path, {"a.json": data}, "FORMAT AS JSON 'auto' MAXERROR 100000")
    assert time.perf_counter() - started < 20
    assert result.records_read == 20001 and result.rows_rejected == 20001 and rows == []


def test_a_50_mb_line_is_rejected_in_bounded_memory(conn, tmp_path):
    import tracemalloc

    data = GOOD + b'\n{"name": "' + b"x" * (50 * 1024 * 1024) + b'", "n": 2}\n' + b'{"name": "after", "n": 3}'
    tracemalloc.start()
    try:
        result, rows, errors = run_copy(conn, tmp_path, {"a.json": data}, "FORMAT AS JSON 'auto' MAXERROR 1")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [r[0] for r in rows] == ["ok", "after"]
    assert errors[0][1] == 2 and "exceeds the 4 MB limit" in errors[0][4] and "52428" in errors[0][4]
    assert peak < 40 * 1024 * 1024, f"peak {peak / 2**20:.0f} MiB for a 50 MiB line"


@pytest.mark.timeout(60)
def test_a_fifo_among_the_sources_is_refused_by_name_not_read(conn, tmp_path):
    import os

    (tmp_path / "src").mkdir()
    os.mkfifo(tmp_path / "src" / "b.json")
    with pytest.raises(CopyError, match=r"src/b.json is a FIFO \(named pipe\), not a regular file"):
        run_copy(conn, tmp_path, {"a.json": GOOD})
    from sparkify.copy.result import CopyError as Refused

    with pytest.raises(Refused, match="not a regular file"):
        list(Storage().open(str(tmp_path / "src" / "b.json")))  # a FIFO that appeared after the listing


def test_small_files_are_batched_and_a_bad_one_is_rejected_alone(conn, tmp_path, monkeypatch):
    """A song catalog is many one-record files: they go to the bulk path in batches, and a batch with a
    bad file is redone file by file, so counts, rows and rejects are each file's, as record by record."""
    from sparkify.copy import loaders

    files = {f"f{i:04d}.json": json.dumps({"name": f"s{i}", "n": i, "x": i / 3, "ts": 1541105830796 + i}).encode()
             + b"\n" * (i % 2) for i in range(2000)}
    files["f0300.json"] = b'{"name": "bad", "n": NaN}\n{"name": "ok", "n": 100000}\n'
    monkeypatch.setattr(loaders, "BATCH_BYTES", 70_000)
    accepted = []
    original = loaders.FastPath.convert
    monkeypatch.setattr(loaders.FastPath, "convert", lambda self, data: accepted.append(
        out := original(self, data)) or out)
    options = "FORMAT AS JSON 'auto' TIMEFORMAT 'epochmillisecs' MAXERROR 5"
    batched = run_copy(conn, tmp_path, files, options)
    assert any(accepted)
    with conn.cursor() as cur:
        cur.execute("TRUNCATE t_copy")
    conn.commit()
    monkeypatch.setattr(loaders, "FAST_MIN_BYTES", 10**12)  # record by record only
    single = run_copy(conn, tmp_path, files, options)
    assert batched[0].per_file == single[0].per_file
    assert (batched[0].records_read, batched[0].rows_loaded, batched[0].rows_rejected) == (2001, 2000, 1)
    assert batched[1] == single[1] and batched[2] == single[2]
    assert batched[2][0][:2] == (str(tmp_path / "src" / "f0300.json"), 1)


def test_statupdate_on_analyzes_the_table_in_the_copy_transaction(conn, tmp_path):
    assert parse_copy("COPY t FROM 's3://b/p' JSON 'auto' STATUPDATE ON").stat_update is True
    assert parse_copy("COPY t FROM 's3://b/p' JSON 'auto' STATUPDATE OFF").stat_update is False
    assert parse_copy("COPY t FROM 's3://b/p' JSON 'auto'").stat_update is None
    run_copy(conn, tmp_path, {"a.json": b'{"name": "a", "n": 1}\n'}, "FORMAT AS JSON 'auto' STATUPDATE ON")
    with conn.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE relname = 't_copy'")
        assert cur.fetchone()[0] == 1
