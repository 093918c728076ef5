"""The pipeline steps: create tables, stage, transform, check, analyse.

Every step runs the statements of ``sql/`` through :class:`Session`, one transaction per step, and
asks the configured backend (:mod:`sparkify.backends`) for everything that differs between engines:
the text a file runs as, how a COPY is executed, where rejected records are read. A step that fails
rolls back, leaving the warehouse as it was.
"""

from __future__ import annotations

import contextlib

import pandas as pd
import psycopg2

from . import sqlfiles
from .backends import StageReport, backend_for
from .config import Config

STAGING_TABLES = ("staging_events", "staging_songs")
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")  # transform order: time reads songplays
ALL_TABLES = STAGING_TABLES + STAR_TABLES


class CheckFailed(AssertionError):
    """One or more data-quality checks returned rows."""

    def __init__(self, message: str, results: pd.DataFrame) -> None:
        super().__init__(message)
        self.results = results


class EmptySource(RuntimeError):
    """A COPY source that holds no record: the run would report success having loaded nothing."""


class Session:
    """One connection to the configured warehouse, running ``sql/`` files on either backend."""

    def __init__(self, config: Config, conn=None) -> None:
        self.config = config
        self.backend = backend_for(config)
        self.conn = conn or self.backend.connect()
        self._in_transaction = False

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

    def execute(self, name: str, params: dict | None = None) -> int:
        """Run one statement file; returns the number of rows it affected."""
        return self._run(name, params, fetch=False)

    def query(self, name: str, params: dict | None = None) -> pd.DataFrame:
        """Run one query file and return its rows."""
        return self._run(name, params, fetch=True)

    # -- steps ----------------------------------------------------------------------------------
    def create_tables(self) -> pd.DataFrame:
        """Drop and re-create all seven tables (one transaction)."""
        with self.transaction():
            for table in ALL_TABLES:
                self.execute(f"ddl/drop_{table}")
                self.execute(f"ddl/create_{table}")
            for name in self.backend.support_tables:
                self.execute(name)
        return self.table_counts()

    def stage(self, table: str, max_errors: int = 0, progress: bool = True, allow_empty: bool = False) -> StageReport:
        """Re-create one staging table and COPY its data into it (one transaction).

        A source that holds no record at all (every file empty) raises EmptySource unless
        ``allow_empty``: a load of nothing would otherwise pass every check and report success."""
        if table not in STAGING_TABLES:
            raise ValueError(f"{table!r} is not a staging table: choose one of {', '.join(STAGING_TABLES)}")
        report = self.backend.copy(self, table, self.backend.copy_params(max_errors), progress=progress)
        if report.rows_rejected:
            report.rejects = self.backend.load_errors(self, report.query_id)
        if report.records_read == 0 and not allow_empty:
            raise EmptySource(
                f"COPY {table} read 0 records from {report.source} ({report.files} file(s), all empty): "
                f"nothing was loaded. Check [S3] {'LOG_DATA' if table == 'staging_events' else 'SONG_DATA'} "
                f"in {self.config.source}; if an empty source is expected, allow it (notebook 02 parameter "
                f"allow_empty=True, or `sparkify run --allow-empty`).")
        return report

    def transform(self) -> pd.DataFrame:
        """Re-build the five star-schema tables from staging and run every check, in one transaction.

        A failed check rolls the whole step back (the star schema stays as it was) and raises
        CheckFailed naming each failed check with up to five sample rows.
        """
        with self.transaction():
            for table in STAR_TABLES:
                self.execute(f"ddl/drop_{table}")
                self.execute(f"ddl/create_{table}")
                self.execute(f"transform/{table}")
            results = self.run_checks(raise_on_failure=True)
        return results

    def run_checks(self, raise_on_failure: bool = True) -> pd.DataFrame:
        """Run every query of sql/checks/; zero rows = pass. Returns one row per check."""
        rows = []
        samples: dict[str, pd.DataFrame] = {}
        for check in sqlfiles.folder("checks"):
            found = self.query(check.name)
            rows.append({"check": check.stem, "status": "pass" if found.empty else "fail",
                         "failing_rows": len(found),
                         "what": check.purpose.removeprefix("Check: ")})
            if not found.empty:
                samples[check.stem] = found.head(5)
        results = pd.DataFrame(rows)
        if samples and raise_on_failure:
            parts = [f"{len(samples)} data-quality check(s) failed:"]
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
