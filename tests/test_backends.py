"""The Backend interface: the same scenarios on both backends.

Local: live, on the real embedded PostgreSQL, asserting what the tables hold. Redshift: through a
recording DB-API connection that answers like a cluster and keeps every statement sent, asserting
the exact text (the ``sql/`` file as written, not translated) and parameters, in order, with the
transaction boundaries. Nothing above the backends may ask which backend it talks to.
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import psycopg2
import pytest
from conftest import ROOT, write_config
from redshift_double import RedshiftDouble

from sparkify import sqlfiles
from sparkify.backends import BACKENDS, LocalBackend, RedshiftBackend, backend_for
from sparkify.config import load_config
from sparkify.pipeline import ALL_TABLES, BOOKKEEPING_TABLES, FULL_LOAD, STAR_TABLES, UPSERTS, Session

PASSWORD = "RecordedPassw0rdNeverShown"
ROLE = "arn:aws:iam::123456789012:role/sparkify-s3-read"


STARTED = dt.datetime(2018, 12, 1, 9, 30, 0)
REDSHIFT_ANSWERS = {
    "redshift/copy_started": (["session_id", "started_at"], [(1073, STARTED)]),
    "redshift/last_copy": (["rows_loaded"], [(1200,)]),
    "redshift/copy_history": (["query_id", "status", "loaded_rows", "files", "error_count"],
                              [(4711, "completed", 1200, 7, 0)]),
    "redshift/copy_rejects": (["rows_rejected"], [(0,)]),
    "redshift/copy_errors": (["query_id", "filename", "line_number", "colname", "err_reason"],
                             [(4712, "s3://lake/log_data/2018-11-01-events.json", 3, "ts", "Invalid digit")]),
    "status/table_row_counts": (["table_name", "row_count"], [(t, 0) for t in ALL_TABLES]),
    "status/star_row_counts": (["table_name", "row_count"], [(t, 0) for t in STAR_TABLES]),
    "status/staged_events_source": (["source"], []),  # staged by hand: nothing to compare
    "status/server_version": (["version"], [("PostgreSQL 8.0.2 on i686-pc-linux-gnu, Redshift 1.0.77467",)]),
    "analysis/most_played_song": (["title", "name", "play_count"], [("Greece 2000", "Three Drives", 55)]),
}


@pytest.fixture
def redshift_config(tmp_path):
    path = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DWH_BACKEND": "redshift", "DWH_IAM_ROLE_ARN": ROLE},
        "CLUSTER": {"DWH_ENDPOINT": "sparkify.abc123.us-west-2.redshift.amazonaws.com",
                    "DWH_DB_PASSWORD": PASSWORD},
        "S3": {"LOG_DATA": "s3://lake/log_data", "SONG_DATA": "s3://lake/song_data",
               "LOG_JSONPATH": "s3://lake/log_json_path.json", "REGION": "us-west-2"}})
    return load_config(path)


def _text(name: str) -> str:
    return sqlfiles.load(name).text


# -- scenarios ---------------------------------------------------------------------------------------
def test_create_tables_on_redshift_sends_each_ddl_file_as_written_in_one_transaction(redshift_config):
    conn = RedshiftDouble(REDSHIFT_ANSWERS)
    counts = Session(redshift_config, conn=conn).create_tables()
    expected = [("execute", _text(f"ddl/{verb}_{t}"), {}) for t in ALL_TABLES + BOOKKEEPING_TABLES
                for verb in ("drop", "create")]
    assert conn.statements() == [*expected, ("commit",),
                                 ("execute", _text("status/table_row_counts"), {}), ("commit",)]
    assert list(counts["table_name"]) == list(ALL_TABLES)


def test_create_tables_locally_builds_the_seven_tables_and_the_load_errors_table(warehouse, make_config):
    with Session(make_config()) as s:
        counts = s.create_tables()
        assert list(counts["table_name"]) == list(ALL_TABLES) and counts["row_count"].sum() == 0
        assert s.query("status/load_errors", {"query": -1}).empty  # stl_load_errors exists too


def test_stage_on_redshift_binds_the_copy_parameters_and_reads_counts_back(redshift_config):
    conn = RedshiftDouble(REDSHIFT_ANSWERS)
    report = Session(redshift_config, conn=conn).stage("staging_events", max_errors=3, progress=False)
    params = {"log_data": "s3://lake/log_data", "song_data": "s3://lake/song_data",
              "log_jsonpath": "s3://lake/log_json_path.json", "region": "us-west-2", "iam_role": ROLE,
              "max_errors": 3}
    mark = {"session_id": 1073, "started_at": STARTED}
    assert conn.statements() == [
        ("execute", _text("ddl/drop_staging_events"), {}),
        ("execute", _text("ddl/create_staging_events"), {}),
        ("execute", _text("redshift/copy_started"), {}),
        ("execute", _text("copy/staging_events"), params),
        ("execute", _text("redshift/last_copy"), {}),
        ("execute", _text("redshift/copy_history"), {**mark, "table_name": "staging_events"}),
        ("execute", _text("redshift/copy_rejects"), {"query": 4711}),
        ("execute", _text("stage/forget_staging_log"), {"table_name": "staging_events"}),
        ("execute", _text("stage/record_staging_log"), {
            "table_name": "staging_events", "source": "s3://lake/log_data", "files": 7, "records_read": 1200,
            "rows_loaded": 1200, "rows_rejected": 0, "fingerprint": None}),
        ("commit",),
    ]
    assert conn.rejected == []
    assert (report.files, report.records_read, report.rows_loaded, report.rows_rejected, report.query_id) == \
        (7, 1200, 1200, 0, 4711)


def test_stage_locally_loads_the_lake_with_the_same_report(warehouse, make_config, small_lake):
    lake, manifest = small_lake
    with Session(make_config(lake)) as s:
        s.create_tables()
        report = s.stage("staging_events", max_errors=0, progress=False)
        assert report.records_read == report.rows_loaded + report.rows_rejected == manifest["events"]
        assert report.files == manifest["log_files"] and report.rows_rejected == 0


def test_a_failed_copy_on_redshift_rolls_back_and_names_the_rejected_records(redshift_config):
    from sparkify.copy import CopyError

    conn = RedshiftDouble(REDSHIFT_ANSWERS, fail_on="COPY staging_events")
    with pytest.raises(CopyError) as err:
        Session(redshift_config, conn=conn).stage("staging_events", progress=False)
    message = str(err.value)
    assert "COPY staging_events from s3://lake/log_data failed on Redshift" in message
    assert "2018-11-01-events.json" in message and "Invalid digit" in message and PASSWORD not in message
    lookup = ("execute", _text("redshift/copy_errors"), {"session_id": 1073, "started_at": STARTED})
    assert ("commit",) not in conn.log[: conn.log.index(lookup)]  # asked only after the rollback
    assert conn.log.count(("rollback",)) >= 2  # the step's transaction was rolled back


def test_a_day_without_a_file_on_redshift_is_an_empty_source(redshift_config):
    """Redshift's own words for a prefix that matches nothing (error 8001) make --allow-empty work there."""
    from sparkify.copy import EmptySource

    message = "The specified S3 prefix 'log_data/2018/12/2018-12-25' does not exist"
    conn = RedshiftDouble(REDSHIFT_ANSWERS, fail_on="COPY staging_events", fail_message=message)
    with pytest.raises(EmptySource, match="2018-12-25"):
        Session(redshift_config, conn=conn).stage("staging_events", progress=False, run_date="2018-12-25")
    conn = RedshiftDouble(REDSHIFT_ANSWERS, fail_on="COPY staging_events", fail_message=message)
    report = Session(redshift_config, conn=conn).stage("staging_events", progress=False, run_date="2018-12-25",
                                                       allow_empty=True)
    assert (report.files, report.records_read, report.source) == (0, 0, "s3://lake/log_data/2018/12/2018-12-25")


def test_transform_on_redshift_runs_every_upsert_and_check_in_one_transaction(redshift_config):
    counts = ("execute", _text("status/star_row_counts"), {})
    staged = ("execute", _text("status/staged_events_source"), {})
    checks = [("execute", f.text, {}) for f in sqlfiles.folder("checks")]
    upserts = [("execute", _text(f"transform/{step}"), {}) for step in UPSERTS]

    conn = RedshiftDouble(REDSHIFT_ANSWERS)  # a full load: the star schema emptied first, nothing to replace
    results = Session(redshift_config, conn=conn).transform()
    clears = [("execute", _text(f"transform/clear_{t}"), {}) for t in (*STAR_TABLES, "load_log")]
    full_load = [("execute", _text(f"transform/{step}"), {}) for step in FULL_LOAD]
    # counted once, before the clears: a full load's updated rows (the local clear, a TRUNCATE, reports no count)
    assert conn.statements() == [staged, counts, *clears, *full_load, *checks, ("commit",)]
    assert "stage_days_full_load" in FULL_LOAD and not [step for step in FULL_LOAD if "replace" in step]
    assert set(results["status"]) == {"pass"}
    assert len(results) == len([name for f in sqlfiles.folder("checks") for name, _ in f.checks]) > len(checks)

    conn = RedshiftDouble(REDSHIFT_ANSWERS)  # a daily load: nothing emptied, the day recorded
    Session(redshift_config, conn=conn).transform("2018-11-05")
    day = {"run_date": "2018-11-05"}
    assert conn.statements() == [staged, *upserts, ("execute", _text("transform/load_log_add_run_date"), day),
                                 ("execute", _text("transform/load_log_copy_counts"), day), *checks,
                                 ("commit",)]  # no table counted: the changes come from the statements' row counts


def test_analysis_runs_the_same_file_on_both_backends(redshift_config, session):
    conn = RedshiftDouble(REDSHIFT_ANSWERS)
    remote = Session(redshift_config, conn=conn).analysis("most_played_song")
    assert conn.statements() == [("execute", _text("analysis/most_played_song"), {}), ("commit",)]
    local = session.analysis("most_played_song")
    assert list(remote.columns) == list(local.columns) == ["title", "name", "play_count"]


# -- the interface itself ------------------------------------------------------------------------------
def test_backend_for_picks_the_configured_class(redshift_config, make_config):
    assert type(backend_for(redshift_config)) is RedshiftBackend
    assert type(backend_for(make_config())) is LocalBackend
    assert set(BACKENDS) == {"local", "redshift"}


def test_redshift_connections_time_out_keep_alive_and_encrypt(redshift_config, monkeypatch):
    seen = {}
    monkeypatch.setattr(psycopg2, "connect", lambda **kwargs: seen.update(kwargs) or RedshiftDouble({}))
    backend = RedshiftBackend(redshift_config)
    conn = backend.connect()
    assert conn.log == [("execute", _text("redshift/set_statement_timeout"), {"milliseconds": 3_600_000}),
                        ("commit",)]
    assert seen["connect_timeout"] == 15 and seen["keepalives"] == 1 and seen["keepalives_idle"] == 60
    assert seen["sslmode"] == "verify-full" and seen["sslrootcert"].endswith("redshift-ca-bundle.crt")
    assert "BEGIN CERTIFICATE" in open(seen["sslrootcert"]).read()
    assert seen["host"] == "sparkify.abc123.us-west-2.redshift.amazonaws.com" and seen["port"] == 5439
    engine = backend.sql_engine()
    assert PASSWORD not in repr(engine) and PASSWORD not in str(engine.url)


def test_redshift_lifecycle_delegates_to_aws_and_describes_itself(redshift_config, monkeypatch):
    import sparkify.aws as aws

    calls = []
    monkeypatch.setattr(aws, "provision", lambda config, **kw: calls.append(("provision", kw)) or "p")
    monkeypatch.setattr(aws, "teardown", lambda config, **kw: calls.append(("teardown", kw)) or "t")
    monkeypatch.setattr(aws, "status", lambda config: calls.append(("status",)) or "s")
    backend = RedshiftBackend(redshift_config)
    assert backend.provision(create_cluster=False, wait_minutes=5) == "p"
    assert backend.teardown(keep=True, final_snapshot=True) == "t"
    assert backend.status() == "s"
    assert calls == [("provision", {"create_cluster": False, "wait_minutes": 5}),
                     ("teardown", {"delete_cluster": False, "final_snapshot": True}), ("status",)]
    assert "deleted by notebook 05" in backend.stop()
    monkeypatch.setattr(aws, "still_running", lambda config: "cluster x is still running")
    assert backend.still_running() == "cluster x is still running"
    assert backend.is_reachable() and backend.iam_role() == ROLE
    described = backend.describe()
    assert described["backend"] == "redshift" and described["LOG_DATA"] == "s3://lake/log_data"
    assert described["warehouse"] == "sparkify.abc123.us-west-2.redshift.amazonaws.com:5439/sparkify"
    assert PASSWORD not in repr(described)


def test_local_lifecycle_and_description(make_config, warehouse):
    backend = LocalBackend(make_config())
    assert backend.is_reachable() and backend.location() == str(warehouse.data_dir)
    assert backend.describe()["backend"] == "local"
    assert set(backend.status()["state"]) == {"running"}
    assert backend.teardown(keep=True).iloc[0]["state"] == "left running" and warehouse.is_running()
    with pytest.raises(ValueError, match="max_errors must be 0 or more"):
        backend.copy_params(-1)


def test_local_work_mem_is_sized_from_the_data(session, monkeypatch):
    """Every local connection sizes work_mem from songplays and time, the transform from staging (and
    the star schema, for its checks), within bounds, so that nothing spills to temp files; and
    temp_buffers (for the transform's temporary tables) from staging."""
    from sparkify.backends import local

    assert local._work_mem_mb(0, local.SESSION_WORK_MEM_SHARE) == local.WORK_MEM_MB[0]
    assert local._work_mem_mb(800 << 20, local.SESSION_WORK_MEM_SHARE) == 200
    assert local._work_mem_mb(100 << 30, local.WORK_MEM_SHARE) == local.WORK_MEM_MB[1]
    with session.conn.cursor() as cur:  # empty tables: the lower bound, kept after a rollback
        cur.execute("SHOW work_mem")
        assert cur.fetchone()[0] == "64MB"
    session.conn.rollback()
    with session.conn.cursor() as cur:
        cur.execute("SHOW temp_buffers")
        assert cur.fetchone()[0] == "8MB"
    session.conn.rollback()
    monkeypatch.setattr(local, "SESSION_WORK_MEM_SHARE", 1 << 20)  # 64 kB of tables -> 64 GB: the upper bound
    monkeypatch.setattr(local, "TEMP_BUFFERS_SHARE", 1 << 20)
    with session.transaction(), session.conn.cursor() as cur:
        session.backend.prepare_transform(session)  # the star schema's share, since it is the larger
        cur.execute("SHOW work_mem")
        assert cur.fetchone()[0] == f"{local.WORK_MEM_MB[1]}MB"
    with session.conn.cursor() as cur:  # for the transform's transaction only
        cur.execute("SHOW work_mem")
        assert cur.fetchone()[0] == "64MB"
    session.conn.rollback()
    conn = session.backend.connect()
    with conn.cursor() as cur:
        cur.execute("SHOW work_mem")
        assert cur.fetchone()[0] == f"{local.WORK_MEM_MB[1]}MB"
        cur.execute("SHOW temp_buffers")
        assert cur.fetchone()[0] == f"{local.TEMP_BUFFERS_MB[1]}MB"
    conn.close()


def test_temp_buffers_may_take_an_eighth_of_the_machines_memory_never_less_than_1_5_gb():
    """The temporary tables' bound follows the machine (as /proc/meminfo tells it), with 1.5 GB as a floor."""
    from pathlib import Path

    from sparkify.backends import local

    total_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                    if line.startswith("MemTotal:"))
    assert abs(local._physical_memory() - total_kb * 1024) <= total_kb * 1024 // 100
    assert local.TEMP_BUFFERS_MB[1] == max(1536, local._physical_memory() // 8 >> 20) >= 1536


def test_the_local_transform_computes_stage_plays_on_parallel_workers_in_its_transaction_only(session):
    """PostgreSQL may run a CREATE TABLE ... AS on parallel workers (never an INSERT ... SELECT): within the
    transform's transaction stage_plays' ids are computed on them, at the default cost they are not."""

    def plan() -> str:
        with session.conn.cursor() as cur:
            cur.execute("EXPLAIN " + session.backend.statement("transform/stage_plays"))
            return "\n".join(row[0] for row in cur.fetchall())

    plans = {}
    with pytest.raises(RuntimeError, match="roll back"), session.transaction(), session.conn.cursor() as cur:
        cur.execute("""INSERT INTO staging_events (artist, song, page, ts, session_id, item_in_session, user_id,
                       level, length, location, user_agent)
                       SELECT 'Artist ' || n % 5000, 'Song ' || n % 9000, 'NextSong',
                              TIMESTAMP '2018-11-01' + n * INTERVAL '1 second', n / 50, n % 50, CAST(n % 97 AS TEXT),
                              'free', 200 + n % 100, 'Somewhere, CA', 'Mozilla/5.0 (Windows NT 6.1) Chrome/36.0'
                       FROM generate_series(1, 200000) AS n""")  # 200,000 plays, as a COPY would stage them
        cur.execute("ANALYZE staging_events")
        plans["serial"] = plan()
        session.backend.prepare_transform(session)
        plans["parallel"] = plan()
        raise RuntimeError("roll back the staged rows")
    serial, parallel = plans["serial"], plans["parallel"]
    assert "Gather" not in serial and "Gather" in parallel, parallel
    with session.conn.cursor() as cur:  # for the transform's transaction only
        cur.execute("SHOW parallel_tuple_cost")
        assert cur.fetchone()[0] == "0.1"
    session.conn.rollback()


def test_an_edited_sql_file_is_picked_up_by_the_next_call(tmp_path, monkeypatch, session):
    folder = tmp_path / "sql" / "analysis"
    folder.mkdir(parents=True)
    monkeypatch.setattr(sqlfiles, "SQL_DIR", tmp_path / "sql")
    target = folder / "answer.sql"
    target.write_text("-- The answer.\nSELECT 41 AS answer;\n")
    assert session.analysis("answer")["answer"].tolist() == [41]
    target.write_text("-- The answer, corrected.\nSELECT 42 AS answer;\n")
    stat = target.stat()  # a same-second edit: move the modification time on, as a slow editor would
    import os

    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert session.analysis("answer")["answer"].tolist() == [42]


def test_nothing_above_the_backends_asks_which_backend_it_talks_to():
    """No module outside sparkify/backends compares a backend's name."""
    pattern = re.compile(r"""(backend|\.name)\s*[!=]=\s*["'](local|redshift)["']|["'](local|redshift)["']\s*[!=]=""")
    offenders = []
    for path in [ROOT / "sparkify_helpers.py", *sorted((ROOT / "sparkify").glob("*.py"))]:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line) and not path.name == "config.py":
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []


def _imports(path: Path, package: str) -> set[str]:
    """Modules of the sparkify package that ``path`` imports (at any depth of the file)."""
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name == "__init__.py":
        module = module.rsplit(".", 1)[0] + ".__init__"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found.update(n for n in names if n.startswith(package + "."))
    return found


def test_no_import_cycles_in_the_package():
    modules = {}
    for path in sorted((ROOT / "sparkify").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph = {name: {m for m in _imports(path, "sparkify") if m in modules and m != name}
             for name, path in modules.items()}
    # a package's __init__ re-exporting its own modules is not a cycle of the modules themselves
    for name in graph:
        graph[name] = {m for m in graph[name] if not (name.startswith(m + ".") and m in modules)}

    cycles = []
    state: dict[str, str] = {}  # grey while on the DFS stack, black when done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "grey"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "grey":
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt, [*stack, nxt])
        state[node] = "black"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == [], f"import cycles: {cycles[:3]}"
