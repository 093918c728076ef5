"""The local backend: an embedded PostgreSQL server (:mod:`sparkify.warehouse`) that runs the
Redshift SQL of ``sql/`` translated by :mod:`sparkify.dialect`, and executes each COPY statement
through the local COPY emulator (:mod:`sparkify.copy`), with Redshift's semantics and its
``stl_load_errors`` table."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .. import copy as copyemu
from .. import sqlfiles
from ..atomicfile import atomic_write
from ..errors import DiskWriteError
from ..warehouse import LocalWarehouse
from .base import Backend, StageReport, status_frame

if TYPE_CHECKING:
    import pandas as pd

IAM_ROLE = "arn:aws:iam::000000000000:role/sparkify-local"  # accepted and ignored by the emulator
# The transform's work_mem: a share of what staging holds, within bounds (or the share of the star
# schema below, if larger: its checks read all of it). Its largest operations hash every staged play
# (time.sql's distinct start times, songplays.sql's match) or sort their ids (the primary key check);
# every hash may use hash_mem_multiplier (2) times work_mem.
WORK_MEM_SHARE = 1 / 2
WORK_MEM_MB = (64, 1536)
# Every connection's work_mem (the analysis queries, the checks, %sql): a share of what songplays and
# time hold, within the same bounds. The checks' sorts of every songplay_id or start_time (COUNT
# DISTINCT) need about an eighth of the two tables' bytes, the largest hash (time's start_time and
# hour, for the join to songplays) about a fifth, and every hash may use hash_mem_multiplier (2)
# times work_mem: a quarter leaves the sorts twice the room they need.
SESSION_WORK_MEM_SHARE = 1 / 4
# Every connection's temp_buffers, the memory its temporary tables are kept in before they go to disk:
# a share of what staging holds, as the transform's stage_plays (the staged plays, keyed; written
# once, read four times) takes about two thirds of staging_events' bytes. PostgreSQL allocates it only
# as temporary tables fill it (default 8MB). At most 1.5 GB, or an eighth of the machine's memory if
# more: past the bound every read of stage_plays goes through the operating system (at 10M events,
# 1.9 GB of them: a 3 GB bound took the transform from 51.0 s to 44.9 s).
TEMP_BUFFERS_SHARE = 3 / 4
TEMP_BUFFERS_RAM_SHARE = 1 / 8


def _physical_memory() -> int:
    """The machine's memory in bytes (0 where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


TEMP_BUFFERS_MB = (8, max(1536, int(_physical_memory() * TEMP_BUFFERS_RAM_SHARE) >> 20))
# The transform's parallel_tuple_cost (default 0.1): low enough that stage_plays (CREATE TEMP TABLE ... AS,
# the one write of the transform PostgreSQL may compute on parallel workers; an INSERT ... SELECT it never
# does) computes its ids on two workers and the leader: 3.9 s -> 2.5 s of a 3M-event full load's 13.5 s
# transform. It holds for the whole transaction, so some checks run on parallel workers too (their sorts
# split in three; the checks took 3.27 s instead of 3.31, median of 3). The staged rows interleave by chunks
# of staging (64 blocks at 3M events), minutes of plays apart and in an order that varies from run to run,
# so songplays stays nearly in time order for its zone map (a day's range read 3,072 of 62,295 blocks).
TRANSFORM_PARALLEL_TUPLE_COST = "0.01"
# How long the transform waits for a lock: a full load empties the star tables with TRUNCATE locally
# (sparkify/dialect.py), which waits for any session that holds one of them.
LOCK_TIMEOUT = "60s"


def _work_mem_mb(size: int, share: float, bounds: tuple[int, int] = WORK_MEM_MB) -> int:
    low, high = bounds
    return min(high, max(low, int(size * share) >> 20))


@functools.lru_cache(maxsize=512)
def _translated(text: str, where: str, keep_in: Path | None = None, zone_maps: bool = True) -> str:
    """Keyed by the text itself, so an edited file is translated again. Translations are also kept
    as files in ``keep_in`` (the warehouse's folder), named by a hash of the text and of the
    translator (sqlglot's version, sparkify/dialect.py): each notebook runs in a new kernel
    process, and parsing the SQL it runs again there took 0.36 s of notebook 03's 0.43 s of CPU."""
    key = hashlib.sha256((_translator() + str(zone_maps) + text).encode()).hexdigest()
    kept = keep_in / f"{key}.sql" if keep_in else None
    if kept is not None:
        with contextlib.suppress(OSError):
            return kept.read_text(encoding="utf-8")
    from ..dialect import to_postgres  # sqlglot: imported only where something is to be translated

    translated = to_postgres(text, where, zone_maps)
    if kept is not None and keep_in.parent.is_dir():  # never creates the warehouse's folder itself
        with contextlib.suppress(OSError, DiskWriteError):  # a translation not kept is made again
            keep_in.mkdir(exist_ok=True)
            atomic_write(kept, translated)
    return translated


@functools.cache
def _translator() -> str:
    """What a translation depends on besides the text: sqlglot's version and our dialect rules."""
    import importlib.util

    sqlglot = Path(importlib.util.find_spec("sqlglot").origin)  # its __init__.py; the version beside it
    version = sqlglot.with_name("_version.py") if sqlglot.with_name("_version.py").exists() else sqlglot
    dialect = Path(__file__).resolve().parent.parent / "dialect.py"
    return hashlib.sha256(version.read_bytes() + dialect.read_bytes()).hexdigest() + "\n"


class LocalBackend(Backend):
    name: ClassVar[str] = "local"
    support_tables: ClassVar[tuple[str, ...]] = ("emulator/create_stl_load_errors",)

    def __init__(self, config) -> None:
        super().__init__(config)
        self.warehouse = LocalWarehouse(config.local.data_dir, config.dwh.db)

    # -- connections ------------------------------------------------------------------------------
    def connect(self):
        """Starts the server on first use; reuses a running one. The connection's work_mem is sized
        from the star schema's bytes (SESSION_WORK_MEM_SHARE), so that queries never spill, and its
        temp_buffers from the staged bytes (TEMP_BUFFERS_SHARE), for the transform's temporary tables."""
        if not self.warehouse.is_running():
            self.warehouse.start()
        conn = self.warehouse.connect()
        with conn.cursor() as cur:
            cur.execute(self.statement("emulator/data_bytes"))
            staging_bytes, star_bytes = (int(size or 0) for size in cur.fetchone())
            cur.execute(self.statement("emulator/set_session_memory"), {
                "work_mem": f"{_work_mem_mb(star_bytes, SESSION_WORK_MEM_SHARE)}MB",
                "temp_buffers": f"{_work_mem_mb(staging_bytes, TEMP_BUFFERS_SHARE, TEMP_BUFFERS_MB)}MB"})
        conn.commit()
        return conn

    def sql_engine(self):
        import sqlalchemy

        # postgresql+psycopg2: with SQLAlchemy 2.1 plain postgresql:// means psycopg 3. The URL holds
        # no host, so nothing local is printed; connections come from the one factory above.
        return sqlalchemy.create_engine("postgresql+psycopg2://", creator=self.connect)

    # -- SQL ----------------------------------------------------------------------------------------
    def statement(self, name: str) -> str:
        sql_file = sqlfiles.load(name)
        # the staging tables get no zone map (BRIN index): every COPY replaces them, every query reads
        # them whole, and autovacuum would read all their pages after each COPY to summarize it
        return _translated(sql_file.text, str(sql_file.path), self.warehouse.data_dir / "translated-sql",
                           zone_maps=not name.startswith("ddl/create_staging_"))

    def translate(self, text: str, where: str) -> str:
        return _translated(text, where, self.warehouse.data_dir / "translated-sql")

    # -- loading ------------------------------------------------------------------------------------
    def iam_role(self) -> str:
        return self.config.dwh.iam_role_arn or IAM_ROLE

    def copy(self, session, table: str, params: dict[str, Any], *, progress: bool,
             on_loaded: Callable[[StageReport], None] = lambda report: None) -> StageReport:
        started = time.perf_counter()
        sql_file = sqlfiles.load(f"copy/{table}")
        text = sql_file.render(params)
        try:
            with session.transaction():
                session.execute(f"ddl/drop_{table}")
                session.execute(f"ddl/create_{table}")
                for name in self.support_tables:
                    session.execute(name)
                result = copyemu.execute_copy(session.conn, text, self.storage, progress=progress,
                                              where=str(sql_file.path), new_table=True)
                report = StageReport(table, result.source, result.files, result.records_read, result.rows_loaded,
                                     result.rows_rejected, round(time.perf_counter() - started, 3), result.query_id)
                on_loaded(report)
        except copyemu.CopyError as err:
            if err.result is not None:  # rejected records outlive the rolled-back load, as in Redshift
                with session.transaction():
                    for name in self.support_tables:
                        session.execute(name)
                    copyemu.record_load_errors(session.conn, err.result)
            raise
        return report

    def prepare_transform(self, session) -> None:
        """work_mem sized from the staged bytes (and the star schema's, for the checks), for the
        transform's transaction only, so that its joins, aggregates and sorts never spill to temp files;
        and a parallel_tuple_cost that lets stage_plays be computed on parallel workers."""
        sizes = session.query("emulator/data_bytes").iloc[0]
        staged, star = int(sizes["staging_bytes"] or 0), int(sizes["star_bytes"] or 0)  # the checks read all the star
        megabytes = max(_work_mem_mb(staged, WORK_MEM_SHARE), _work_mem_mb(star, SESSION_WORK_MEM_SHARE))
        session.query("emulator/set_work_mem", {"work_mem": f"{megabytes}MB"})
        session.query("emulator/set_lock_timeout", {"lock_timeout": LOCK_TIMEOUT})
        session.query("emulator/set_parallel_tuple_cost", {"parallel_tuple_cost": TRANSFORM_PARALLEL_TUPLE_COST})

    # -- lifecycle ----------------------------------------------------------------------------------
    def provision(self, *, create_cluster: bool = True, wait_minutes: int = 30) -> pd.DataFrame:
        """Start the embedded PostgreSQL and write the sample data lake if it is missing."""
        rows = [("warehouse", "running", str(self.warehouse.start()))]
        if self.config.uses_sample_data:
            from ..generate import ensure_sample_lake

            local = self.config.local
            manifest = ensure_sample_lake(local.sample_dir, local.sample_preset, local.sample_seed)
            rows.append(("sample data", "ready",
                         f"{local.sample_preset} preset: {manifest['events']:,} events in {manifest['log_files']} "
                         f"log files, {manifest['song_files']:,} song files, in {local.sample_dir}"))
        return status_frame(rows)

    def teardown(self, *, keep: bool = False, final_snapshot: bool = False) -> pd.DataFrame:
        """Stop the server; its data stays on disk for the next run."""
        if keep:
            return status_frame([("warehouse", "left running", str(self.warehouse.data_dir))])
        return status_frame([("warehouse", self.stop(), str(self.warehouse.data_dir))])

    def stop(self) -> str:
        return "stopped" if self.warehouse.stop() else "was not running"

    def status(self) -> pd.DataFrame:
        state = self.warehouse.status()
        return status_frame([("local warehouse", "running" if state.running else "stopped", str(state))])

    def is_reachable(self) -> bool:
        return self.warehouse.is_running()

    def run_lock(self) -> Path:
        return self.warehouse.data_dir / "run.lock"

    def location(self) -> str:
        return str(self.warehouse.data_dir)
