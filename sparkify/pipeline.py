"""The pipeline steps: create tables, stage, transform, check, analyse.

Every step runs the statements of ``sql/`` through :class:`Session`, one transaction per step, and
asks the configured backend (:mod:`sparkify.backends`) for everything that differs between engines:
the text a file runs as, how a COPY is executed, where rejected records are read. A step that fails
rolls back, leaving the warehouse as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time

import pandas as pd
import psycopg2

from . import sqlfiles
from .backends import StageReport, backend_for
from .config import Config
from .copy import EmptySource

STAGING_TABLES = ("staging_events", "staging_songs")
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")
ALL_TABLES = STAGING_TABLES + STAR_TABLES  # the seven tables of the brief, counted in every summary
BOOKKEEPING_TABLES = ("load_log", "staging_log")  # which days are loaded; what the last COPY staged
# The transform's upserts in order (each one transaction with the checks): songs before songplays,
# whose artist_id comes from songs; stage_plays and stage_song_keys (the match keys of plays and
# songs, computed once) before what reads them. Each table is analysed once it is filled, so that
# the later statements and the checks are planned on its new size (hash joins, no spill).
# stage_days counts the staged plays per day before the upsert replaces any, for load_log's accounting.
UPSERTS = ("songs_replace_staged", "songs", "analyze_songs", "artists_replace_staged", "artists",
           "stage_plays_drop", "stage_plays", "stage_plays_analyze", "stage_song_keys_drop", "stage_song_keys",
           "stage_song_keys_analyze", "stage_days_drop", "stage_days", "songplays_replace_staged", "songplays",
           "analyze_songplays", "users_replace_newer", "users", "analyze_users", "time", "analyze_time",
           "analyze_artists", "load_log_count_days", "load_log_add_days")
# A full load empties every star table and load_log first (transform/clear_*, same transaction), so
# nothing can be replaced: it skips the replace steps and counts its days without looking songplays up.
FULL_LOAD = tuple({"stage_days": "stage_days_full_load"}.get(step, step) for step in UPSERTS
                  if "_replace_" not in step)
# The daily load's steps that delete the rows it stages again (each star table's INSERT step is named
# after the table): with the INSERT's row count they give the rows added and updated, without a COUNT(*)
# of any table before and after (two scans of songplays and time, which grow with every day loaded).
REPLACES = {"songs_replace_staged": "songs", "artists_replace_staged": "artists",
            "songplays_replace_staged": "songplays", "users_replace_newer": "users"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _first_rows(rows: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    """The first n rows in the order of their values: a check returns its rows in the engine's order, which
    parallel plans vary from run to run, and a failed check's sample should not."""
    try:
        return rows.sort_values(list(rows.columns), na_position="last", kind="stable").head(n)
    except (TypeError, ValueError):  # values that do not compare, or repeated column names: as returned
        return rows.head(n)


class CheckFailed(AssertionError):
    """One or more data-quality checks returned rows."""

    def __init__(self, message: str, results: pd.DataFrame) -> None:
        super().__init__(message)
        self.results = results


class SchemaMismatch(RuntimeError):
    """A table in the warehouse does not have the columns its DDL in sql/ddl/ defines."""


def parse_run_date(value: str) -> dt.date:
    """A run date as YYYY-MM-DD, or a ValueError saying what a valid one looks like."""
    if not _DATE.match(str(value)):
        raise ValueError(f"run_date {value!r}: not a date; a valid value looks like 2018-11-30 (or empty for a "
                         f"full load)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"run_date {value!r}: no such day; a valid value looks like 2018-11-30") from None


def ddl_columns(table: str) -> list[str]:
    """The column names that sql/ddl/create_<table>.sql defines, in order (parsed with sqlglot)."""
    from sqlglot import exp

    from .dialect import parse_redshift

    sql_file = sqlfiles.load(f"ddl/create_{table}")
    schema = parse_redshift(sql_file.text, str(sql_file.path)).this
    return [col.name for col in schema.expressions if isinstance(col, exp.ColumnDef)]


class Session:
    """One connection to the configured warehouse, running ``sql/`` files on either backend."""

    def __init__(self, config: Config, conn=None) -> None:
        self.config = config
        self.backend = backend_for(config)
        self.conn = conn or self.backend.connect()
        self._in_transaction = False
        self.changes: dict[str, dict[str, int]] = {}  # rows added and updated per table by the last transform

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self):
        """One transaction: committed when the block ends, rolled back if it raises. Outside such a
        block every statement is a transaction of its own (no lock outlives the call)."""
        self.conn.rollback()  # start clean whatever an interactive user did before
        self._in_transaction = True
        try:
            yield self
            self.conn.commit()
        except BaseException:
            self._rollback()
            raise
        finally:
            self._in_transaction = False

    def _rollback(self) -> None:
        """Roll back, unless the connection is gone (the server then rolled back itself): the error
        that ended the transaction is the one to report, not "connection already closed"."""
        if not self.conn.closed:
            with contextlib.suppress(psycopg2.OperationalError, psycopg2.InterfaceError):
                self.conn.rollback()

    def _run(self, name: str, params: dict | None, fetch: bool):
        """One statement file on this backend. Outside a step's transaction it is a transaction of
        its own: committed when it succeeds, rolled back when it fails."""
        try:
            with self.conn.cursor() as cur:
                cur.execute(self.backend.statement(name), params or {})
                result = (pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description]) if fetch
                          else cur.rowcount)
        except Exception:
            if not self._in_transaction:
                self._rollback()
            raise
        if not self._in_transaction:
            self.conn.commit()
        return result

    def query_text(self, text: str) -> pd.DataFrame:
        """One query given as Redshift SQL text (``sparkify sql``), in a transaction of its own that
        is rolled back: a query reads, it never changes the warehouse."""
        from sqlglot import exp

        from .dialect import parse_redshift

        if not isinstance(parse_redshift(text, "the query"), exp.Query):  # one statement, and a query
            raise ValueError("not a query: `sparkify sql` runs one SELECT (or UNION ...) and changes nothing")
        with self.conn.cursor() as cur:
            try:
                cur.execute(self.backend.translate(text, "the query"))
                return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])
            finally:
                self.conn.rollback()

    def execute(self, name: str, params: dict | None = None) -> int:
        """Run one statement file; returns the number of rows it affected."""
        return self._run(name, params, fetch=False)

    def query(self, name: str, params: dict | None = None) -> pd.DataFrame:
        """Run one query file and return its rows."""
        return self._run(name, params, fetch=True)

    # -- steps ----------------------------------------------------------------------------------
    def create_tables(self) -> pd.DataFrame:
        """Drop and re-create every table, star schema included: all data is lost (one transaction).
        Notebook 01 does this only when asked (reset); runs otherwise call :meth:`ensure_tables`."""
        with self.transaction():
            for table in ALL_TABLES + BOOKKEEPING_TABLES:
                self.execute(f"ddl/drop_{table}")
                self.execute(f"ddl/create_{table}")
            for name in self.backend.support_tables:
                self.execute(name)
        return self.table_counts()

    def ensure_tables(self) -> pd.DataFrame:
        """Create the tables that are missing and keep every existing one with its data (one
        transaction). A table whose columns differ from its DDL in sql/ddl/ is an error that says
        how to re-create it."""
        with self.transaction():
            for table in ALL_TABLES + BOOKKEEPING_TABLES:
                self.execute(f"ddl/create_{table}")
                expected = ddl_columns(table)
                found = list(self.query("status/table_columns", {"table_name": table})["column_name"])
                if found != expected:
                    raise SchemaMismatch(
                        f"table {table} has the columns ({', '.join(found)}) but sql/ddl/create_{table}.sql "
                        f"defines ({', '.join(expected)}): re-create the tables with notebook 01 and "
                        f"reset=True, or `sparkify run --reset` (their data is lost; reload it)")
            for name in self.backend.support_tables:
                self.execute(name)
        return self.table_counts()

    def stage(self, table: str, max_errors: int = 0, progress: bool = True, *, run_date: str = "",
              allow_empty: bool = False, when_changed: bool = False) -> StageReport:
        """Re-create one staging table and COPY its data into it (one transaction), and record the
        COPY's counts in staging_log. With ``run_date`` (YYYY-MM-DD) the events are that day's only:
        the same COPY text, with the day's key prefix ``LOG_DATA/YYYY/MM/YYYY-MM-DD``. A prefix with
        no file is an error naming it, and nothing changes; with ``allow_empty`` it stages nothing
        (a day without traffic).

        ``when_changed`` (the song catalog only): keep staging_songs as it is, without a COPY, when
        the files under SONG_DATA are those the last COPY read (same keys, sizes and versions, see
        :meth:`sparkify.copy.Storage.fingerprint`), the table still holds the rows it loaded, and
        that COPY rejected no more than ``max_errors``. The report then carries the kept COPY's
        counts and ``kept_from``, when it ran."""
        if table not in STAGING_TABLES:
            raise ValueError(f"{table!r} is not a staging table: choose one of {', '.join(STAGING_TABLES)}")
        started = time.perf_counter()
        params = self.backend.copy_params(max_errors)
        if run_date and table == "staging_events":
            day = parse_run_date(run_date)
            params["log_data"] = f"{params['log_data'].rstrip('/')}/{day:%Y/%m/%Y-%m-%d}"
        fingerprint = None
        if table == "staging_songs":
            listed = self.backend.source_fingerprint(params["song_data"])
            fingerprint = listed[1] if listed else None
            if when_changed and listed is not None:
                kept = self._unchanged_catalog(params["song_data"], listed, int(max_errors))
                if kept is not None:
                    kept.seconds = round(time.perf_counter() - started, 3)
                    return kept

        def record(report: StageReport) -> None:
            if report.records_read == 0 and not allow_empty:  # raised inside the COPY's transaction: undone
                raise EmptySource(
                    f"COPY {table} read 0 records from {report.source} ({report.files} file(s), all empty): "
                    f"nothing was loaded. Check [S3] {'LOG_DATA' if table == 'staging_events' else 'SONG_DATA'} "
                    f"in {self.config.source}; if an empty source is expected, allow it (notebook 02 parameter "
                    f"allow_empty=True, or `sparkify run --allow-empty`).")
            self.execute("stage/forget_staging_log", {"table_name": table})
            self.execute("stage/record_staging_log", {
                "table_name": table, "source": report.source, "files": report.files,
                "records_read": report.records_read, "rows_loaded": report.rows_loaded,
                "rows_rejected": report.rows_rejected, "fingerprint": fingerprint})

        try:
            report = self.backend.copy(self, table, params, progress=progress, on_loaded=record)
        except EmptySource:
            if not allow_empty:
                raise
            report = StageReport(table, params["log_data" if table == "staging_events" else "song_data"],
                                 0, 0, 0, 0, 0.0, -1)
            with self.transaction():
                self.execute(f"ddl/drop_{table}")
                self.execute(f"ddl/create_{table}")
                record(report)
            return report
        if report.rows_rejected:
            report.rejects = self.backend.load_errors(self, report.query_id)
        return report

    def _unchanged_catalog(self, source: str, listed: tuple[int, str], max_errors: int) -> StageReport | None:
        """The last COPY of the catalog, when staging_songs still holds what it loaded from files
        unchanged since (else None: copy again)."""
        last = self.query("status/staged_catalog")
        if last.empty:
            return None
        row = last.iloc[0]
        files, digest = listed
        if (row["source"] != source or row["fingerprint"] != digest or int(row["files"]) != files
                or int(row["rows_held"]) != int(row["rows_loaded"]) or int(row["rows_rejected"]) > max_errors):
            return None
        return StageReport("staging_songs", source, files, int(row["records_read"]), int(row["rows_loaded"]),
                           int(row["rows_rejected"]), 0.0, -1, kept_from=str(row["staged_at"]))

    def transform(self, run_date: str = "") -> pd.DataFrame:
        """Merge the staged data into the star schema and run every check, in one transaction.

        A full load (no ``run_date``) replaces the star schema's contents with what staging holds; a
        daily load (``run_date``, YYYY-MM-DD) upserts the day: the plays it stages replace their rows
        of an earlier load (same songplay_id), users keep the level of their latest event, the
        catalog is upserted, and the day is recorded in load_log. Days can come in any order and be
        re-run. A failed check rolls the whole step back (the star schema stays as it was) and
        raises CheckFailed naming each failed check with up to five sample rows. Returns the check
        results; :attr:`changes` holds the rows added and updated per table.
        """
        day = parse_run_date(run_date) if run_date else None
        with self.transaction():
            self._check_staged(day)
            self.backend.prepare_transform(self)
            inserted: dict[str, int] = dict.fromkeys(STAR_TABLES, 0)
            replaced: dict[str, int] = dict.fromkeys(STAR_TABLES, 0)
            if day is None:
                # a full load replaces every row: counted first, as its clear reports no count locally
                # (the local backend runs it as a TRUNCATE)
                replaced = self._star_counts()
                for table in (*STAR_TABLES, "load_log"):
                    self.execute(f"transform/clear_{table}")
            for step in UPSERTS if day is not None else FULL_LOAD:
                rows = self.execute(f"transform/{step}")
                if step in inserted:
                    inserted[step] = rows
                elif step in REPLACES:
                    replaced[REPLACES[step]] = rows
            if day is not None:
                self.execute("transform/load_log_add_run_date", {"run_date": day.isoformat()})
                self.execute("transform/load_log_copy_counts", {"run_date": day.isoformat()})
            results = self.run_checks(raise_on_failure=True)
        # a table grew by what its INSERT step added less what its replace step (or a full load's clear)
        # deleted; the deleted rows are those staged again: updated, as before they were counted
        self.changes = {t: {"added": inserted[t] - replaced[t], "updated": replaced[t]} for t in STAR_TABLES}
        return results

    def _check_staged(self, day: dt.date | None) -> None:
        """staging_events must hold what this transform is about to merge: the day's prefix for a
        daily load, the whole LOG_DATA prefix for a full load (checked when staging_log knows)."""
        staged = self.query("status/staged_events_source")
        if staged.empty:
            return
        source = str(staged.iloc[0]["source"]).rstrip("/")
        full = self.config.s3.log_data.rstrip("/")
        expected = f"{full}/{day:%Y/%m/%Y-%m-%d}" if day else full
        if source != expected:
            raise ValueError(f"staging_events holds {source}, not {expected}: stage "
                             f"{'that day' if day else 'every day'} first (notebook 02 with run_date = "
                             f"{day.isoformat() if day else 'empty'})")

    def _star_counts(self) -> dict[str, int]:
        counts = self.query("status/star_row_counts")
        return {row.table_name: int(row.row_count) for row in counts.itertuples()}

    def run_checks(self, raise_on_failure: bool = True) -> pd.DataFrame:
        """Run every query of sql/checks/; zero rows = pass. Returns one row per check, in name order
        (a file may hold several checks of one table, each a column of its rows: SqlFile.checks)."""
        rows = []
        samples: dict[str, pd.DataFrame] = {}
        for check_file in sqlfiles.folder("checks"):
            found = self.query(check_file.name)
            names = [name for name, _ in check_file.checks]
            for name, what in check_file.checks:
                failing = found
                if len(names) > 1:  # the rows that break this one, without the other checks' columns
                    broken = found[name].fillna(False).astype(bool) if name in found else found.index < 0
                    failing = found[broken].drop(columns=[n for n in names if n in found])
                rows.append({"check": name, "status": "pass" if failing.empty else "fail",
                             "failing_rows": len(failing), "what": what})
                if not failing.empty:
                    samples[name] = _first_rows(failing)
        results = pd.DataFrame(rows).sort_values("check", ignore_index=True)
        samples = dict(sorted(samples.items()))
        if samples and raise_on_failure:
            parts = [f"{len(samples)} data-quality check(s) failed: {', '.join(samples)}"]
            for name, sample in samples.items():
                count = int(results.loc[results["check"] == name, "failing_rows"].iloc[0])
                parts.append(f"- {name} ({count} row(s)); sample:\n{sample.to_string(index=False)}")
            raise CheckFailed("\n".join(parts), results)
        return results

    def table_counts(self) -> pd.DataFrame:
        return self.query("status/table_row_counts")

    def resolved_songplays(self) -> dict:
        row = self.query("status/resolved_songplays").iloc[0]
        return {"songplays": int(row["songplays"]), "resolved_songplays": int(row["resolved_songplays"])}

    def analysis(self, name: str, **params) -> pd.DataFrame:
        return self.query(f"analysis/{name}", params)
