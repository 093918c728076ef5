"""Kernels forked from one process that has already imported what they need.

A notebook's kernel is a process of its own. Started the usual way, each one pays for Python,
IPython and ipykernel, pandas and the helpers again: about 1.1 s of CPU before its first cell, 2.4 s
for a notebook that draws charts and uses ``%sql``, on a machine of two cores where the notebook
before it is running. The batch therefore starts one *fork server* (``python -m
sparkify.kernelfork``) that imports those modules once and forks a kernel for each notebook
(0.05 s of CPU each), after importing what that notebook's code shows it will use (the COPY
machinery, charts, ``%sql``): the batch asks for a kernel while the notebooks before it run, so
these imports overlap them. Each kernel is still a new process (a copy of the server made by
``fork()``, then ipykernel's own start-up with the kernel's command line, environment and working
folder), so nothing of one notebook reaches another; it finds the modules imported, as a kernel
warmed up by the batch does.

The server forks before any Python thread or event loop exists (it imports modules and waits on one
socket: nothing else; the native threads of OpenBLAS and of Arrow's allocator, started by their
imports, have fork handlers of their own), and each kernel begins a session of its own (``setsid``), as
jupyter_client's launcher does: an interrupt or a termination signal sent to the kernel's process
group reaches that kernel only. The server runs in a session of its own and ignores Ctrl-C (the
batch decides), and ends when the batch closes its socket, or when the batch dies; each kernel
watches the server as its parent (ipykernel's parent poller), so none outlives it. numpy's global
random state is seeded afresh in each kernel (Python's ``random`` reseeds itself after a fork, and
matplotlib drops its open font files in a forked child: os.register_at_fork).

Protocol, one JSON line each way: the batch sends ``{"request": R, "argv": [...], "env": {...},
"cwd": "...", "log": "...", "modules": [...]}`` (``argv``: ipykernel_launcher's, as its ``sys.argv``;
``log``: the file its output is appended to) and
receives ``{"request": R, "pid": N}`` (or ``"error"``); the server also sends ``{"exit": N,
"status": S}`` when a kernel it forked has exited (S: its return code as :mod:`subprocess` gives it).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)
LAUNCHER = ("-m", "ipykernel_launcher")
# What ipykernel imports to start a kernel (its debugger's debugpy/pydevd included, which imports
# without starting a thread): imported once by the server, a forked kernel's start-up takes 0.04 s
# of CPU instead of 0.17 s.
KERNEL_MODULES = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger", "IPython.core.debugger",
                  "IPython.core.completerlib", "IPython.extensions.storemagic", "tornado.platform.asyncio", "sqlite3")
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


class ForkServer:
    """The batch's end: starts the server, asks it for kernels, learns when they exit."""

    def __init__(self, launcher: Sequence[str], first: Sequence[str], *, cwd: str, env: dict[str, str]) -> None:
        """``launcher``: the kernel command's start, up to ``-m ipykernel_launcher`` (the Python and
        its options, which the server is run with); ``first``: the modules every kernel imports."""
        self.launcher = list(launcher)
        ours, theirs = socket.socketpair()
        self.sock = ours
        self.lock = threading.Lock()  # nbclient may reach a kernel's process from another thread
        self.exits: dict[int, int] = {}  # request number: return code, of the kernels that have exited
        self.answers: dict[int, dict] = {}  # request number: the server's answer
        self.requests = 0
        self.buffer = b""
        self.closed = False
        env = dict(env)
        env.setdefault("MPLBACKEND", INLINE_BACKEND)  # what ipykernel sets in a kernel, before matplotlib reads it
        with theirs:  # a session of its own: the terminal's Ctrl-C and Ctrl-\ are the batch's to handle
            self.process = subprocess.Popen(
                [*self.launcher[:-2], "-m", "sparkify.kernelfork", str(theirs.fileno()), json.dumps(list(first))],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, cwd=cwd, env=env,  # (a kernel writes to its run's log: see spawn)
                start_new_session=True)

    def serves(self, command: Sequence[str]) -> bool:
        """Whether a kernel with this command line can be forked here: ipykernel, run by the
        server's own Python with the same options."""
        return not self.closed and list(command[:len(self.launcher)]) == self.launcher

    @staticmethod
    def launcher_of(argv: Sequence[str]) -> list[str] | None:
        """The start of a kernel spec's command line up to ``-m ipykernel_launcher`` (a Python and its
        options), or None when it does not start ipykernel that way. A bare ``python`` (Jupyter's own
        python3 spec) is this Python, as jupyter_client's KernelManager.format_kernel_cmd makes it."""
        argv = list(argv)
        major, minor = sys.version_info[:2]
        if argv and argv[0] in {"python", f"python{major}", f"python{major}.{minor}"}:
            argv[0] = sys.executable
        for i in range(1, len(argv) - 1):
            if tuple(argv[i:i + 2]) == LAUNCHER:
                flags = argv[1:i]
                if all(f.startswith("-") and "{" not in f for f in flags):
                    return list(argv[:i + 2])
        return None

    def spawn(self, command: Sequence[str], *, env: dict[str, str], cwd: str, log: str,
              modules: Sequence[str] = ()) -> ForkedKernel:
        """A kernel forked with this command line, environment and working folder, its output
        appended to the file ``log``, once the server has imported ``modules`` too. Returns at once:
        the kernel's pid is taken from the server's answer when it is first asked for."""
        with self.lock:
            number = self.requests
            self.requests += 1
            request = {"request": number, "argv": ["ipykernel_launcher", *command[len(self.launcher):]],
                       "env": dict(env), "cwd": str(cwd), "log": str(log), "modules": list(modules)}
            try:
                self.sock.sendall(json.dumps(request).encode() + b"\n")
            except OSError as err:
                self.closed = True
                raise RuntimeError(f"the kernel fork server is gone: {err}") from None
        return ForkedKernel(self, number)

    def answer(self, number: int, timeout: float = 60.0) -> dict:
        """The server's answer to request ``number``: its pid, or why it failed."""
        deadline = time.monotonic() + timeout
        while number not in self.answers:
            remaining = deadline - time.monotonic()
            if self.closed or remaining <= 0:
                return {"error": "the kernel fork server " + ("is gone" if self.closed else "did not answer")}
            self.collect(timeout=min(remaining, 0.1))
        return self.answers[number]

    def collect(self, timeout: float = 0.0) -> None:
        """Take in what the server has sent (waiting up to ``timeout`` seconds for something)."""
        with self.lock:
            if self.closed:
                return
            try:
                data = self.sock.recv(65536) if select.select([self.sock], [], [], timeout)[0] else None
            except OSError:  # reset: the server died with a request unread
                data = b""
            if data == b"":  # the server is gone
                self.closed = True
            elif data:
                self.buffer += data
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                message = json.loads(line)
                if "exit" in message:
                    self.exits[message["exit"]] = message["status"]
                else:
                    self.answers[message["request"]] = message

    def close(self, wait: float = 5.0) -> None:
        """End the server (the kernels it forked have been ended by then: see the batch)."""
        if self.process.poll() is None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_WR)  # its end of file: it exits
            try:
                self.process.wait(wait)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.closed = True
        self.sock.close()


class ForkedKernel:
    """A forked kernel, with what jupyter_client and the batch ask of a :class:`subprocess.Popen`."""

    stdin = stdout = stderr = None

    def __init__(self, server: ForkServer, request: int) -> None:
        self.server = server
        self.request = request
        self.returncode: int | None = None
        self.error: str | None = None  # why the server could not fork it

    @property
    def pid(self) -> int | None:
        """Its pid (waiting for the server's answer if need be); None if the server could not fork it."""
        answer = self.server.answer(self.request)
        if "error" in answer and self.error is None:
            self.error = answer["error"]
            log.warning("no kernel: %s", self.error)  # (the notebook then fails: its kernel died)
        return answer.get("pid")

    def poll(self) -> int | None:
        if self.returncode is None:
            self.server.collect()
            if self.request in self.server.answers and self.pid is None:  # never started
                self.returncode = 1
            elif self.request not in self.server.answers:
                if self.server.closed:
                    self.returncode = 1
            elif self.request in self.server.exits:
                self.returncode = self.server.exits[self.request]
            elif self.server.closed and not _alive(self.pid):  # the server is gone: reaped by another, or a zombie
                self.returncode = -1
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            remaining = 0.1 if deadline is None else deadline - time.monotonic()
            if remaining <= 0:
                raise subprocess.TimeoutExpired(["forked kernel", str(self.request)], timeout)
            if self.server.closed:
                time.sleep(min(0.05, remaining))
            else:
                self.server.collect(timeout=min(0.1, remaining))
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None and self.pid is not None:
            try:  # its process group, as jupyter_client signals a kernel it launched
                os.killpg(self.pid, signum)
            except OSError:  # not yet its own group (it calls setsid first thing), or gone
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def _alive(pid: int) -> bool:
    """Whether the process runs (an exited process nobody has reaped yet, a zombie, does not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: ask the process itself
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


# ---- the server's end ---------------------------------------------------------------------------

def serve(fd: int, first: list[str]) -> None:
    """Import ``first`` (what every kernel needs), then fork a kernel per request, each once the
    modules the request names are imported, until the batch closes the socket."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    if sys.path and os.path.realpath(sys.path[0] or ".") == os.path.realpath(os.getcwd()):
        del sys.path[0]  # as ipykernel_launcher does; IPython puts the kernel's folder back in front
    sock = socket.socket(fileno=fd)
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)  # wakes the select below through the pipe
    _import(first)
    requests: dict[int, int] = {}  # pid: the request it answered
    buffer = b""
    while True:
        ready = select.select([sock, wake_read], [], [])[0]
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(wake_read, 512):
                    pass
        _report_exits(sock, requests)
        if sock in ready:
            data = sock.recv(65536)
            if not data:
                break
            buffer += data
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                request = json.loads(line)
                _import(request.get("modules", []))
                try:
                    pid = _fork(request, sock, (wake_read, wake_write))
                    requests[pid] = request["request"]
                    reply = {"request": request["request"], "pid": pid}
                except OSError as err:
                    reply = {"request": request["request"], "error": f"fork failed: {err}"}
                sock.sendall(json.dumps(reply).encode() + b"\n")
    sys.stderr.flush()
    os._exit(0)  # at once: Python's own teardown of what it imported would take half a second


def _import(names: list[str]) -> None:
    """Import each module not imported yet (a sparkify module's ``warm_up()`` run once, too: the
    charts' fonts). A failing import is left for the kernel's own import to report."""
    for name in names:
        if name in sys.modules:
            continue
        try:
            module = importlib.import_module(name)
            if name.startswith("sparkify.") and callable(getattr(module, "warm_up", None)):
                module.warm_up()
        except Exception as err:  # noqa: BLE001
            print(f"kernel fork server: import {name} failed: {type(err).__name__}: {err}", file=sys.stderr)


def _report_exits(sock: socket.socket, requests: dict[int, int]) -> None:
    """Reap the kernels that have exited and tell the batch, by request number (a pid may be used
    again by a later process; a request number is not)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        code = os.waitstatus_to_exitcode(status)  # negative: ended by that signal
        if pid in requests:
            with contextlib.suppress(OSError):
                sock.sendall(json.dumps({"exit": requests.pop(pid), "status": code}).encode() + b"\n")


def _fork(request: dict, sock: socket.socket, wake: tuple[int, int]) -> int:
    argv, env, cwd = request["argv"], request["env"], request["cwd"]
    if threading.active_count() > 1:  # an imported module started a thread: forking would copy a broken lock
        raise OSError(f"{threading.active_count() - 1} thread(s) running in the fork server")
    server = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:  # the kernel: a process of its own from here on
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sock.close()
        for fd in wake:
            os.close(fd)
        if os.getppid() != server:  # the server died as it forked: no parent to watch, so no kernel
            os._exit(1)
        if "numpy.random" in sys.modules:  # a fresh seed per kernel, as a new process gets (Python's
            sys.modules["numpy.random"].seed()  # random module reseeds itself after fork)
        output = os.open(request["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        os.environ["JPY_PARENT_PID"] = str(server)
        # ipykernel read JPY_PARENT_PID when the server imported it: the kernel is told its parent
        # (the server) here, and ends itself when the server does, as a kernel does with its launcher
        sys.argv = [*argv, f"--IPKernelApp.parent_handle={server}"]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 - printed to the kernel log, the process ends
        import traceback

        traceback.print_exc()
    finally:
        import atexit

        with contextlib.suppress(Exception):
            atexit._run_exitfuncs()  # what the kernel's Python would run on its way out
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


if __name__ == "__main__":
    serve(int(sys.argv[1]), json.loads(sys.argv[2]))
