"""The notebooks' one import: each step's verb, in the order the notebooks call them.

Every function is a thin call into the ``sparkify`` package (see the README's architecture map):
the configured :mod:`sparkify.backends` backend does what differs between the local warehouse and
Redshift, :class:`sparkify.pipeline.Session` runs the ``sql/`` files, and :mod:`sparkify.charts`
draws. Nothing here asks which backend it talks to.

Settings come from the configuration file named by the notebook's ``config_path`` parameter (or
``SPARKIFY_CONFIG``, ``./dwh.cfg``, the built-in defaults), never from a notebook cell, and no
function here prints a secret. A batch run passes ``run_dir``; results kept with :func:`record` and
query results of :func:`analysis` are written there for the run's ``summary.json`` and CSV files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from sparkify import display
from sparkify.backends import Backend, backend_for
from sparkify.config import Config, install_log_redaction, load_config
from sparkify.parameters import ParameterError, check_parameters
from sparkify.pipeline import CheckFailed, Session

__all__ = ["check_parameters", "ParameterError",
           "settings", "describe", "provision", "check_connection", "warehouse_status", "create_tables",
           "stage_events", "stage_songs", "transform_star_schema", "run_checks", "table_counts", "changes",
           "loaded_days", "plays_in_context", "analysis", "matched_plays", "charts", "record", "teardown",  # noqa: F822
           "sql_engine", "CheckFailed"]


class _Kernel:
    """What one kernel (one notebook run) holds: the configuration, its backend, one session."""

    config: Config | None = None
    backend: Backend | None = None
    session: Session | None = None
    run_dir: Path | None = None
    args: tuple[str, str] = ("", "")


_k = _Kernel()


def __getattr__(name: str):
    """``h.charts`` imported on first use: matplotlib loads only in the notebook that draws."""
    if name == "charts":
        import importlib

        return importlib.import_module("sparkify.charts")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# -- set-up ----------------------------------------------------------------------------------------
def settings(config_path: str = "", backend: str = "", run_dir: str = "") -> Config:
    """Load the configuration for this kernel: ``config_path`` ('' = SPARKIFY_CONFIG, ./dwh.cfg or
    the built-in defaults), ``backend`` ('' = as configured), ``run_dir`` (a batch run's folder)."""
    install_log_redaction()
    os.environ.setdefault("PLOOMBER_STATS_ENABLED", "false")  # this kernel's jupysql: no telemetry calls
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.max_colwidth", 200)
    display.install()  # tables without the 0, 1, 2 row index; large counts with thousands separators
    _close_session()
    _k.args = (config_path, backend)
    _k.config = load_config(config_path or None, backend=backend or None)
    _k.backend = backend_for(_k.config)
    _k.run_dir = Path(run_dir) if run_dir else None
    return _k.config


def _backend() -> Backend:
    if _k.backend is None:
        settings()
    return _k.backend


def _db() -> Session:
    if _k.session is None or _k.session.conn.closed:
        _k.session = Session(_backend().config)
    return _k.session


def _close_session() -> None:
    if _k.session is not None:
        _k.session.close()
        _k.session = None


def describe() -> pd.DataFrame:
    """Where this run reads and writes (no secrets)."""
    return pd.DataFrame(list(_backend().describe().items()), columns=["setting", "value"]).set_index("setting")


# -- 00 provision ----------------------------------------------------------------------------------
def provision(create_cluster: bool = True, wait_minutes: int = 30) -> pd.DataFrame:
    """Local: start the embedded PostgreSQL and write the sample data lake if it is missing.
    Redshift: create (or find) the IAM role, the ingress rule and the cluster."""
    result = _backend().provision(create_cluster=create_cluster, wait_minutes=wait_minutes)
    settings(*_k.args, run_dir=str(_k.run_dir or ""))  # provisioning may have written the configuration
    return result.set_index("resource")


def check_connection() -> pd.DataFrame:
    """Open a first database connection and ask the server its version."""
    return _db().query("status/server_version")


def warehouse_status() -> pd.DataFrame:
    return _backend().status().set_index("resource")


# -- 01 create tables --------------------------------------------------------------------------------
def create_tables(reset: bool = False) -> pd.DataFrame:
    """Create the tables that are missing, keeping every existing one with its data; with ``reset``,
    drop and re-create them all (all data is lost). Returns the row counts."""
    return (_db().create_tables() if reset else _db().ensure_tables()).set_index("table_name")


# -- 02 stage ----------------------------------------------------------------------------------------
def _stage(table: str, max_errors: int, run_date: str = "", allow_empty: bool = False,
           when_changed: bool = False) -> pd.DataFrame:
    # a progress bar for people; a batch run's report shows the counts instead
    report = _db().stage(table, max_errors=max_errors, progress=_k.run_dir is None, run_date=run_date,
                         allow_empty=allow_empty, when_changed=when_changed)
    summary = pd.DataFrame([{
        "table": report.table, "source": report.source, "files": report.files,
        "records read": report.records_read, "rows loaded": report.rows_loaded,
        "rows rejected": report.rows_rejected, "seconds": report.seconds,
        "COPY": f"kept: files unchanged since {report.kept_from[:19]}" if report.kept_from else "ran"}]
    ).set_index("table")
    for key, value in (("rejected", report.rows_rejected), ("staged", report.rows_loaded)):
        kept = _read_record(key) or {}
        kept[table] = value
        record(key, kept)
    if not report.rejects.empty:
        from IPython.display import display

        display(report.rejects.head(20))
    return summary


def stage_events(max_errors: int = 0, run_date: str = "", allow_empty: bool = False) -> pd.DataFrame:
    """COPY the activity logs into staging_events (one day's with ``run_date``, YYYY-MM-DD); shows
    files, records read/loaded/rejected. ``allow_empty``: a day without a log file, or a source whose
    files hold no record, stages nothing instead of failing."""
    return _stage("staging_events", max_errors, run_date, allow_empty)


def stage_songs(max_errors: int = 0, allow_empty: bool = False, restage: bool = False) -> pd.DataFrame:
    """COPY the song catalog into staging_songs (an empty catalog fails unless ``allow_empty``), or
    keep what staging_songs holds when the catalog's files are unchanged since its last COPY (same
    keys, sizes and versions); ``restage`` copies it in any case. Shows what was done."""
    return _stage("staging_songs", max_errors, allow_empty=allow_empty, when_changed=not restage)


# -- 03 transform and check ------------------------------------------------------------------------
def transform_star_schema(run_date: str = "") -> pd.DataFrame:
    """Merge staging into songplays, users, songs, artists and time (a full load, or the day
    ``run_date``), then run every check (one transaction). Returns the check results; a failed check
    rolls back and raises CheckFailed."""
    record("run_date", run_date or None)
    try:
        results = _db().transform(run_date)
    except CheckFailed as failed:
        record("checks", dict(zip(failed.results["check"], failed.results["status"], strict=True)))
        raise
    record("checks", dict(zip(results["check"], results["status"], strict=True)))
    record("changes", _db().changes)
    counts = _db().table_counts()
    record("tables", {row.table_name: int(row.row_count) for row in counts.itertuples()})
    record("resolved_songplays", _db().resolved_songplays()["resolved_songplays"])
    span = _db().query("status/songplays_date_range").iloc[0]
    record("date_range", {key: None if pd.isna(span[key]) else str(span[key]) for key in ("first_play", "last_play")})
    return results.set_index("check")


def run_checks() -> pd.DataFrame:
    """Run the data-quality checks without failing (to look at the results)."""
    return _db().run_checks(raise_on_failure=False).set_index("check")


def table_counts() -> pd.DataFrame:
    return _db().table_counts().set_index("table_name")


def changes() -> pd.DataFrame:
    """Rows the last transform added and updated, per star table."""
    return pd.DataFrame.from_dict(_db().changes, orient="index").rename_axis("table")


def loaded_days() -> pd.DataFrame:
    """load_log: the days merged into the star schema, with their counts."""
    return _db().query("status/loaded_days")


# -- 04 analysis -------------------------------------------------------------------------------------
def analysis(name: str, **params) -> pd.DataFrame:
    """Run sql/analysis/<name>.sql; in a batch run its rows are also saved as <name>.csv."""
    df = _db().analysis(name, **params)
    if _k.run_dir is not None:
        df.to_csv(_k.run_dir / f"{name}.csv", index=False)
    return df


def plays_in_context(run_date: str = "") -> pd.DataFrame:
    """Plays, listeners and matched plays on one day, over the 7 days up to it and all time: the day
    ``run_date``, or the day of the last play for a full load."""
    day = run_date
    if not day:
        last = _db().query("status/songplays_date_range").iloc[0]["last_play"]
        day = "" if pd.isna(last) else pd.Timestamp(last).date().isoformat()
    return analysis("plays_in_context", day=day or "1970-01-01")


def matched_plays() -> pd.DataFrame:
    """Plays matched to a catalog song, of all plays (sql/status/resolved_songplays.sql): the song and
    artist rankings count only these. Columns: songplays, resolved_songplays, matched_share."""
    df = _db().query("status/resolved_songplays")
    df["matched_share"] = (df["resolved_songplays"] / df["songplays"].where(df["songplays"] > 0)).round(3)
    return df


# -- 05 teardown -------------------------------------------------------------------------------------
def teardown(keep_warehouse: bool = False, final_snapshot: bool = False) -> pd.DataFrame:
    """Local: stop the embedded PostgreSQL (its data stays on disk). Redshift: delete the cluster,
    the role and the ingress rule that provisioning created. ``keep_warehouse`` leaves all as it is."""
    _close_session()
    return _backend().teardown(keep=keep_warehouse, final_snapshot=final_snapshot).set_index("resource")


# -- interactive SQL -------------------------------------------------------------------------------
def sql_engine():
    """A SQLAlchemy engine for jupysql's %sql magic: `%sql engine` (no password in the notebook)."""
    return _backend().sql_engine()


# -- run records -----------------------------------------------------------------------------------
def _read_record(key: str):
    path = _k.run_dir / "records" / f"{key}.json" if _k.run_dir else None
    if path is None or not path.exists():
        return None
    return json.loads(path.read_text())


def record(key: str, value) -> None:
    """Keep a result for the run's summary.json (only in a batch run)."""
    if _k.run_dir is None:
        return
    (_k.run_dir / "records").mkdir(parents=True, exist_ok=True)
    (_k.run_dir / "records" / f"{key}.json").write_text(json.dumps(value, indent=2, default=str))
