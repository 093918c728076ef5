"""`LocalWarehouse.stop` is done when the postmaster has exited, even while it waits, a zombie, for
init to reap it (the server is not our child: its launcher exited), which a container's init may do
seconds later."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from sparkify.warehouse import _exited


def test_an_exited_process_not_yet_reaped_counts_as_stopped():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    process = psutil.Process(child.pid)
    deadline = time.monotonic() + 10
    while process.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.01)
    assert process.status() == psutil.STATUS_ZOMBIE  # exited, not reaped (we have not waited)
    assert _exited(process)
    child.wait()
    assert _exited(process)  # gone


def test_a_running_process_has_not_exited():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not _exited(psutil.Process(child.pid))
    finally:
        child.kill()
        child.wait()
