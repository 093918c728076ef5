"""The Redshift branches of the pipeline, the helpers, ``%sql`` and the notebooks' code, run against
the Redshift-shaped double (tests/redshift_double.py): every statement recorded, and none that
Redshift rejects. The double itself is tested first: it must refuse what Redshift refuses, or it
proves nothing (it would have caught notebook 04's ``show standard_conforming_strings``)."""

from __future__ import annotations

import datetime as dt
import json

import psycopg2
import psycopg2.extras
import pytest
import sqlalchemy
from conftest import ROOT, write_config
from redshift_double import RedshiftDouble, rejection

from sparkify import sqlfiles
from sparkify.backends import RedshiftBackend
from sparkify.config import load_config
from sparkify.copy import CopyError
from sparkify.pipeline import ALL_TABLES, STAR_TABLES, Session, ddl_columns

PASSWORD = "DoublePassw0rdNeverShown"
ROLE = "arn:aws:iam::123456789012:role/sparkify-s3-read"
STARTED = dt.datetime(2018, 12, 1, 9, 30, 0)
ANSWERS = {
    # the columns of each table as sql/ddl defines them (what information_schema shows after CREATE)
    "status/table_columns": lambda params: (["column_name", "data_type", "character_maximum_length"],
                                            [(c, "x", None) for c in ddl_columns(params["table_name"])]),
    "redshift/copy_started": (["session_id", "started_at"], [(1073, STARTED)]),
    "redshift/last_copy": (["rows_loaded"], [(8054,)]),
    "redshift/copy_history": (["query_id", "status", "loaded_rows", "files", "error_count"],
                              [(90211, "completed", 8054, 30, 2)]),
    "redshift/copy_rejects": (["rows_rejected"], [(2,)]),
    "redshift/load_error_detail": (["filename", "line_number", "colname", "raw_field_value", "err_reason"],
                                   [("s3://lake/log_data/2018/11/2018-11-05-events.json", 17, "ts", None,
                                     "Invalid timestamp format or value")] * 2),
    "status/table_row_counts": (["table_name", "row_count"], [(t, 10) for t in ALL_TABLES]),
    "status/star_row_counts": (["table_name", "row_count"], [(t, 10) for t in STAR_TABLES]),
    "status/resolved_songplays": (["songplays", "resolved_songplays"], [(10, 3)]),
    "status/songplays_date_range": (["first_play", "last_play"], [(STARTED, STARTED)]),
    "status/staged_events_source": (["source"], [("s3://lake/log_data",)]),  # what notebook 02 staged
    "status/server_version": (["version"], [("PostgreSQL 8.0.2 on i686-pc-linux-gnu, Redshift 1.0.77467",)]),
}


@pytest.fixture
def config_path(tmp_path):
    return write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DWH_BACKEND": "redshift", "DWH_IAM_ROLE_ARN": ROLE},
        "CLUSTER": {"DWH_ENDPOINT": "sparkify.abc123.us-west-2.redshift.amazonaws.com", "DWH_DB_PASSWORD": PASSWORD},
        "S3": {"LOG_DATA": "s3://lake/log_data", "SONG_DATA": "s3://lake/song_data",
               "LOG_JSONPATH": "s3://lake/log_json_path.json", "REGION": "us-west-2"}})


@pytest.fixture
def cluster(monkeypatch):
    """Every psycopg2.connect() reaches the pretend cluster; the doubles it handed out are kept."""
    opened: list[RedshiftDouble] = []

    def connect(**kwargs):
        assert kwargs["sslmode"] == "verify-full" and kwargs["connect_timeout"] and kwargs["keepalives"] == 1
        conn = RedshiftDouble(ANSWERS, patterns={r"COUNT\(song_id\) AS resolved": (["songplays", "resolved"],
                                                                                   [(10, 3)])})
        opened.append(conn)
        return conn

    monkeypatch.setattr(psycopg2, "connect", connect)
    # a client-side type registration of SQLAlchemy's psycopg2 dialect; it sends nothing to the server
    monkeypatch.setattr(psycopg2.extras, "register_uuid", lambda *args, **kwargs: None)
    return opened


def _sent(opened: list[RedshiftDouble]) -> list[str]:
    return [text for conn in opened for text in conn.texts()]


def _rejected(opened: list[RedshiftDouble]) -> list:
    return [r for conn in opened for r in conn.rejected]


# -- the double refuses what Redshift refuses -----------------------------------------------------------
@pytest.mark.parametrize("statement", [
    "show standard_conforming_strings",
    "SELECT STRING_AGG(title, ',') FROM songs",
    "SELECT ARRAY_AGG(song_id) FROM songs",
    "SELECT * FROM GENERATE_SERIES(1, 10)",
    "SELECT REGEXP_SPLIT_TO_TABLE(user_agent, ' ') FROM songplays",
    "SELECT a IS DISTINCT FROM b FROM t",
    "SELECT DISTINCT ON (user_id) user_id FROM songplays",
    "SELECT FORMAT('%s', 1)",
    "CREATE INDEX songplays_start ON songplays (start_time)",
    "CREATE TABLE t (id SERIAL, tags TEXT[], doc JSONB)",
    "INSERT INTO users VALUES (1) ON CONFLICT DO NOTHING",
    "SAVEPOINT before_load",
    "COPY staging_events FROM STDIN",
    "SET standard_conforming_strings TO on",
])
def test_the_double_rejects_what_redshift_rejects(statement):
    assert rejection(statement, in_transaction=False) is not None


def test_truncate_and_vacuum_are_refused_inside_a_transaction_only():
    conn = RedshiftDouble()
    with conn.cursor() as cur:
        cur.execute("DELETE FROM staging_events")
        with pytest.raises(psycopg2.errors.FeatureNotSupported, match="TRUNCATE commits the transaction"):
            cur.execute("TRUNCATE staging_events")
    conn.rollback()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("TRUNCATE staging_events")
        cur.execute("VACUUM songplays")
    assert rejection("VACUUM songplays", in_transaction=True) is not None


def test_words_in_comments_and_literals_are_not_calls():
    assert rejection("-- string_agg(x) would be PostgreSQL\nSELECT 'generate_series(1, 2)' AS note", False) is None


@pytest.mark.parametrize("sql_file", [f for f in sqlfiles.every_file() if not f.name.startswith("emulator/")],
                         ids=lambda f: f.name)  # emulator/: the local COPY emulator's own, never sent to Redshift
def test_no_statement_of_sql_is_one_that_redshift_rejects(sql_file):
    assert rejection(sql_file.text, in_transaction=True) is None


def test_the_plain_postgresql_dialect_is_refused_as_redshift_refuses_it(cluster, config_path):
    """Problem 1 of issue 13: what notebook 04 did before, caught by the double."""
    backend = RedshiftBackend(load_config(config_path))
    engine = sqlalchemy.create_engine("postgresql+psycopg2://", creator=backend.connect)
    with pytest.raises(sqlalchemy.exc.ProgrammingError, match="unrecognized configuration parameter"):
        engine.connect()
    assert any("standard_conforming_strings" in text for text, _ in _rejected(cluster))


# -- %sql -----------------------------------------------------------------------------------------------
def test_the_sql_engine_connects_without_a_statement_redshift_rejects(cluster, config_path):
    engine = RedshiftBackend(load_config(config_path)).sql_engine()
    assert engine.dialect.name == "redshift"
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select 1").scalar() == 1
    assert _rejected(cluster) == []
    sent = _sent(cluster)
    assert sent[0] == sqlfiles.load("redshift/set_statement_timeout").text  # every connection's first statement
    assert not any("standard_conforming" in t.lower() for t in sent)
    print("statements of a first %sql connection:", [t.splitlines()[-1] for t in sent])


def test_notebook_04s_sql_magic_runs_on_redshift_through_the_double(cluster, config_path):
    """Notebook 04's %sql cells, run by jupysql in an IPython shell, on the redshift backend."""
    from IPython.core.interactiveshell import InteractiveShell

    import sparkify_helpers as h

    cells = _code_cells("04_analyze_song_plays")
    magic = [c for c in cells if "%sql" in c or "%load_ext sql" in c]
    assert magic, "notebook 04 has no %sql cells"
    shell = InteractiveShell.instance()
    try:
        shell.user_ns.update({"h": h})
        h.settings(str(config_path), "redshift")
        for cell in magic:
            result = shell.run_cell(cell)
            assert result.error_in_exec is None and result.error_before_exec is None, cell
        assert _rejected(cluster) == []
        assert any("COUNT(song_id) AS resolved" in t for t in _sent(cluster))
    finally:
        from sql.connection import ConnectionManager

        ConnectionManager.close_all()
        InteractiveShell.clear_instance()
        h.settings()


# -- the pipeline, helpers and notebooks' code ----------------------------------------------------------
def _parameters_cell(stem: str) -> str:
    notebook = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    return next("".join(c["source"]) for c in notebook["cells"]
                if "parameters" in c.get("metadata", {}).get("tags", []))


def _code_cells(stem: str) -> list[str]:
    notebook = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code"
            and "parameters" not in c.get("metadata", {}).get("tags", [])]


@pytest.mark.parametrize("stem", ["00_provision_warehouse", "01_create_tables", "02_stage_source_data",
                                  "03_transform_star_schema"])
def test_the_notebooks_code_runs_on_redshift_through_the_double(cluster, config_path, stem, tmp_path, monkeypatch):
    """Each notebook's code cells, with its parameters, in one namespace, as papermill would run them."""
    import sparkify.aws as aws
    import sparkify_helpers as h

    monkeypatch.setattr(aws, "provision", lambda config, **kw: aws.pd.DataFrame(
        [("cluster", "exists", "x")], columns=["resource", "state", "detail"]))  # provisioning: test_aws.py
    namespace: dict = {}
    exec(compile(_parameters_cell(stem), f"{stem}.ipynb", "exec"), namespace)  # noqa: S102 - its defaults
    namespace.update({"config_path": str(config_path), "backend": "redshift", "run_dir": str(tmp_path)})
    namespace.update({k: v for k, v in {"max_errors": 5, "wait_minutes": 1}.items() if k in namespace})
    try:
        for cell in _code_cells(stem):
            exec(compile(cell, f"{stem}.ipynb", "exec"), namespace)  # noqa: S102 - the notebook's own code
    finally:
        h.settings()
    assert _rejected(cluster) == []
    sent = _sent(cluster)
    if stem == "02_stage_source_data":
        assert sent.count(sqlfiles.load("copy/staging_events").text) == 1
        assert json.loads((tmp_path / "records" / "rejected.json").read_text()) == {
            "staging_events": 2, "staging_songs": 2}
    if stem == "03_transform_star_schema":
        assert json.loads((tmp_path / "records" / "resolved_songplays.json").read_text()) == 3


def test_load_errors_are_those_of_the_copy_just_run(cluster, config_path):
    with Session(load_config(config_path)) as s:
        report = s.stage("staging_events", max_errors=5, progress=False)
    conn = cluster[-1]
    assert (report.query_id, report.files, report.rows_loaded, report.rows_rejected) == (90211, 30, 8054, 2)
    assert list(report.rejects["err_reason"]) == ["Invalid timestamp format or value"] * 2
    history = [e for e in conn.log if e[0] == "execute" and e[1] == sqlfiles.load("redshift/copy_history").text]
    assert history[0][2] == {"session_id": 1073, "started_at": STARTED, "table_name": "staging_events"}
    detail = [e for e in conn.log if e[0] == "execute" and e[1] == sqlfiles.load("redshift/load_error_detail").text]
    assert detail[0][2] == {"query": 90211}  # the query id of this COPY, found by session and start time


def test_a_copy_that_fails_before_loading_reports_redshifts_own_message(config_path):
    """Access denied: nothing in sys_load_error_detail for this COPY, so no older load's rejects
    (the double answers copy_errors with no row) and Redshift's message is the cause."""
    message = ("S3ServiceException:Access Denied,Status 403,Error AccessDenied,Rid X,CanRetry 1\n"
               "DETAIL: error: S3ServiceException:Access Denied")
    answers = {**ANSWERS, "redshift/copy_errors": (["query_id", "filename", "line_number", "colname",
                                                    "err_reason"], [])}
    conn = RedshiftDouble(answers, fail_on="COPY staging_events", fail_message=message)
    with pytest.raises(CopyError) as err:
        Session(load_config(config_path), conn=conn).stage("staging_events", progress=False)
    text = str(err.value)
    assert "S3ServiceException:Access Denied" in text and "failed before loading" in text
    assert "Invalid timestamp" not in text
    lookup = [e for e in conn.log if e[0] == "execute" and e[1] == sqlfiles.load("redshift/copy_errors").text]
    assert lookup[0][2] == {"session_id": 1073, "started_at": STARTED}


def test_a_failing_error_lookup_still_reports_the_copy_error(config_path):
    conn = RedshiftDouble(ANSWERS, fail_on="COPY staging_songs")
    conn.answers.pop("redshift/copy_errors", None)
    original = conn.failure_for
    conn.failure_for = lambda text: (psycopg2.errors.InsufficientPrivilege("permission denied")
                                     if "sys_load_error_detail" in text else original(text))
    with pytest.raises(CopyError, match="could not be read from sys_load_error_detail"):
        Session(load_config(config_path), conn=conn).stage("staging_songs", progress=False)


def test_a_copy_missing_from_the_load_history_still_reports_its_rows(config_path):
    answers = {**ANSWERS, "redshift/copy_history": (["query_id", "status", "loaded_rows", "files", "error_count"], [])}
    report = Session(load_config(config_path), conn=RedshiftDouble(answers)).stage("staging_songs", progress=False)
    assert (report.rows_loaded, report.rows_rejected, report.query_id) == (8054, 0, -1)


def test_connection_failures_are_retried_then_named_without_the_password(config_path, monkeypatch):
    import sparkify.backends.redshift as module
    from sparkify.errors import WarehouseError

    attempts = []

    def refuse(**kwargs):
        attempts.append(kwargs)
        raise psycopg2.OperationalError(f"could not connect to server (password {PASSWORD})")

    monkeypatch.setattr(psycopg2, "connect", refuse)
    monkeypatch.setattr(module.time, "sleep", lambda s: None)
    with pytest.raises(WarehouseError) as err:
        RedshiftBackend(load_config(config_path)).connect()
    assert len(attempts) == module.CONNECT_ATTEMPTS and PASSWORD not in str(err.value)
