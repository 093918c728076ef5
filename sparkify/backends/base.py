"""The interface every warehouse backend implements.

A backend owns what differs between engines: how to connect (psycopg2 for the pipeline, a
SQLAlchemy engine for ``%sql``), the text a ``sql/`` file runs as, how a COPY is executed and
where its rejected records are read, how the warehouse is provisioned, started, stopped and torn
down, and how it describes itself in a report header. The pipeline's :class:`~sparkify.pipeline.Session`
runs the steps through this interface alone.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from .. import sqlfiles
from ..config import Config

CONNECT_TIMEOUT_S = 15
# TCP keepalives: a statement may run for many minutes without a byte on the wire, and a NAT or
# firewall on the way must not drop the connection meanwhile.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 15, "keepalives_count": 4}


@dataclass
class StageReport:
    """What one COPY did: records read = rows loaded + rows rejected."""

    table: str
    source: str
    files: int
    records_read: int
    rows_loaded: int
    rows_rejected: int
    seconds: float
    query_id: int
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)


class Backend(ABC):
    """One warehouse engine. Construct through :func:`sparkify.backends.backend_for`."""

    name: ClassVar[str]
    #: SQL files run after the seven tables are created (e.g. the emulator's stl_load_errors)
    support_tables: ClassVar[tuple[str, ...]] = ()

    def __init__(self, config: Config) -> None:
        self.config = config

    # -- connections ------------------------------------------------------------------------------
    @abstractmethod
    def connect(self):
        """A new psycopg2 connection (connect timeout and keepalives set)."""

    @abstractmethod
    def sql_engine(self):
        """A SQLAlchemy engine for jupysql's ``%sql`` (no password shown anywhere)."""

    # -- SQL ----------------------------------------------------------------------------------------
    def statement(self, name: str) -> str:
        """The text this backend runs for ``sql/<name>.sql`` (placeholders kept for binding)."""
        return self.translate(sqlfiles.load(name).text, name)

    def translate(self, text: str, where: str) -> str:
        """Redshift SQL as this backend runs it (as written, unless the engine needs a translation)."""
        return text

    # -- loading ------------------------------------------------------------------------------------
    @abstractmethod
    def iam_role(self) -> str:
        """The IAM_ROLE a COPY names."""

    def copy_params(self, max_errors: int) -> dict[str, Any]:
        s3 = self.config.s3
        if int(max_errors) < 0:
            raise ValueError(f"max_errors must be 0 or more, not {max_errors}")
        return {"log_data": s3.log_data, "song_data": s3.song_data, "log_jsonpath": s3.log_jsonpath,
                "region": s3.region, "iam_role": self.iam_role(), "max_errors": int(max_errors)}

    @abstractmethod
    def copy(self, session, table: str, params: dict[str, Any], *, progress: bool,
             on_loaded: Callable[[StageReport], None] = lambda report: None) -> StageReport:
        """Re-create one staging table and COPY into it, in one transaction of ``session``;
        ``on_loaded(report)`` runs in that transaction once the rows are in."""

    def prepare_transform(self, session) -> None:  # noqa: B027 - optional: most engines need nothing
        """Session settings for the transform's transaction (called inside it); none by default:
        Redshift manages query memory itself (WLM), so nothing is set there."""

    def load_errors(self, session, query_id: int) -> pd.DataFrame:
        """The records one COPY rejected."""
        return session.query("status/load_errors", {"query": query_id})

    # -- lifecycle ----------------------------------------------------------------------------------
    @abstractmethod
    def provision(self, *, create_cluster: bool = True, wait_minutes: int = 30) -> pd.DataFrame:
        """Make the warehouse ready (options that do not apply to this backend are ignored)."""

    @abstractmethod
    def teardown(self, *, keep: bool = False, final_snapshot: bool = False) -> pd.DataFrame:
        """Undo :meth:`provision` (``keep``: leave everything as it is)."""

    def still_running(self) -> str | None:
        """A sentence naming what still costs money and how much per hour (None: nothing does).
        A failed batch run ends with it, so a billed warehouse is never left running silently."""
        return None

    @abstractmethod
    def stop(self) -> str:
        """Stop serving (a sentence saying what happened)."""

    @abstractmethod
    def status(self) -> pd.DataFrame:
        """What exists and runs: one row per resource (what, state, detail)."""

    @abstractmethod
    def is_reachable(self) -> bool:
        """Whether a connection can be made now without creating or starting anything."""

    @abstractmethod
    def run_lock(self) -> Path:
        """The file whose lock one run at a time holds (sparkify.runlock)."""

    @abstractmethod
    def location(self) -> str:
        """Where the warehouse lives, for people (no secrets)."""

    def describe(self) -> dict[str, str]:
        """Where a run reads and writes, for report headers (no secrets)."""
        c = self.config
        return {"backend": self.name, "configuration": c.source, "LOG_DATA": c.s3.log_data,
                "LOG_JSONPATH": c.s3.log_jsonpath, "SONG_DATA": c.s3.song_data, "warehouse": self.location()}


def status_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["resource", "state", "detail"])
