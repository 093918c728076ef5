"""The batch run: every notebook in order through papermill, then offline HTML reports.

Each notebook runs in a kernel process of its own, as papermill alone would run it, so nothing of
one notebook (variables, imported modules, settings) reaches the next. A new kernel would cost a
second of CPU or more (Python, IPython, pandas, the helpers) before its first cell: kernels are
instead forked by a server that has imported those modules once (sparkify.kernelfork; 0.05 s of
CPU per kernel), each two notebooks ahead, while earlier notebooks run, and warmed up with the
imports its notebook will make (see :class:`_Kernels`). The HTML reports are rendered in this
process on a worker thread at low priority, each as soon as its notebook is done.

``reports/<run-id>/`` receives the executed notebooks (the sources in ``notebooks/`` are never
written), one HTML report per notebook (code hidden, charts inline, nothing loaded from the
network), a CSV per analysis query, ``summary.json`` and ``run.log``. ``reports/index.html``
(rendered from ``templates/index.html.j2``) links every run, newest first, and ``reports/latest``
points at the newest successful run.

Each notebook receives ``config_path``, ``backend`` and ``run_dir`` as papermill parameters, so an
executed notebook records what it ran with and can be re-run from that record; the process
environment is never changed. Secrets never reach papermill: the notebooks read the configuration
file themselves, and every executed notebook, HTML file, CSV, summary and log is scanned for the
configured secret values before the run is reported done.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import json
import logging
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomicfile import atomic_write
from .config import DEFAULTS, Config, RedactingFilter, _known_secrets, install_log_redaction, load_config, redact
from .paths import NOTEBOOKS_DIR, TEMPLATE_DIR, WORKSPACE

REPORTS_DIR = WORKSPACE / "reports"
KERNEL = "sparkify"
log = logging.getLogger("sparkify.batch")


class BatchFailed(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""


def notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    return sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))


def select(available: list[Path], only: list[str] | None) -> list[Path]:
    """The notebooks ``only`` names (numbers such as 02, or names); an unknown one is an error."""
    if not only:
        return available
    unknown = [n for n in only if not any(nb.stem[:2] == n or nb.stem == n for nb in available)]
    if unknown:
        raise ValueError(f"no notebook {', '.join(unknown)}: choose from "
                         f"{', '.join(nb.stem[:2] for nb in available)}")
    return [nb for nb in available if nb.stem[:2] in only or nb.stem in only]


def _kernel_name() -> str:
    """The project's kernel (``make install`` registers it), or Jupyter's python3."""
    return KERNEL if _kernel_spec_file(KERNEL) is not None else "python3"


def _kernel_spec_file(name: str) -> Path | None:
    """The kernel.json jupyter_client would read for ``name``: the first in Jupyter's data path
    (found without importing jupyter_client, whose import would delay the first kernel)."""
    from jupyter_core.paths import jupyter_path

    return next((f for f in (Path(d) / name / "kernel.json" for d in jupyter_path("kernels")) if f.is_file()), None)


def _kernel_spec(name: str):
    """The kernel spec ``name``, read from its kernel.json; None when there is none to read (the
    kernel manager then looks it up itself, and reports a missing one)."""
    spec = _kernel_spec_file(name)
    if spec is None:
        return None
    from jupyter_client.kernelspec import KernelSpec

    return KernelSpec.from_resource_dir(str(spec.parent))


def _kernel_argv(name: str) -> list[str]:
    """The kernel's command line, read from kernel.json as JSON: the fork server starts before
    jupyter_client (which :func:`_kernel_spec` imports, 0.2 s) is needed."""
    spec = _kernel_spec_file(name)
    if spec is not None:
        return json.loads(spec.read_text(encoding="utf-8"))["argv"]
    from jupyter_client.kernelspec import KernelSpecManager

    return KernelSpecManager().get_kernel_spec(name).argv


def declared_parameters(source: Path) -> dict[str, dict]:
    """The parameters a notebook declares in its ``parameters`` cell (as papermill reads them)."""
    import nbformat
    from papermill.translators import PythonTranslator

    notebook = nbformat.read(source, as_version=4)
    cell = next((c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    return {p.name: p._asdict() for p in PythonTranslator.inspect(cell)} if cell is not None else {}


def _kernel_manager_class(socket_dir: Path, log_file, forks=None, spec=None) -> type:
    """Kernels over IPC (Unix sockets in a private folder) rather than TCP: nothing listens on a
    port, and the kernel has no reason to warn about unencrypted TCP. Each kernel has sockets and a
    connection file of its own in that folder (several are alive at once: the running one and those
    started ahead), so nothing is left in Jupyter's runtime folder. A kernel's own output (ipykernel's
    messages) goes to the run's kernel.log, not the console. Every client handed out is kept, so
    that its sockets are closed when the kernel is retired (nbclient leaves a kernel it did not
    start running, and its client open). With a fork server (``forks``: see sparkify.kernelfork),
    a kernel it can start is forked there instead of started anew. ``spec``: the kernel spec, read
    once for the run (jupyter_client would look it up again for each kernel, and import IPython
    to do so)."""
    import itertools

    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

    numbers = itertools.count()
    spec_name = Path(spec.resource_dir).name if spec is not None else None

    class RunKernelClient(AsyncKernelClient):
        """nbclient's client of a notebook's kernel. Once the kernel has answered its warm-up and
        this client has received the kernel's output (its subscription is in place: see
        _Kernels.take), the kernel is known to be ready, and wait_for_ready returns at once instead
        of asking again and then waiting for 0.2 s of silence on the output channel (0.2 s per
        notebook; the silence only flushes earlier output, and nbclient reads nothing but the
        output of its own requests)."""

        ready = False

        async def wait_for_ready(self, timeout: float | None = None) -> None:
            if not self.ready:
                await super().wait_for_ready(timeout=timeout)

    class RunKernelManager(AsyncKernelManager):
        @property
        def kernel_spec(self):
            if spec is not None and self.kernel_name == spec_name:
                return spec
            return super().kernel_spec

        def __init__(self, **kwargs) -> None:
            name = f"k{next(numbers)}"
            super().__init__(transport="ipc", ip=str(socket_dir / name), client_factory=RunKernelClient,
                             connection_file=str(socket_dir / f"{name}.json"), **kwargs)
            self.clients: list = []
            self.prepared = None
            self.modules: list[str] = []  # what the notebook will import (see _Kernels.start)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            if forks is not None and forks.serves(kernel_cmd):
                cwd = str(kw.get("cwd") or os.getcwd())
                try:
                    process = forks.spawn(kernel_cmd, env=kw.get("env") or dict(os.environ), cwd=cwd,
                                          log=log_file.name, modules=self.modules)
                except RuntimeError as err:  # started anew below
                    log.info("%s", err)
                else:  # what LocalProvisioner.launch_kernel records of the process it starts
                    provisioner = self.provisioner
                    # (its pid is known once the server has forked it: signals go to it through process)
                    provisioner.process, provisioner.pid, provisioner.pgid = process, None, None
                    provisioner.cwd = cwd
                    self._reconcile_connection_info(provisioner.connection_info)
                    return None
            kw.update(stdout=log_file, stderr=log_file)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

        def client(self, **kwargs):
            if self.prepared is not None and not kwargs:  # nbclient's client, connected in advance
                kc, self.prepared = self.prepared, None
                return kc
            kc = super().client(**kwargs)
            self.clients.append(kc)
            return kc

        def prepare_client(self) -> None:
            """Connect the client nbclient will ask for now, while the kernel starts: when the
            notebook's turn comes its subscription to the kernel's output is in place, and
            jupyter_client's readiness check needs no second round (it waits 0.2 s for output
            before it retries)."""
            self.prepared = None
            kc = self.client()
            kc.start_channels(hb=False)  # the heartbeat is a thread, which nbclient's start_channels starts
            self.prepared = kc

        def blocking_client(self):
            kc = super().blocking_client()
            self.clients.append(kc)
            return kc

    return RunKernelManager


# What a notebook's kernel imports before the notebook runs: what every notebook imports, and more
# where its code shows it will need it (a marker missing here costs time, never correctness).
# (pandas' Styler draws every table a notebook shows: see sparkify.display.)
WARM_UP = {"": ("sparkify_helpers", "pandas.io.formats.style"), "h.create_tables": ("sparkify.dialect",),
           "h.stage_": ("sparkify.copy.execute", "sparkify.dialect"), "h.charts": ("sparkify.charts",),
           "%load_ext sql": ("sql.magic",)}


def warm_up_code(source: Path) -> str:
    """The code a notebook's kernel runs first, silently: imports that bind no name (``__import__``),
    so the notebook's namespace is a fresh kernel's. (The notebook is read as JSON: nbformat's
    import would delay the first kernel.)"""
    return "; ".join(f"__import__({m!r})" for m in warm_up_modules(source))


def warm_up_modules(source: Path) -> list[str]:
    """What a notebook's code shows it will import (see WARM_UP)."""
    cells = json.loads(source.read_text(encoding="utf-8")).get("cells", [])
    code = "\n".join("".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code")
    return [m for marker, names in WARM_UP.items() if marker in code for m in names]


def fork_server(kernel_name: str | None = None):
    """A server that forks the kernels of runs (see sparkify.kernelfork), started at once so that it
    imports what every notebook needs while this process goes on (`sparkify run` starts one first
    thing, and its runs of a backfill share it); close it when done. None when the kernel is not
    ipykernel in a Python this server can run (the kernels are then started anew), or with
    SPARKIFY_FORK_KERNELS=0."""
    kernel_name = kernel_name or _kernel_name()
    if os.environ.get("SPARKIFY_FORK_KERNELS", "1") == "0" or not hasattr(os, "fork"):
        return None
    from .kernelfork import KERNEL_MODULES, ForkServer

    try:
        launcher = ForkServer.launcher_of(_kernel_argv(kernel_name))
    except Exception:  # noqa: BLE001 - no such kernel, say: its start fails, and is reported, as without forks
        return None
    if launcher is None:
        return None
    # (jupysql's telemetry off while the server imports it, as sparkify_helpers.settings turns it off in a kernel)
    env = {"PLOOMBER_STATS_ENABLED": "false", **os.environ}
    try:
        return ForkServer(launcher, [*KERNEL_MODULES, *WARM_UP[""]], cwd=str(WORKSPACE), env=env)
    except OSError as err:  # its Python cannot be started: each kernel's own start reports that
        log.info("no kernel fork server: %s", err)
        return None


# Kernels started ahead of their notebook: two, so that the fork server imports what a later notebook
# needs (charts and %sql for 04) while two short notebooks run, rather than while its kernel is awaited.
LOOK_AHEAD = 2


@dataclass
class _Kernel:
    """One notebook's kernel: a process of its own, started before the notebook's turn."""

    source: Path
    manager: Any = None
    error: BaseException | None = None  # the kernel could not be started: the notebook fails with it
    warm_up: tuple = ()  # the client that sent the warm-up, and its message id
    retired: bool = False  # ended
    reaped: bool = False

    @property
    def pid(self) -> int | None:
        process = getattr(getattr(self.manager, "provisioner", None), "process", None)
        return process.pid if process is not None else None


class _Kernels:
    """The run's kernels, one fresh process per notebook (nothing of one notebook reaches the next),
    forked by the fork server when there is one (:func:`fork_server`), each started while the
    notebook before it runs and warmed up there: the kernel first runs, as
    a silent request queued before the notebook's own, the imports of :func:`warm_up_code`. The
    notebook then finds its modules imported, and its namespace as empty as in any new kernel. A
    kernel is ended once its notebook is done (see :meth:`retire`) and reaped later; all are gone
    before the run's files are scanned for secrets."""

    def __init__(self, kernel_name: str, socket_dir: Path, log_file, forks=None) -> None:
        """``forks``: a fork server to use (and leave open); by default one of its own."""
        self.own_forks = forks is None
        self.forks = fork_server(kernel_name) if forks is None else forks
        from jupyter_client.utils import run_sync  # (jupyter_core's, as jupyter_client uses it)

        self.run_sync = run_sync
        self.manager_class = _kernel_manager_class(socket_dir, log_file, self.forks, _kernel_spec(kernel_name))
        self.kernel_name = kernel_name
        self.kernels: list[_Kernel] = []

    def start(self, source: Path) -> _Kernel:
        kernel = _Kernel(source)
        self.kernels.append(kernel)
        try:
            kernel.manager = self.manager_class(kernel_name=self.kernel_name)
            kernel.manager.modules = warm_up_modules(source)  # imported by the fork server before it forks
            # as nbclient starts a kernel: in the working directory, history in memory (no sqlite file)
            self.run_sync(kernel.manager.start_kernel)(cwd=str(WORKSPACE),
                                                       extra_arguments=["--HistoryManager.hist_file=:memory:"])
            kernel.manager.prepare_client()
            client = kernel.manager.blocking_client()
            client.start_channels(shell=True, iopub=False, stdin=False, hb=False, control=False)
            # queued until the kernel listens; silent: no execution count, no history, no output;
            # stop_on_error off: a failing import never aborts the notebook's requests queued after it
            # (the notebook's own import then fails, in its cell)
            kernel.warm_up = (client, client.execute(warm_up_code(source), silent=True, store_history=False,
                                                     allow_stdin=False, stop_on_error=False))
        except Exception as err:  # noqa: BLE001 - reported as the notebook's failure when its turn comes
            kernel.error = err
        return kernel

    def take(self, kernel: _Kernel, timeout: float = 60.0):
        """The kernel manager for the notebook's turn (its start failure, raised), once the kernel
        has run its warm-up: the notebook's first request would wait for it anyway, and kernels
        started after this one then leave it the CPU meanwhile. A kernel that dies or does not
        answer in ``timeout`` seconds is handed over as it is (nbclient reports it)."""
        if kernel.error is not None:
            raise kernel.error
        started = time.perf_counter()
        client, msg_id = kernel.warm_up
        process = self._process(kernel)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and process is not None and process.poll() is None:
            try:
                reply = client.get_shell_msg(timeout=0.2)
            except queue.Empty:
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                prepared = kernel.manager.prepared
                if prepared is not None:
                    prepared.ready = self._output_arrives(prepared)
                break
        log.info("%s: kernel process %s ready (waited %.2f s)", kernel.source.name, kernel.pid,
                 time.perf_counter() - started)
        return kernel.manager

    def _output_arrives(self, client, timeout: float = 2.0) -> bool:
        """Whether ``client`` receives the kernel's output (its welcome, the warm-up's status); what
        it received is discarded, as jupyter_client's readiness check does."""
        received = 0
        while True:
            try:
                self.run_sync(client.iopub_channel.get_msg)(timeout=0 if received else timeout)
            except queue.Empty:
                return received > 0
            received += 1

    def retire(self, kernel: _Kernel) -> None:
        """Close its clients and end the kernel, without waiting for it to exit. It is terminated
        (SIGTERM, which ipykernel leaves to Python's default: the process ends at once), not asked
        to shut down: its notebook's outputs are in, and it keeps nothing to save (history in
        memory, no files of its own); its database session ends with it, any open transaction
        rolled back by the server, as after a killed kernel. A polite shutdown would spend 0.4 s of
        CPU per kernel on Python's own teardown (freeing pandas and the rest), in competition with
        the next notebook for the two cores."""
        if kernel.retired:
            return
        kernel.retired = True
        for client in getattr(kernel.manager, "clients", []):
            with contextlib.suppress(Exception):
                client.stop_channels()
        process = self._process(kernel)
        if process is not None and process.poll() is None:
            process.terminate()
            log.info("%s: kernel process %s ended", kernel.source.name, process.pid)

    def reap(self, *, wait: float | None = None) -> None:
        """Clean up after retired kernels that have exited; with ``wait``, give the others that many
        seconds and then kill them."""
        deadline = time.monotonic() + (wait or 0.0)
        for kernel in self.kernels:
            if not kernel.retired or kernel.reaped:
                continue
            process = self._process(kernel)
            if process is not None:
                if process.poll() is None and wait is None:
                    continue
                try:
                    process.wait(max(0.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    log.info("kernel %s did not exit in time: killed", process.pid)
                    process.kill()
                    process.wait()
            kernel.reaped = True
            with contextlib.suppress(Exception):
                self.run_sync(kernel.manager.cleanup_resources)()

    def close(self, wait: float = 10.0) -> None:
        """Every kernel ended and reaped (one still there after ``wait`` seconds is killed), then
        the fork server."""
        for kernel in self.kernels:
            self.retire(kernel)
        self.reap(wait=wait)
        if self.forks is not None and self.own_forks:
            self.forks.close(wait=max(wait, 1.0))

    @staticmethod
    def _process(kernel: _Kernel):
        return getattr(getattr(kernel.manager, "provisioner", None), "process", None)


def _failure(err: BaseException, notebook: Path) -> str:
    if isinstance(err, KeyboardInterrupt):
        return f"notebook {notebook.name} was interrupted (Ctrl-C)"
    cell = getattr(err, "exec_count", None)
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", str(err))
    where = f"cell [{cell}]" if cell else "a cell"
    return redact(f"notebook {notebook.name} failed in {where}: {ename}: {evalue}")


def _key_figure(stem: str, run_dir: Path) -> str:
    """One figure that says what a notebook did, from the records it kept."""
    records = _records(run_dir)
    if stem.startswith("02") and "staged" in records:
        staged = ", ".join(f"{rows:,} {table.removeprefix('staging_')}" for table, rows in records["staged"].items())
        return f"staged {staged}; {sum(records.get('rejected', {}).values()):,} rejected"
    if stem.startswith("03") and "checks" in records:
        checks = records["checks"]
        passed = sum(1 for v in checks.values() if v == "pass")
        plays = records.get("tables", {}).get("songplays")
        return f"{passed} of {len(checks)} checks passed" + (f", {plays:,} songplays" if plays is not None else "")
    if stem.startswith("04"):
        return f"{len(list(run_dir.glob('*.csv')))} query results saved as CSV"
    return ""


class _Console:
    """One line per notebook: its name, its seconds and its key figure; while it runs, a progress
    line (on a terminal only)."""

    def __init__(self, echo: Callable[[str], None] | None) -> None:
        self.echo = echo
        self.live = echo is not None and sys.stdout.isatty()

    def started(self, stem: str) -> None:
        if self.live:
            sys.stdout.write(f"  {stem:<28} running...\r")
            sys.stdout.flush()

    def finished(self, stem: str, seconds: float, status: str, figure: str) -> None:
        if self.echo is not None:
            self.echo(f"  {stem:<28} {seconds:5.1f} s  {status:<6} {figure}".rstrip())


def run(config_path: str | None = None, backend: str | None = None, *, run_id: str | None = None,
        reports_dir: Path | None = None, notebook_dir: Path = NOTEBOOKS_DIR, only: list[str] | None = None,
        notebook_params: dict | None = None, echo: Callable[[str], None] | None = None,
        teardown_on_failure: bool = False, wait: bool = True, forks: Any = None) -> Path:
    """Execute the notebooks into a new run folder and export the reports; returns the folder.
    Reports go to ``reports/`` unless ``reports_dir`` or SPARKIFY_REPORTS_DIR says otherwise.
    ``notebook_params`` go to every notebook that declares them (never secrets: refused).
    ``echo`` receives one line per notebook. A failed run ends its message with what still costs
    money (the backend's ``still_running``); ``teardown_on_failure`` first runs the teardown
    notebook (05) after the failure. One run at a time holds the warehouse (sparkify.runlock): a
    second one waits, or with ``wait=False`` is refused. ``forks``: a :func:`fork_server` that
    forks the kernels (by default the run starts its own)."""

    notebook_params = dict(notebook_params or {})
    for name, value in notebook_params.items():
        if any(word in name.lower() for word in ("password", "secret", "key", "token")) or \
                (isinstance(value, str) and value in _known_secrets):
            raise ValueError(f"notebook parameter {name!r}: secrets are never passed to notebooks")
    reports_dir = Path(reports_dir or os.environ.get("SPARKIFY_REPORTS_DIR") or REPORTS_DIR)

    install_log_redaction()
    config = load_config(config_path, backend=backend)  # fail early, before any notebook, on bad settings
    selected = select(notebooks(notebook_dir), only)
    from . import runlock
    from .backends import backend_for

    with runlock.hold(backend_for(config).run_lock(), run_id or "sparkify run", wait=wait, on_wait=echo):
        return _run_holding_the_warehouse(config, selected, notebook_params, reports_dir, notebook_dir, run_id, echo,
                                          teardown_on_failure, forks)


def _run_holding_the_warehouse(config: Config, selected: list[Path], notebook_params: dict, reports_dir: Path,
                               notebook_dir: Path, run_id: str | None, echo: Callable[[str], None] | None,
                               teardown_on_failure: bool, forks: Any) -> Path:
    started_at = dt.datetime.now(dt.timezone.utc)
    run_date = notebook_params.get("run_date") or ""
    run_id = run_id or f"{started_at:%Y%m%dT%H%M%SZ}-{config.backend}" + (f"-day-{run_date}" if run_date else "")
    run_dir = reports_dir / run_id
    for n in range(2, 100):  # two runs that start within the same second never share a folder
        try:
            run_dir.mkdir(parents=True, exist_ok=False)
            break
        except FileExistsError:
            run_dir = reports_dir / f"{run_id}-{n}"
    run_dir = run_dir.resolve()
    handler = logging.FileHandler(run_dir / "run.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter())
    logging.getLogger().addHandler(handler)

    # what every notebook runs with, recorded in its papermill metadata (never a secret)
    run_params = {"config_path": str(Path(config.source).resolve()) if config.source != DEFAULTS else "",
                  "backend": config.backend, "run_dir": str(run_dir), **notebook_params}
    seconds: dict[str, float] = {}
    failure: str | None = None
    failed_notebook: str | None = None
    interrupted = False
    console = _Console(echo)
    still_running: str | None = None
    sockets = Path(tempfile.mkdtemp(prefix="sparkify-kernel-"))  # private (0700): the kernels' IPC sockets
    kernel_log = open(run_dir / "kernel.log", "ab")  # noqa: SIM115 - closed in the finally below
    kernels = _Kernels(_kernel_name(), sockets, kernel_log, forks)
    reports: _Reports | None = None
    ahead: dict[Path, _Kernel] = {}  # kernels started for the notebooks to come

    def execute(source: Path, following: list[Path] = ()) -> str | None:
        """Run one notebook in its kernel, while the kernels of the ``following`` notebooks start;
        the failure message, or None."""
        nonlocal interrupted, reports
        target = run_dir / source.name
        log.info("running %s", source.name)
        console.started(source.stem)
        started = time.perf_counter()
        kernel = ahead.pop(source, None)
        try:
            kernel = kernel or kernels.start(source)
            declared = declared_parameters(source)  # (the first read compiles nbformat's schema) while it warms up
            params = {k: v for k, v in run_params.items() if k in declared}
            manager = kernels.take(kernel)
            if reports is None:  # nbconvert's import once the first kernel is up, not competing with it
                reports = _Reports()
            for upcoming in following:
                if upcoming not in ahead:
                    ahead[upcoming] = kernels.start(upcoming)
            pm.execute_notebook(str(source), str(target), parameters=params, kernel_name=kernels.kernel_name,
                                km=manager, progress_bar=False, log_output=False, request_save_on_cell_execute=False)
        except (Exception, KeyboardInterrupt) as err:  # PapermillExecutionError, kernel failures, Ctrl-C
            seconds[source.stem] = round(time.perf_counter() - started, 2)
            interrupted = isinstance(err, KeyboardInterrupt)
            log.info("FAILED: %s", _failure(err, source))  # the caller reports it; run.log keeps it
            console.finished(source.stem, seconds[source.stem], "FAILED", "")
            return _failure(err, source)
        finally:
            if kernel is not None:
                kernels.retire(kernel)
            if reports is not None and target.exists():  # papermill writes a failed notebook too
                reports.render(target)
            kernels.reap()
        seconds[source.stem] = round(time.perf_counter() - started, 2)
        log.info("%s done in %.1f s", source.name, seconds[source.stem])
        console.finished(source.stem, seconds[source.stem], "ok", _key_figure(source.stem, run_dir))
        return None

    try:
        try:
            for source in selected[:LOOK_AHEAD]:  # booting while this process imports papermill
                ahead[source] = kernels.start(source)
            pm = _import_papermill()
            for number, source in enumerate(selected):
                failure = execute(source, selected[number + 1:number + 1 + LOOK_AHEAD])
                if failure:
                    failed_notebook = source.stem
                    break
        except KeyboardInterrupt:  # between two notebooks: the next one was interrupted
            interrupted = True
            failed_notebook = next((nb.stem for nb in selected if nb.stem not in seconds), selected[-1].stem)
            failure = f"notebook {failed_notebook}.ipynb was interrupted (Ctrl-C)"
        except Exception as err:  # the batch's own (papermill not importable, say): the run is failed, not ok
            log.exception("the batch failed")  # the traceback, in run.log
            failed_notebook = next((nb.stem for nb in selected if nb.stem not in seconds), selected[-1].stem)
            failure = redact(f"the batch failed before notebook {failed_notebook}.ipynb: {type(err).__name__}: {err}")
        for kernel in ahead.values():  # started for a notebook that will not run (now)
            kernels.retire(kernel)
        ahead.clear()
        if failure:
            teardown = next((nb for nb in notebooks(notebook_dir) if nb.stem.startswith("05")), None)
            if teardown_on_failure and teardown is not None and teardown.stem != failed_notebook:
                teardown_failure = execute(teardown)
                failure += f"\nteardown after the failure: {teardown_failure or teardown.stem + ' ran'}"
            still_running = _still_running(config)
            if still_running:
                failure += f"\n{still_running}"
    finally:
        try:
            summary = write_summary(run_dir, config, seconds, failure, failed_notebook, interrupted=interrupted,
                                    started_at=started_at, still_running=still_running)
            if reports is not None:
                reports.write(summary)
            kernels.close()  # every kernel has exited before kernel.log is closed and scanned
            kernel_log.close()
            leaks = find_secrets(run_dir)
            if leaks:  # the run is failed, and never becomes reports/latest
                failure = (f"a configured secret appears in {', '.join(leaks)}: the run folder must not be "
                           f"shared" + (f"\n{failure}" if failure else ""))
                summary = write_summary(run_dir, config, seconds, failure, failed_notebook,
                                        interrupted=interrupted, started_at=started_at, still_running=still_running)
            write_index(reports_dir)
        finally:
            kernels.close(wait=0)  # whatever failed above, no kernel outlives the run
            if reports is not None:
                reports.close()
            kernel_log.close()
            logging.getLogger().removeHandler(handler)
            handler.close()
            shutil.rmtree(sockets, ignore_errors=True)
    if failure:
        raise BatchFailed(failure)
    log.info("run %s finished: %s", run_id, summary["tables"])
    return run_dir


# Imported by papermill and nbformat for what a batch run never uses: papermill's S3 and HDFS
# handlers (boto3; pyarrow, a second or so with pyarrow.fs: notebooks here are local files), and
# jsonschema's IRI format check (rfc3987_syntax builds a grammar at import, 2-3 s on the 2-core
# machine: python-jsonschema/jsonschema#1428; nbformat validates without format checks).
_UNUSED_BY_PAPERMILL = ("papermill.s3", "pyarrow", "rfc3987_syntax")


def _import_papermill():
    """papermill, imported without the modules above (each left out only while papermill and
    nbformat import, and only if nothing imported it before: later imports find it as usual)."""
    left_out = [name for name in _UNUSED_BY_PAPERMILL if name not in sys.modules]
    for name in left_out:
        sys.modules[name] = None  # type: ignore[assignment] - `import name` raises ImportError
    try:
        import nbformat  # noqa: F401 - with jsonschema, before nbconvert imports them on the report thread
        import papermill
    finally:
        for name in left_out:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return papermill


def _yield_to_the_notebooks() -> None:
    """Lower this thread's CPU priority (Linux schedules threads one by one): on two cores, the report
    of the notebook just done is rendered when the running notebook's kernel and the database leave
    a core free, not in their way. The run still waits for every report before it ends."""
    import threading

    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class _Reports:
    """The HTML reports, rendered on one worker thread while the next notebook runs: nbconvert's
    work (the body) as soon as a notebook is done, the header, which shows the run's final summary,
    when the run ends (a template of a few lines). One exporter serves every notebook: its
    templates and styles are read once."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sparkify-reports",
                                       initializer=_yield_to_the_notebooks)
        self.exporter = self.pool.submit(html_exporter)  # nbconvert imported off the notebooks' path
        self.bodies: dict = {}

    def render(self, executed: Path) -> None:
        self.bodies[executed] = self.pool.submit(lambda: render_notebook(executed, self.exporter.result()))

    def write(self, summary: dict) -> None:
        for executed, body in self.bodies.items():
            write_report(executed, executed.with_suffix(".html"), *body.result(), summary)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


# -- reports -------------------------------------------------------------------------------------------
_H2 = re.compile(r'<h2 id="([^"]+)"[^>]*>(.*?)</h2>', re.S)
_H1 = re.compile(r'<h1 id="[^"]*"[^>]*>.*?</h1>', re.S)
_TAG = re.compile(r"<[^>]+>")


def _sections(body: str) -> list[tuple[str, str]]:
    """(anchor, title) of every second-level heading of an exported notebook, in order."""
    return [(anchor, html.unescape(_TAG.sub("", title)).replace("¶", "").strip())
            for anchor, title in _H2.findall(body)]


def _human_time(iso: str | None) -> str:
    return dt.datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC") if iso else ""


def html_exporter():
    """nbconvert's HTML exporter with the report template: no code cells, no prompts."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="sparkify_report", extra_template_basedirs=[str(TEMPLATE_DIR)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    return exporter


def render_notebook(executed: Path, exporter=None) -> tuple[str, str]:
    """The title and the HTML body of an executed notebook (nbconvert's part of a report)."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    exporter = exporter or html_exporter()
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": executed.stem}})
    title = next((line[2:].strip() for cell in notebook.cells if cell.cell_type == "markdown"
                  for line in cell.source.splitlines() if line.startswith("# ")), executed.stem)
    return title, body


def write_report(executed: Path, target: Path, title: str, body: str, summary: dict | None = None) -> Path:
    """The report file: the body, with (given the run's summary) a header saying which run it is, on
    what data, with a table of contents and links to the index and the run's CSV files."""
    if summary is not None:
        header = _template("report_header.html.j2").render(
            title=title, stem=executed.stem, summary=summary, sections=_sections(body),
            started=_human_time(summary.get("started_at")), finished=_human_time(summary.get("finished_at")),
            csvs=sorted(p.name for p in executed.parent.glob("*.csv")),
            analysis=executed.stem.startswith("04"))
        # the header carries the title: the notebook's own first heading would say it twice
        body = _H1.sub("", body, count=1).replace("<main>", "<main>\n" + header, 1)
    target.write_text(body, encoding="utf-8")
    return target


def _template(name: str):
    """A template of templates/, compiled once per process (compiling is most of rendering; jinja
    compiles again when the file changes)."""
    return _templates().get_template(name)


@functools.cache
def _templates():
    import jinja2

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True)


def export_html(executed: Path, target: Path, summary: dict | None = None) -> Path:
    """An executed notebook as an HTML report: no code cells, charts inline, no external URLs, and a
    header saying which run it is, on what data, with a table of contents and links to the index
    and the run's CSV files. (A batch run does the same in two parts: see _Reports.)"""
    return write_report(executed, target, *render_notebook(executed), summary)


def _records(run_dir: Path) -> dict:
    folder = run_dir / "records"
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))} if folder.exists() else {}


def _still_running(config: Config) -> str | None:
    """What the backend says still costs money after a failure (never raises: it is the last word)."""
    from .backends import backend_for

    try:
        return backend_for(config).still_running()
    except Exception as err:  # noqa: BLE001 - the failure being reported matters more
        return f"could not check whether the warehouse still runs: {redact(str(err)).strip()}"


def write_summary(run_dir: Path, config: Config, seconds: dict, failure: str | None,
                  failed_notebook: str | None = None, *, interrupted: bool = False,
                  started_at: dt.datetime | None = None, still_running: str | None = None) -> dict:
    records = _records(run_dir)
    summary = {
        "run_id": run_dir.name,
        "status": "interrupted" if interrupted else "failed" if failure else "ok",
        "error": failure,
        "failed_notebook": failed_notebook,
        "still_running": still_running,
        "backend": config.backend,
        "source": config.sources(),
        "data": config.data_label(),
        "run_date": records.get("run_date"),
        "date_range": records.get("date_range"),
        "tables": records.get("tables", {}),
        "resolved_songplays": records.get("resolved_songplays"),
        "rejected": records.get("rejected", {}),
        "checks": records.get("checks", {}),
        "changes": records.get("changes", {}),
        "staged": records.get("staged", {}),
        "seconds": seconds,
        "started_at": started_at.isoformat(timespec="seconds") if started_at else None,
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2))
    return summary


def write_index(reports_dir: Path = REPORTS_DIR) -> Path:
    """reports/index.html linking every run (newest first) and every file it left, and
    reports/latest -> the newest *successful* run (a failed run never replaces it)."""
    runs = []
    folders = [p for p in reports_dir.iterdir() if p.is_dir() and not p.is_symlink() and (p / "summary.json").exists()]
    for run_dir in sorted(folders, key=lambda p: p.name[:16], reverse=True):  # run ids open with their start time
        summary = json.loads((run_dir / "summary.json").read_text())
        finished = summary.get("finished_at")
        runs.append({
            "id": run_dir.name, "summary": summary, "ok": summary.get("status") == "ok",
            "when": (dt.datetime.fromisoformat(finished).strftime("%Y-%m-%d %H:%M UTC") if finished else ""),
            "error": (summary.get("error") or "").splitlines()[0] if summary.get("error") else "",
            "songplays": summary.get("tables", {}).get("songplays"),
            "reports": sorted(p.name for p in run_dir.glob("*.html")),
            "data": sorted(p.name for p in run_dir.glob("*.csv")),
            "files": [name for name in ("summary.json", "run.log") if (run_dir / name).exists()],
        })
    page = _template("index.html.j2").render(runs=runs)
    index = reports_dir / "index.html"
    atomic_write(index, page)
    latest = reports_dir / "latest"
    newest_ok = next((r["id"] for r in runs if r["ok"]), None)
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    if newest_ok:
        latest.symlink_to(newest_ok, target_is_directory=True)
    return index


def find_secrets(run_dir: Path) -> list[str]:
    """Files of the run folder that contain a configured secret value, as written or in the escaped
    forms a notebook (JSON) or a report (HTML) would hold it in."""
    secrets = {form.encode() for value in _known_secrets
               for form in (value, json.dumps(value)[1:-1], html.escape(value), html.escape(value, quote=False))}
    if not secrets:
        return []
    leaks = []
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(s in data for s in secrets):
                leaks.append(str(path.relative_to(run_dir)))
    return leaks
