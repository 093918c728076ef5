"""Running the staging COPY on a real Redshift cluster.

The COPY text of ``sql/copy/`` goes to the cluster as written, with the source URIs, IAM role and
region bound as parameters. Redshift itself records rejects in ``stl_load_errors``; the report reads
the files, loaded and rejected counts back from the system tables. A failed COPY is rolled back (the
staging table stays as it was) and its error shows the rejected records. COPY is never retried: a
retry after an unknown outcome could load twice; only establishing a connection is retried.
"""

from __future__ import annotations

import time

import psycopg2

from .config import redact
from .copy import CopyError


def copy_on_redshift(session, table: str, copy_name: str, params: dict, started: float):
    from .pipeline import StageReport

    try:
        with session.transaction():
            session.execute(f"ddl/drop_{table}")
            session.execute(f"ddl/create_{table}")
            session.execute(copy_name, params)
            last = session.query("redshift/last_copy").iloc[0]
    except psycopg2.Error as err:
        detail = ""
        try:
            errors = session.query("redshift/recent_load_errors")
            if not errors.empty:
                detail = "\n" + errors.to_string(index=False)
        except psycopg2.Error:
            session.conn.rollback()
        raise CopyError(f"COPY {table} from {params.get('log_data' if table == 'staging_events' else 'song_data')} "
                        f"failed on Redshift: {redact(str(err)).strip()}{detail}") from None
    query_id = int(last["query_id"])
    files = int(session.query("redshift/copy_files", {"query": query_id}).iloc[0]["files"])
    rejected = int(session.query("redshift/copy_rejects", {"query": query_id}).iloc[0]["rows_rejected"])
    loaded = int(last["rows_loaded"])
    return StageReport(table, params.get("log_data" if table == "staging_events" else "song_data"), files,
                       loaded + rejected, loaded, rejected, round(time.perf_counter() - started, 3), query_id)
