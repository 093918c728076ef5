"""The batch run: every notebook in order through papermill, then offline HTML reports.

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

import datetime as dt
import html
import json
import logging
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

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
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL if KERNEL in specs else "python3"


def declared_parameters(source: Path) -> dict[str, dict]:
    """The parameters a notebook declares in its ``parameters`` cell (as papermill reads them)."""
    import nbformat
    from papermill.translators import PythonTranslator

    notebook = nbformat.read(source, as_version=4)
    cell = next((c for c in notebook.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    return {p.name: p._asdict() for p in PythonTranslator.inspect(cell)} if cell is not None else {}


def _kernel_manager_class(socket_dir: Path, log_file) -> type:
    """Kernels over IPC (Unix sockets in a private folder) rather than TCP: nothing listens on a
    port, and the kernel has no reason to warn about unencrypted TCP. A kernel's own output
    (ipykernel's messages, e.g. on the interrupt sent at shutdown) goes to the run's kernel.log, not
    the console. nbclient creates, and so shuts down, each kernel from this class."""
    from jupyter_client.manager import AsyncKernelManager

    class RunKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs) -> None:
            super().__init__(transport="ipc", ip=str(socket_dir / "kernel"), **kwargs)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            kw.update(stdout=log_file, stderr=log_file)
            return await super()._async_launch_kernel(kernel_cmd, **kw)

    return RunKernelManager


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
        teardown_on_failure: bool = False, wait: bool = True) -> Path:
    """Execute the notebooks into a new run folder and export the reports; returns the folder.
    Reports go to ``reports/`` unless ``reports_dir`` or SPARKIFY_REPORTS_DIR says otherwise.
    ``notebook_params`` go to every notebook that declares them (never secrets: refused).
    ``echo`` receives one line per notebook. A failed run ends its message with what still costs
    money (the backend's ``still_running``); ``teardown_on_failure`` first runs the teardown
    notebook (05) after the failure. One run at a time holds the warehouse (sparkify.runlock): a
    second one waits, or with ``wait=False`` is refused."""

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
                                          teardown_on_failure)


def _run_holding_the_warehouse(config: Config, selected: list[Path], notebook_params: dict, reports_dir: Path,
                               notebook_dir: Path, run_id: str | None, echo: Callable[[str], None] | None,
                               teardown_on_failure: bool) -> Path:
    import papermill as pm

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
    kernel = _kernel_name()
    console = _Console(echo)
    still_running: str | None = None
    sockets = Path(tempfile.mkdtemp(prefix="sparkify-kernel-"))  # private (0700): the kernels' IPC sockets
    kernel_log = open(run_dir / "kernel.log", "ab")  # noqa: SIM115 - closed in the finally below

    def execute(source: Path) -> str | None:
        """Run one notebook; the failure message, or None."""
        nonlocal interrupted
        target = run_dir / source.name
        log.info("running %s", source.name)
        console.started(source.stem)
        started = time.perf_counter()
        try:
            params = {k: v for k, v in run_params.items() if k in declared_parameters(source)}
            pm.execute_notebook(str(source), str(target), parameters=params, kernel_name=kernel,
                                cwd=str(WORKSPACE), progress_bar=False, log_output=False,
                                request_save_on_cell_execute=False,
                                kernel_manager_class=_kernel_manager_class(sockets, kernel_log))
        except (Exception, KeyboardInterrupt) as err:  # PapermillExecutionError, kernel failures, Ctrl-C
            seconds[source.stem] = round(time.perf_counter() - started, 2)
            interrupted = isinstance(err, KeyboardInterrupt)
            log.info("FAILED: %s", _failure(err, source))  # the caller reports it; run.log keeps it
            console.finished(source.stem, seconds[source.stem], "FAILED", "")
            return _failure(err, source)
        seconds[source.stem] = round(time.perf_counter() - started, 2)
        log.info("%s done in %.1f s", source.name, seconds[source.stem])
        console.finished(source.stem, seconds[source.stem], "ok", _key_figure(source.stem, run_dir))
        return None

    try:
        for source in selected:
            failure = execute(source)
            if failure:
                failed_notebook = source.stem
                break
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
            kernel_log.close()
            summary = write_summary(run_dir, config, seconds, failure, failed_notebook, interrupted=interrupted,
                                    started_at=started_at, still_running=still_running)
            for source in notebooks(notebook_dir):
                if (run_dir / source.name).exists():
                    export_html(run_dir / source.name, run_dir / f"{source.stem}.html", summary)
            leaks = find_secrets(run_dir)
            if leaks:  # the run is failed, and never becomes reports/latest
                failure = (f"a configured secret appears in {', '.join(leaks)}: the run folder must not be "
                           f"shared" + (f"\n{failure}" if failure else ""))
                summary = write_summary(run_dir, config, seconds, failure, failed_notebook,
                                        interrupted=interrupted, started_at=started_at, still_running=still_running)
            write_index(reports_dir)
        finally:
            logging.getLogger().removeHandler(handler)
            handler.close()
            for leftover in sockets.iterdir():
                leftover.unlink()
            sockets.rmdir()
    if failure:
        raise BatchFailed(failure)
    log.info("run %s finished: %s", run_id, summary["tables"])
    return run_dir


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


def export_html(executed: Path, target: Path, summary: dict | None = None) -> Path:
    """An executed notebook as an HTML report: no code cells, charts inline, no external URLs, and a
    header saying which run it is, on what data, with a table of contents and links to the index
    and the run's CSV files."""
    import jinja2
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="sparkify_report", extra_template_basedirs=[str(TEMPLATE_DIR)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    notebook = nbformat.read(executed, as_version=4)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": executed.stem}})
    if summary is not None:
        title = next((line[2:].strip() for cell in notebook.cells if cell.cell_type == "markdown"
                      for line in cell.source.splitlines() if line.startswith("# ")), executed.stem)
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True)
        header = env.get_template("report_header.html.j2").render(
            title=title, stem=executed.stem, summary=summary, sections=_sections(body),
            started=_human_time(summary.get("started_at")), finished=_human_time(summary.get("finished_at")),
            csvs=sorted(p.name for p in executed.parent.glob("*.csv")),
            analysis=executed.stem.startswith("04"))
        # the header carries the title: the notebook's own first heading would say it twice
        body = _H1.sub("", body, count=1).replace("<main>", "<main>\n" + header, 1)
    target.write_text(body, encoding="utf-8")
    return target


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
    import jinja2

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
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True)
    page = env.get_template("index.html.j2").render(runs=runs)
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
