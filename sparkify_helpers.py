"""The notebooks' one import: every step's entry point, in the order the notebooks call them.

Each function is a thin call into a focused module of the ``sparkify`` package:

    config        sparkify.config       dwh.cfg, environment overrides, secret redaction
    warehouse     sparkify.warehouse    the embedded PostgreSQL (local) or a Redshift connection
    SQL           sparkify.sqlfiles     the statements of sql/, rendered with bind parameters
    dialect       sparkify.dialect      Redshift SQL to PostgreSQL (sqlglot)
    COPY          sparkify.copy_emulator  Redshift COPY ... JSON on the local backend
    steps         sparkify.pipeline     create tables, stage, transform + checks, analysis
    AWS           sparkify.aws          IAM role, security group rule, Redshift cluster
    charts        sparkify.charts       the report's charts
    batch         sparkify.batch        papermill runs and HTML reports

Settings come from ``dwh.cfg`` (or ``SPARKIFY_CONFIG``), never from a notebook, and no function
here prints a secret. When the batch run executes a notebook it sets ``SPARKIFY_RUN_DIR``; results
recorded with :func:`record` and query results saved by :func:`analysis` land there.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from sparkify import charts
from sparkify.config import Config, install_log_redaction, load_config
from sparkify.pipeline import CheckFailed, Session

__all__ = ["settings", "describe", "provision", "check_connection", "warehouse_status", "create_tables", "stage_events",
           "stage_songs",
           "transform_star_schema", "run_checks", "table_counts", "analysis", "matched_plays", "charts", "record",
           "teardown", "sql_engine", "CheckFailed"]

_config: Config | None = None
_session: Session | None = None
_settings_args: tuple[str, str] = ("", "")


# -- set-up ----------------------------------------------------------------------------------------
def settings(config_path: str = "", backend: str = "") -> Config:
    """Load the configuration once per kernel ('' = SPARKIFY_CONFIG, ./dwh.cfg or built-in defaults)."""
    global _config, _session, _settings_args
    _settings_args = (config_path, backend)
    install_log_redaction()
    os.environ.setdefault("PLOOMBER_STATS_ENABLED", "false")
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.max_colwidth", 200)
    _config = load_config(config_path or None, backend=backend or None)
    if _session is not None:
        _session.close()
        _session = None
    return _config


def _cfg() -> Config:
    return _config if _config is not None else settings()


def _db() -> Session:
    global _session
    if _session is None or _session.conn.closed:
        _session = Session(_cfg())
    return _session


def describe() -> pd.DataFrame:
    """Where this run reads and writes (no secrets)."""
    c = _cfg()
    rows = [("backend", c.backend), ("configuration", c.source), ("LOG_DATA", c.s3.log_data),
            ("LOG_JSONPATH", c.s3.log_jsonpath), ("SONG_DATA", c.s3.song_data)]
    rows.append(("warehouse", str(c.local.data_dir) if c.backend == "local" else
                 f"{c.cluster.endpoint or '(not provisioned)'}:{c.cluster.port}/{c.cluster.db}"))
    return pd.DataFrame(rows, columns=["setting", "value"]).set_index("setting")


# -- 00 provision ----------------------------------------------------------------------------------
def provision(create_cluster: bool = True, wait_minutes: int = 30) -> pd.DataFrame:
    """Local: start the embedded PostgreSQL and write the sample data lake if it is missing.
    Redshift: create (or find) the IAM role, the ingress rule and the cluster."""
    c = _cfg()
    if c.backend == "local":
        from sparkify.generate import ensure_sample_lake
        from sparkify.warehouse import local_warehouse

        rows = [("warehouse", str(local_warehouse(c).start()))]
        if c.uses_sample_data:
            manifest = ensure_sample_lake(c.local.sample_dir, c.local.sample_preset, c.local.sample_seed)
            rows.append(("sample data", f"{c.local.sample_preset} preset: {manifest['events']:,} events in "
                                        f"{manifest['log_files']} log files, {manifest['song_files']:,} song files, "
                                        f"in {c.local.sample_dir}"))
        return pd.DataFrame(rows, columns=["what", "state"]).set_index("what")
    from sparkify import aws

    result = aws.provision(c, create_cluster=create_cluster, wait_minutes=wait_minutes)
    settings(*_settings_args)  # the endpoint and role ARN were written to the configuration
    return result


def check_connection() -> pd.DataFrame:
    """Open a first database connection and ask the server its version."""
    return _db().query("status/server_version")


def warehouse_status() -> pd.DataFrame:
    c = _cfg()
    if c.backend == "local":
        from sparkify.warehouse import local_warehouse

        return pd.DataFrame([("local warehouse", str(local_warehouse(c).status()))],
                            columns=["what", "state"]).set_index("what")
    from sparkify import aws

    return aws.status(c)


# -- 01 create tables --------------------------------------------------------------------------------
def create_tables() -> pd.DataFrame:
    """Drop and re-create the seven tables; returns their (zero) row counts."""
    return _db().create_tables()


# -- 02 stage ----------------------------------------------------------------------------------------
def _stage(table: str, max_errors: int) -> pd.DataFrame:
    # a progress bar for people; a batch run's report shows the counts instead
    report = _db().stage(table, max_errors=max_errors, progress=_run_dir() is None)
    summary = pd.DataFrame([{
        "table": report.table, "source": report.source, "files": report.files,
        "records read": report.records_read, "rows loaded": report.rows_loaded,
        "rows rejected": report.rows_rejected, "seconds": report.seconds}]).set_index("table")
    rejected = _read_record("rejected") or {}
    rejected[table] = report.rows_rejected
    record("rejected", rejected)
    if not report.rejects.empty:
        from IPython.display import display

        display(report.rejects.head(20))
    return summary


def stage_events(max_errors: int = 0) -> pd.DataFrame:
    """COPY the activity logs into staging_events; shows files, records read/loaded/rejected."""
    return _stage("staging_events", max_errors)


def stage_songs(max_errors: int = 0) -> pd.DataFrame:
    """COPY the song catalog into staging_songs."""
    return _stage("staging_songs", max_errors)


# -- 03 transform and check ------------------------------------------------------------------------
def transform_star_schema() -> pd.DataFrame:
    """Build songplays, users, songs, artists and time, then run every check (one transaction).
    Returns the check results; a failed check rolls back and raises CheckFailed."""
    try:
        results = _db().transform()
    except CheckFailed as failed:
        record("checks", dict(zip(failed.results["check"], failed.results["status"], strict=True)))
        raise
    record("checks", dict(zip(results["check"], results["status"], strict=True)))
    _record_counts()
    return results.set_index("check")


def run_checks() -> pd.DataFrame:
    """Run the data-quality checks without failing (to look at the results)."""
    return _db().run_checks(raise_on_failure=False).set_index("check")


def table_counts() -> pd.DataFrame:
    return _db().table_counts().set_index("table_name")


def _record_counts() -> None:
    counts = _db().table_counts()
    record("tables", {row.table_name: int(row.row_count) for row in counts.itertuples()})
    record("resolved_songplays", _db().resolved_songplays()["resolved_songplays"])


# -- 04 analysis -------------------------------------------------------------------------------------
def analysis(name: str, **params) -> pd.DataFrame:
    """Run sql/analysis/<name>.sql; in a batch run its rows are also saved as <name>.csv."""
    df = _db().analysis(name, **params)
    run_dir = _run_dir()
    if run_dir is not None:
        df.to_csv(run_dir / f"{name}.csv", index=False)
    return df


def matched_plays() -> pd.DataFrame:
    """Plays matched to a catalog song, of all plays (sql/status/resolved_songplays.sql): the song and
    artist rankings count only these. Columns: songplays, resolved_songplays, matched_share."""
    df = _db().query("status/resolved_songplays")
    df["matched_share"] = (df["resolved_songplays"] / df["songplays"].where(df["songplays"] > 0)).round(3)
    return df


# -- 05 teardown -------------------------------------------------------------------------------------
def teardown(stop_local_warehouse: bool = True, delete_cluster: bool = True,
             final_snapshot: bool = False) -> pd.DataFrame:
    """Local: stop the embedded PostgreSQL (its data stays on disk).
    Redshift: delete the cluster, the role and the ingress rule that provisioning created."""
    global _session
    c = _cfg()
    if _session is not None:
        _session.close()
        _session = None
    if c.backend == "local":
        from sparkify.warehouse import local_warehouse

        warehouse = local_warehouse(c)
        if not stop_local_warehouse:
            return pd.DataFrame([("local warehouse", "left running")], columns=["what", "state"]).set_index("what")
        stopped = warehouse.stop()
        return pd.DataFrame([("local warehouse", "stopped" if stopped else "was not running")],
                            columns=["what", "state"]).set_index("what")
    from sparkify import aws

    return aws.teardown(c, delete_cluster=delete_cluster, final_snapshot=final_snapshot)


# -- interactive SQL -------------------------------------------------------------------------------
def sql_engine():
    """A SQLAlchemy engine for jupysql's %sql magic: `%sql engine` (no password in the notebook)."""
    import sqlalchemy

    c = _cfg()
    if c.backend == "local":
        from sparkify.warehouse import local_warehouse

        warehouse = local_warehouse(c)
        warehouse.start()
        return sqlalchemy.create_engine(warehouse.sqlalchemy_url())
    from sparkify.config import require

    url = sqlalchemy.engine.URL.create(
        "postgresql+psycopg2", username=c.cluster.db_user, password=require(c, "CLUSTER", "DWH_DB_PASSWORD").reveal(),
        host=require(c, "CLUSTER", "DWH_ENDPOINT"), port=c.cluster.port, database=c.cluster.db)
    return sqlalchemy.create_engine(url, connect_args={"sslmode": "require"}, hide_parameters=True)


# -- run records -----------------------------------------------------------------------------------
def _run_dir() -> Path | None:
    value = os.environ.get("SPARKIFY_RUN_DIR")
    return Path(value) if value else None


def _read_record(key: str):
    run_dir = _run_dir()
    path = run_dir / "records" / f"{key}.json" if run_dir else None
    if path is None or not path.exists():
        return None
    return json.loads(path.read_text())


def record(key: str, value) -> None:
    """Keep a result for the run's summary.json (only in a batch run)."""
    run_dir = _run_dir()
    if run_dir is None:
        return
    (run_dir / "records").mkdir(parents=True, exist_ok=True)
    (run_dir / "records" / f"{key}.json").write_text(json.dumps(value, indent=2, default=str))
