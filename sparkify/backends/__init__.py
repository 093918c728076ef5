"""The warehouse backends: one interface, one class per engine (as dbt's adapters are).

    base.py      the :class:`Backend` interface and the :class:`StageReport` a COPY returns
    local.py     the embedded PostgreSQL: Redshift SQL translated by sqlglot, COPY emulated
    redshift.py  Amazon Redshift: SQL as written, COPY native, load errors from its system tables

Everything above this package (helpers, CLI, batch, pipeline) calls :func:`backend_for` and the
interface; nothing above it asks which backend it talks to.
"""

from __future__ import annotations

from ..config import Config
from .base import Backend, StageReport
from .local import LocalBackend
from .redshift import RedshiftBackend

BACKENDS: dict[str, type[Backend]] = {LocalBackend.name: LocalBackend, RedshiftBackend.name: RedshiftBackend}

__all__ = ["BACKENDS", "Backend", "LocalBackend", "RedshiftBackend", "StageReport", "backend_for"]


def backend_for(config: Config) -> Backend:
    """The backend that ``config`` selects ([DWH] DWH_BACKEND)."""
    return BACKENDS[config.backend](config)
