"""The pipeline steps: create tables, stage, transform, check, analyse.

Every step runs the statements of ``sql/`` through :class:`Session`, one transaction per step: on
Redshift the text goes to the cluster as written; on the local backend each statement is
translated by :mod:`sparkify.dialect` and each COPY is executed by :mod:`sparkify.copy`.
A step that fails rolls back, leaving the warehouse as it was.
"""

from __future__ import annotations

import contextlib
import functools
import time
from dataclasses import dataclass, field

import pandas as pd

from . import sqlfiles
from .config import Config, require
from .copy import CopyError, Storage, execute_copy, record_load_errors
from .dialect import to_postgres
from .warehouse import connect

STAGING_TABLES = ("staging_events", "staging_songs")
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")  # transform order: time reads songplays
ALL_TABLES = STAGING_TABLES + STAR_TABLES
LOCAL_IAM_ROLE = "arn:aws:iam::000000000000:role/sparkify-local"  # accepted and ignored by the emulator


class CheckFailed(AssertionError):
    """One or more data-quality checks returned rows."""

    def __init__(self, message: str, results: pd.DataFrame) -> None:
        super().__init__(message)
        self.results = results


@dataclass
class StageReport:
    table: str
    source: str
    files: int
    records_read: int
    rows_loaded: int
    rows_rejected: int
    seconds: float
    query_id: int
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)


class Session:
    """One connection to the configured warehouse, running ``sql/`` files on either backend."""

    def __init__(self, config: Config, conn=None) -> None:
        self.config = config
        self.conn = conn or connect(config)
        self.local = config.backend == "local"
        self._in_transaction = False
        self._storage: Storage | None = None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            aws = self.config.aws
            self._storage = Storage(aws.endpoint_url, self.config.s3.region, aws.key.reveal(), aws.secret.reveal())
        return self._storage

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
            self.conn.rollback()
            raise
        finally:
            self._in_transaction = False

    def _run(self, name: str, params: dict | None, fetch: bool):
        """One statement file on this backend. Outside a step's transaction it is a transaction of
        its own: committed when it succeeds, rolled back when it fails."""
        try:
            with self.conn.cursor() as cur:
                cur.execute(_cached_text(name, self.local), params or {})
                result = (pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description]) if fetch
                          else cur.rowcount)
        except Exception:
            if not self._in_transaction:
                self.conn.rollback()
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
            if self.local:
                self.execute("emulator/create_stl_load_errors")
        return self.table_counts()

    def copy_params(self, max_errors: int) -> dict:
        s3 = self.config.s3
        role = self.config.dwh.iam_role_arn or (LOCAL_IAM_ROLE if self.local else "")
        if not role:
            require(self.config, "DWH", "DWH_IAM_ROLE_ARN")
        return {"log_data": s3.log_data, "song_data": s3.song_data, "log_jsonpath": s3.log_jsonpath,
                "region": s3.region, "iam_role": role, "max_errors": int(max_errors)}

    def stage(self, table: str, max_errors: int = 0, progress: bool = True) -> StageReport:
        """Re-create one staging table and COPY its data into it (one transaction)."""
        if table not in STAGING_TABLES:
            raise ValueError(f"{table!r} is not a staging table: choose one of {', '.join(STAGING_TABLES)}")
        started = time.perf_counter()
        params = self.copy_params(max_errors)
        copy_name = f"copy/{table}"
        if self.local:
            text = sqlfiles.load(copy_name).render(params)
            try:
                with self.transaction():
                    self.execute(f"ddl/drop_{table}")
                    self.execute(f"ddl/create_{table}")
                    self.execute("emulator/create_stl_load_errors")
                    result = execute_copy(self.conn, text, self.storage, progress=progress,
                                          where=str(sqlfiles.load(copy_name).path))
            except CopyError as err:
                if err.result is not None:  # rejected records outlive the rolled-back load, as in Redshift
                    with self.transaction():
                        self.execute("emulator/create_stl_load_errors")
                        record_load_errors(self.conn, err.result)
                raise
            report = StageReport(table, result.source, result.files, result.records_read, result.rows_loaded,
                                 result.rows_rejected, round(time.perf_counter() - started, 3), result.query_id)
        else:
            from .redshift import copy_on_redshift

            report = copy_on_redshift(self, table, copy_name, params, started)
        if report.rows_rejected:
            report.rejects = self.query("status/load_errors", {"query": report.query_id})
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


@functools.cache
def _cached_text(name: str, local: bool) -> str:
    """A statement as the backend runs it: as written on Redshift, translated once for the local one."""
    text = sqlfiles.load(name).text
    return to_postgres(text, name) if local else text
