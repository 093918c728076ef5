"""The Redshift backend: a provisioned Amazon Redshift cluster or Redshift Serverless (:mod:`sparkify.aws`).

The text of ``sql/`` goes to the warehouse as written, with parameters bound by psycopg2. A COPY
reads S3 natively; the report reads the files, loaded and rejected counts back from the SYS monitoring
views (``SYS_LOAD_HISTORY``, ``SYS_LOAD_ERROR_DETAIL``), which, unlike the STL tables, cover
concurrency scaling and work on Serverless. They are filtered to the COPY just run (this session, at or
after its start time), so an older load's rejects are never shown as the cause of a failure; a COPY that
fails before loading anything (access denied, missing prefix, bad JSONPaths) reports Redshift's own
message. A failed COPY is rolled back (the staging table stays as it was). COPY is never retried: a
retry after an unknown outcome could load twice; only establishing a connection is retried.

Connections (the pipeline's and ``%sql``'s, one factory): psycopg2 with ``sslmode=verify-full`` against
the Redshift CA bundle that the ``sqlalchemy-redshift`` package ships, a connect timeout, TCP
keepalives and a statement timeout. ``%sql`` uses that package's ``redshift+psycopg2`` SQLAlchemy
dialect, which does not ask the server for ``standard_conforming_strings`` (Redshift rejects it).
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import psycopg2

from ..config import redact, require
from ..copy import CopyError, EmptySource
from ..errors import WarehouseError
from .base import CONNECT_TIMEOUT_S, KEEPALIVES, Backend, StageReport

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

CONNECT_ATTEMPTS = 3
STATEMENT_TIMEOUT_MS = 60 * 60 * 1000  # no statement runs longer than an hour


@functools.lru_cache(maxsize=1)
def ca_bundle() -> str:
    """Redshift's certificate authorities (provisioned and Serverless), as shipped by sqlalchemy-redshift."""
    path = files("sqlalchemy_redshift").joinpath("redshift-ca-bundle.crt")
    return str(path)


class RedshiftBackend(Backend):
    name: ClassVar[str] = "redshift"

    # -- connections ------------------------------------------------------------------------------
    def connect(self):
        c = self.config
        host = require(c, "CLUSTER", "DWH_ENDPOINT")
        password = require(c, "CLUSTER", "DWH_DB_PASSWORD")
        # Connecting is the one thing retried (a cluster that just became available may refuse for
        # a moment); statements are not, since a retry after an unknown outcome could load twice.
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            try:
                conn = psycopg2.connect(host=host, port=c.cluster.port, dbname=c.cluster.db, user=c.cluster.db_user,
                                        password=password.reveal(), connect_timeout=CONNECT_TIMEOUT_S,
                                        sslmode="verify-full", sslrootcert=ca_bundle(),
                                        application_name="sparkify", **KEEPALIVES)
                break
            except psycopg2.OperationalError as err:
                if attempt == CONNECT_ATTEMPTS or "password authentication failed" in str(err):
                    raise WarehouseError(f"cannot connect to Redshift at {host}:{c.cluster.port} as "
                                         f"{c.cluster.db_user}: {redact(str(err)).strip()}") from None
                log.warning("connection to %s failed (attempt %d of %d), retrying", host, attempt, CONNECT_ATTEMPTS)
                time.sleep(2 * attempt)
        # SET, documented for Redshift, rather than libpq's startup options
        with conn.cursor() as cur:
            cur.execute(self.statement("redshift/set_statement_timeout"), {"milliseconds": STATEMENT_TIMEOUT_MS})
        conn.commit()
        return conn

    def sql_engine(self):
        import sqlalchemy

        # redshift+psycopg2 (sqlalchemy-redshift): a first connection asks nothing Redshift rejects.
        # Connections come from the factory above (TLS verified, timeouts, keepalives); Redshift has
        # no hstore, so the dialect is told not to look for it.
        return sqlalchemy.create_engine("redshift+psycopg2://", creator=self.connect, hide_parameters=True,
                                        use_native_hstore=False)

    # -- loading ------------------------------------------------------------------------------------
    def iam_role(self) -> str:
        return str(require(self.config, "DWH", "DWH_IAM_ROLE_ARN"))

    def copy(self, session, table: str, params: dict[str, Any], *, progress: bool,
             on_loaded: Callable[[StageReport], None] = lambda report: None) -> StageReport:
        started = time.perf_counter()
        source = params["log_data" if table == "staging_events" else "song_data"]
        mark: dict[str, Any] | None = None
        try:
            with session.transaction():
                session.execute(f"ddl/drop_{table}")
                session.execute(f"ddl/create_{table}")
                row = session.query("redshift/copy_started").iloc[0]
                mark = {"session_id": int(row["session_id"]), "started_at": _python(row["started_at"])}
                session.execute(f"copy/{table}", params)
                loaded = int(session.query("redshift/last_copy").iloc[0]["rows_loaded"])
                # SYS_LOAD_HISTORY has the COPY's row once it completes (system views are not
                # transactional), so the report is read, and on_loaded runs, inside the COPY's transaction
                history = session.query("redshift/copy_history", {**mark, "table_name": table})
                if history.empty:  # the SYS view had no row yet: report what is certain
                    log.warning("sys_load_history has no row yet for the COPY into %s", table)
                    report = StageReport(table, source, 0, loaded, loaded, 0, round(time.perf_counter() - started, 3),
                                         -1)
                else:
                    last = history.iloc[0]
                    query_id = int(last["query_id"])
                    rejected = int(session.query("redshift/copy_rejects", {"query": query_id}).iloc[0]["rows_rejected"])
                    report = StageReport(table, source, int(last["files"]), loaded + rejected, loaded, rejected,
                                         round(time.perf_counter() - started, 3), query_id)
                on_loaded(report)
        except psycopg2.Error as err:
            # Redshift: "The specified S3 prefix '<key>' does not exist" (error 8001)
            error = EmptySource if re.search(r"S3 prefix .*does not exist", str(err)) else CopyError
            raise error(f"COPY {table} from {source} failed on Redshift: {redact(str(err)).strip()}"
                        f"{self._failure_detail(session, mark)}") from None
        return report

    def _failure_detail(self, session, mark: dict[str, Any] | None) -> str:
        """What the failed COPY (and only it) rejected; or that it failed before loading anything."""
        if mark is None:  # the COPY never started: Redshift's message says it all
            return ""
        try:
            errors = session.query("redshift/copy_errors", mark)
        except psycopg2.Error:
            session.conn.rollback()
            return "\n(the rejected records could not be read from sys_load_error_detail)"
        if errors.empty:
            return ("\nNo record of this COPY was rejected: it failed before loading (Redshift's message above "
                    "is the cause; check the S3 prefix, the JSONPaths file, the region and the IAM role).")
        return "\nRecords this COPY rejected (sys_load_error_detail):\n" + redact(errors.to_string(index=False))

    def load_errors(self, session, query_id: int) -> pd.DataFrame:
        return session.query("redshift/load_error_detail", {"query": query_id})

    # -- lifecycle ----------------------------------------------------------------------------------
    def provision(self, *, create_cluster: bool = True, wait_minutes: int = 30) -> pd.DataFrame:
        """The IAM role, the security group and its rule, and the cluster or Serverless workgroup."""
        from .. import aws

        return aws.provision(self.config, create_cluster=create_cluster, wait_minutes=wait_minutes)

    def teardown(self, *, keep: bool = False, final_snapshot: bool = False) -> pd.DataFrame:
        """Delete the warehouse, its security group and the role that provisioning created."""
        from .. import aws

        return aws.teardown(self.config, delete_cluster=not keep, final_snapshot=final_snapshot)

    def still_running(self) -> str | None:
        from .. import aws

        return aws.still_running(self.config)

    def stop(self) -> str:
        return "nothing to stop: a Redshift warehouse is deleted by notebook 05 (teardown), not stopped"

    def status(self) -> pd.DataFrame:
        from .. import aws

        return aws.status(self.config)

    def is_reachable(self) -> bool:
        return bool(self.config.cluster.endpoint)

    def run_lock(self) -> Path:
        # runs from this workspace take turns; runs from other machines are the cluster owner's to plan
        from ..paths import WORKSPACE

        return WORKSPACE / f".redshift-{self.config.dwh.cluster_identifier}.run.lock"

    def location(self) -> str:
        c = self.config.cluster
        return f"{c.endpoint or '(not provisioned)'}:{c.port}/{c.db}"


def _python(value):
    """A pandas scalar as the plain Python value psycopg2 binds (Timestamp -> datetime)."""
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
