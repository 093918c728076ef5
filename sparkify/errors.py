"""Errors shared across modules: each message says what failed, where, and what to do."""

from __future__ import annotations


class WarehouseError(RuntimeError):
    """The warehouse cannot be started, reached or stopped; the message says why and what to do."""


class DiskWriteError(OSError):
    """A run file could not be written (a full disk, say); the message names the file and the disk."""
