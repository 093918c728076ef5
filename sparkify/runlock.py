"""One run at a time per warehouse: an exclusive ``fcntl`` lock on a file beside the warehouse.

Two ``sparkify run`` on one warehouse would otherwise interleave their stages and transforms, or one
would stop the server under the other. The lock is held for the whole run (the kernels are children
that never take it); a second run waits, saying for whom, or is refused at once with ``--no-wait``.
``sparkify stop`` is refused while a run holds it. The lock file names its holder (pid, run id, start
time) for those messages; the operating system releases the lock when the holder exits, however it
exits, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path


class WarehouseBusy(RuntimeError):
    """Another run holds the warehouse; the message names it."""


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another run"
    return f"{info.get('run_id', 'a run')} (pid {info.get('pid', '?')}, since {info.get('started', '?')})"


@contextlib.contextmanager
def hold(path: Path, run_id: str, *, wait: bool = True,
         on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the run lock at ``path`` for the block; wait for it, or raise WarehouseBusy if not ``wait``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(path)
            if not wait:
                raise WarehouseBusy(f"the warehouse is in use by {holder}; try again when it has finished "
                                    f"(or run without --no-wait to wait for it)") from None
            if on_wait is not None:
                on_wait(f"waiting for {holder} to finish with the warehouse...")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps({"pid": os.getpid(), "run_id": run_id,
                                     "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}))
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def holder_if_busy(path: Path) -> str | None:
    """Who holds the run lock at ``path`` right now, or None when nobody does."""
    if not path.exists():
        return None
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _holder(path)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None
