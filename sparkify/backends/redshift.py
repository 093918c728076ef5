"""The Redshift backend: a provisioned Amazon Redshift cluster (:mod:`sparkify.aws`).

The text of ``sql/`` goes to the cluster as written, with parameters bound by psycopg2. A COPY
reads S3 natively; the report reads the files, loaded and rejected counts back from the system
tables. A failed COPY is rolled back (the staging table stays as it was) and its error shows the
rejected records. COPY is never retried: a retry after an unknown outcome could load twice; only
establishing a connection is retried.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, ClassVar

import pandas as pd
import psycopg2

from ..config import redact, require
from ..copy import CopyError, EmptySource
from ..errors import WarehouseError
from .base import CONNECT_TIMEOUT_S, KEEPALIVES, Backend, StageReport

log = logging.getLogger(__name__)

CONNECT_ATTEMPTS = 3
STATEMENT_TIMEOUT_MS = 60 * 60 * 1000  # no statement runs longer than an hour


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
                return psycopg2.connect(host=host, port=c.cluster.port, dbname=c.cluster.db, user=c.cluster.db_user,
                                        password=password.reveal(), connect_timeout=CONNECT_TIMEOUT_S,
                                        sslmode="require", application_name="sparkify",
                                        options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}", **KEEPALIVES)
            except psycopg2.OperationalError as err:
                if attempt == CONNECT_ATTEMPTS or "password authentication failed" in str(err):
                    raise WarehouseError(f"cannot connect to Redshift at {host}:{c.cluster.port} as "
                                               f"{c.cluster.db_user}: {redact(str(err)).strip()}") from None
                log.warning("connection to %s failed (attempt %d of %d), retrying", host, attempt, CONNECT_ATTEMPTS)
                time.sleep(2 * attempt)
        raise AssertionError("unreachable")

    def sql_engine(self):
        import sqlalchemy

        return sqlalchemy.create_engine("postgresql+psycopg2://", creator=self.connect, hide_parameters=True)

    # -- loading ------------------------------------------------------------------------------------
    def iam_role(self) -> str:
        return str(require(self.config, "DWH", "DWH_IAM_ROLE_ARN"))

    def copy(self, session, table: str, params: dict[str, Any], *, progress: bool,
             on_loaded: Callable[[StageReport], None] = lambda report: None) -> StageReport:
        started = time.perf_counter()
        source = params["log_data" if table == "staging_events" else "song_data"]
        try:
            with session.transaction():
                session.execute(f"ddl/drop_{table}")
                session.execute(f"ddl/create_{table}")
                session.execute(f"copy/{table}", params)
                last = session.query("redshift/last_copy").iloc[0]
                query_id = int(last["query_id"])
                files = int(session.query("redshift/copy_files", {"query": query_id}).iloc[0]["files"])
                rejected = int(session.query("redshift/copy_rejects", {"query": query_id}).iloc[0]["rows_rejected"])
                loaded = int(last["rows_loaded"])
                report = StageReport(table, source, files, loaded + rejected, loaded, rejected,
                                     round(time.perf_counter() - started, 3), query_id)
                on_loaded(report)
        except psycopg2.Error as err:
            detail = ""
            try:
                errors = session.query("redshift/recent_load_errors")
                if not errors.empty:
                    detail = "\n" + errors.to_string(index=False)
            except psycopg2.Error:
                session.conn.rollback()
            error = EmptySource if "prefix does not exist" in str(err) else CopyError
            raise error(f"COPY {table} from {source} failed on Redshift: {redact(str(err)).strip()}"
                        f"{detail}") from None
        return report

    # -- lifecycle ----------------------------------------------------------------------------------
    def provision(self, *, create_cluster: bool = True, wait_minutes: int = 30) -> pd.DataFrame:
        """The IAM role, the ingress rule and the cluster (created or reused)."""
        from .. import aws

        return aws.provision(self.config, create_cluster=create_cluster, wait_minutes=wait_minutes)

    def teardown(self, *, keep: bool = False, final_snapshot: bool = False) -> pd.DataFrame:
        """Delete the cluster, the role and the ingress rule that provisioning created."""
        from .. import aws

        return aws.teardown(self.config, delete_cluster=not keep, final_snapshot=final_snapshot)

    def stop(self) -> str:
        return "nothing to stop: a Redshift cluster is deleted by notebook 05 (teardown), not stopped"

    def status(self) -> pd.DataFrame:
        from .. import aws

        return aws.status(self.config)

    def is_reachable(self) -> bool:
        return bool(self.config.cluster.endpoint)

    def location(self) -> str:
        c = self.config.cluster
        return f"{c.endpoint or '(not provisioned)'}:{c.port}/{c.db}"
