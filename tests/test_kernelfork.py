"""The kernels of a batch run, forked by one server (sparkify.kernelfork): each a process and a
session of its own, interruptible like any kernel, gone when the server is gone, and the server gone
when the run's kernels are closed. (Isolation between notebooks, and no kernel left after a failed or
interrupted run, are shown for the same kernels by test_batch_kernels.)"""

from __future__ import annotations

import os
import queue
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from sparkify.batch import _kernel_name, _Kernels
from sparkify.kernelfork import KERNEL_MODULES, ForkServer
from sparkify.paths import WORKSPACE

pytestmark = pytest.mark.slow  # starts kernels


def _notebook(path: Path, code: str) -> Path:
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), path)
    return path


@pytest.fixture
def kernels(tmp_path):
    sockets = tmp_path / "sockets"
    sockets.mkdir(mode=0o700)
    with open(tmp_path / "kernel.log", "ab") as log:
        kernels = _Kernels(_kernel_name(), sockets, log)
        try:
            yield kernels
        finally:
            kernels.close(wait=5)


def _run(manager, code: str, timeout: float = 30.0) -> tuple[dict, str]:
    """Execute ``code`` in the kernel: its reply's content, and what it printed."""
    client = manager.blocking_client()
    client.start_channels()
    try:
        printed = []
        reply = client.execute_interactive(code, timeout=timeout, output_hook=lambda m: printed.append(
            m["content"].get("text", "")) if m["msg_type"] == "stream" else None)
        return reply["content"], "".join(printed)
    finally:
        client.stop_channels()


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_kernels_are_forked_processes_with_sessions_of_their_own(kernels, tmp_path):
    assert kernels.forks is not None, "the project's kernel spec is ipykernel: its kernels are forked"
    first = kernels.start(_notebook(tmp_path / "a.ipynb", "import sparkify_helpers as h"))
    second = kernels.start(_notebook(tmp_path / "b.ipynb", "h.charts.plays_by_hour"))
    managers = [kernels.take(first), kernels.take(second)]
    server = kernels.forks.process.pid
    assert first.pid != second.pid
    for kernel in (first, second):
        assert psutil.Process(kernel.pid).ppid() == server
        assert os.getsid(kernel.pid) == kernel.pid and os.getpgid(kernel.pid) == kernel.pid
    content, printed = _run(managers[0], "secret_of_a = 1\nimport os, sys\n"
                                         "print(os.getcwd(), os.environ['JPY_PARENT_PID'], sys.argv[0])")
    assert content["status"] == "ok"
    cwd, parent, argv0 = printed.split()
    assert Path(cwd) == WORKSPACE  # where the batch starts every kernel
    assert int(parent) == server and argv0 == "ipykernel_launcher"
    _, printed = _run(managers[1], "import sys\nprint('secret_of_a' in globals(), 'sparkify.charts' in sys.modules)")
    assert printed.split() == ["False", "True"]  # nothing of the other kernel; its notebook's modules, imported


def test_a_forked_kernel_is_interrupted_like_any_kernel(kernels, tmp_path):
    kernel = kernels.start(_notebook(tmp_path / "a.ipynb", "import time"))
    manager = kernels.take(kernel)
    client = manager.blocking_client()
    client.start_channels()
    try:
        msg_id = client.execute("import time\ntime.sleep(60)")
        time.sleep(1.0)  # sleeping by now
        started = time.monotonic()
        kernels.run_sync(manager.interrupt_kernel)()
        while True:
            try:
                reply = client.get_shell_msg(timeout=20)
            except queue.Empty:
                pytest.fail("the interrupted cell did not end")
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert time.monotonic() - started < 30  # not the sleep's 60 s
        assert _run(manager, "print(1 + 1)")[1].strip() == "2"  # and goes on
    finally:
        client.stop_channels()


def test_kernels_end_when_their_server_dies(kernels, tmp_path):
    kernel = kernels.start(_notebook(tmp_path / "a.ipynb", "import sparkify_helpers"))
    kernels.take(kernel)
    assert kernel.manager.provisioner.process.poll() is None
    os.kill(kernels.forks.process.pid, 9)
    assert _gone(kernel.pid, within=15), "the kernel outlived its fork server"
    assert kernel.manager.provisioner.process.wait(timeout=5) == -1  # exited, reaped by another


def test_closing_the_kernels_ends_the_server_and_every_kernel(tmp_path):
    sockets = tmp_path / "sockets"
    sockets.mkdir(mode=0o700)
    with open(tmp_path / "kernel.log", "ab") as log:
        kernels = _Kernels(_kernel_name(), sockets, log)
        started = [kernels.start(_notebook(tmp_path / f"{n}.ipynb", "1")) for n in "abc"]
        kernels.take(started[0])
        pids = [k.pid for k in started] + [kernels.forks.process.pid]
        kernels.close(wait=5)
    assert all(_gone(pid, within=5) for pid in pids)
    assert [k.manager.provisioner.process is None or k.manager.provisioner.process.poll() is not None
            for k in started] == [True] * 3


def test_without_fork_server_kernels_are_started_anew(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKIFY_FORK_KERNELS", "0")
    sockets = tmp_path / "sockets"
    sockets.mkdir(mode=0o700)
    with open(tmp_path / "kernel.log", "ab") as log:
        kernels = _Kernels(_kernel_name(), sockets, log)
        try:
            assert kernels.forks is None
            kernel = kernels.start(_notebook(tmp_path / "a.ipynb", "1"))
            kernels.take(kernel)
            assert psutil.Process(kernel.pid).ppid() == os.getpid()
        finally:
            kernels.close(wait=5)


def test_each_kernel_has_its_own_random_state_and_no_file_of_the_server(kernels, tmp_path):
    """numpy's global random state is seeded afresh in each kernel, and the font files the server
    opened when it drew its warm-up figure are not shared with a kernel (matplotlib closes them in a
    forked child): a kernel's open files are its own."""
    source = _notebook(tmp_path / "charts.ipynb", "h.charts.plays_by_hour")
    started = [kernels.start(source), kernels.start(source)]
    managers = [kernels.take(k) for k in started]
    draws = [_run(m, "import numpy\nprint(numpy.random.randint(0, 2**31, 4).tolist())")[1] for m in managers]
    assert draws[0] != draws[1]
    server = psutil.Process(kernels.forks.process.pid)
    server_fonts = {f.path for f in server.open_files() if f.path.endswith(".ttf")}
    assert server_fonts, "the fork server drew its warm-up figure"
    for kernel in started:
        assert not {f.path for f in psutil.Process(kernel.pid).open_files()} & server_fonts


def test_a_kernels_output_goes_to_the_runs_kernel_log(kernels, tmp_path):
    kernel = kernels.start(_notebook(tmp_path / "a.ipynb", "1"))
    code = "import sys\nprint('written-by-the-kernel', file=sys.__stderr__, flush=True)"
    content, _ = _run(kernels.take(kernel), code)
    assert content["status"] == "ok"
    assert "written-by-the-kernel" in (tmp_path / "kernel.log").read_text()


def test_a_server_that_dies_with_a_request_pending_fails_that_kernel_cleanly(tmp_path):
    from sparkify.batch import WARM_UP, _kernel_argv

    launcher = ForkServer.launcher_of(_kernel_argv(_kernel_name()))
    server = ForkServer(launcher, [*KERNEL_MODULES, *WARM_UP[""]], cwd=str(tmp_path), env=dict(os.environ))
    try:
        command = [*launcher, "-f", str(tmp_path / "k.json")]
        kernel = server.spawn(command, env=dict(os.environ), cwd=str(tmp_path), log=str(tmp_path / "kernel.log"))
        server.process.kill()  # still importing: the request is never answered
        server.process.wait()
        assert kernel.wait(timeout=10) == 1  # no exception (the socket is reset), and not running
        assert kernel.pid is None and "gone" in kernel.error
        with pytest.raises(RuntimeError, match="fork server is gone"):
            server.spawn(command, env=dict(os.environ), cwd=str(tmp_path), log=str(tmp_path / "kernel.log"))
    finally:
        server.close()


def test_the_server_serves_only_the_kernel_command_it_was_started_as():
    argv = ["/venv/bin/python", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert ForkServer.launcher_of(argv) == argv[:4]
    assert ForkServer.launcher_of(["/venv/bin/python", "-m", "ipykernel_launcher", "-f", "x"]) == \
        ["/venv/bin/python", "-m", "ipykernel_launcher"]
    assert ForkServer.launcher_of(["/usr/bin/R", "--slave", "-e", "IRkernel::main()"]) is None
    assert ForkServer.launcher_of(["python", "{connection_file}", "-m", "ipykernel_launcher"]) is None
    # Jupyter's own python3 spec says `python`, which jupyter_client runs as this Python
    assert ForkServer.launcher_of(["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]) == \
        [sys.executable, "-m", "ipykernel_launcher"]
