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
import json
import logging
import os
import time
from pathlib import Path

from .atomicfile import atomic_write
from .config import (
    DEFAULTS,
    PROJECT_ROOT,
    Config,
    RedactingFilter,
    _known_secrets,
    install_log_redaction,
    load_config,
    redact,
)

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
REPORTS_DIR = PROJECT_ROOT / "reports"
KERNEL = "sparkify"
TEMPLATE_DIR = Path(__file__).parent / "templates"
log = logging.getLogger("sparkify.batch")


class BatchFailed(RuntimeError):
    """A notebook failed; the message names the notebook, the cell and the error."""


def notebooks(directory: Path = NOTEBOOKS_DIR) -> list[Path]:
    return sorted(p for p in directory.glob("[0-9][0-9]_*.ipynb"))


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return KERNEL if KERNEL in specs else "python3"


def export_html(executed: Path, target: Path) -> Path:
    """An executed notebook as an HTML report: no code cells, charts inline, no external URLs."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="sparkify_report", extra_template_basedirs=[str(TEMPLATE_DIR)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    notebook = nbformat.read(executed, as_version=4)
    body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": executed.stem}})
    target.write_text(body, encoding="utf-8")
    return target


def _failure(err: Exception, notebook: Path) -> str:
    cell = getattr(err, "exec_count", None)
    ename = getattr(err, "ename", type(err).__name__)
    evalue = getattr(err, "evalue", str(err))
    where = f"cell [{cell}]" if cell else "a cell"
    return redact(f"notebook {notebook.name} failed in {where}: {ename}: {evalue}")


def run(config_path: str | None = None, backend: str | None = None, *, run_id: str | None = None,
        reports_dir: Path | None = None, notebook_dir: Path = NOTEBOOKS_DIR, only: list[str] | None = None,
        notebook_params: dict | None = None) -> Path:
    """Execute the notebooks into a new run folder and export the reports; returns the folder.
    Reports go to ``reports/`` unless ``reports_dir`` or SPARKIFY_REPORTS_DIR says otherwise.
    ``notebook_params`` go to every notebook that declares them (never secrets: refused)."""
    import papermill as pm

    notebook_params = dict(notebook_params or {})
    for name, value in notebook_params.items():
        if any(word in name.lower() for word in ("password", "secret", "key", "token")) or \
                (isinstance(value, str) and value in _known_secrets):
            raise ValueError(f"notebook parameter {name!r}: secrets are never passed to notebooks")
    reports_dir = Path(reports_dir or os.environ.get("SPARKIFY_REPORTS_DIR") or REPORTS_DIR)

    install_log_redaction()
    config = load_config(config_path, backend=backend)  # fail early, before any notebook, on bad settings
    run_id = run_id or f"{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{config.backend}"
    run_dir = reports_dir / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
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
    kernel = _kernel_name()
    selected = [nb for nb in notebooks(notebook_dir) if not only or nb.stem[:2] in only or nb.stem in only]
    try:
        for source in selected:
            target = run_dir / source.name
            log.info("running %s", source.name)
            started = time.perf_counter()
            try:
                declared = {p for p in pm.inspect_notebook(str(source))}
                params = {k: v for k, v in run_params.items() if k in declared}
                pm.execute_notebook(str(source), str(target), parameters=params, kernel_name=kernel,
                                    cwd=str(notebook_dir), progress_bar=False, log_output=False,
                                    request_save_on_cell_execute=False)
            except Exception as err:  # PapermillExecutionError and kernel failures
                seconds[source.stem] = round(time.perf_counter() - started, 2)
                failure, failed_notebook = _failure(err, source), source.stem
                log.error(failure)
                break
            finally:
                if target.exists():
                    export_html(target, run_dir / f"{source.stem}.html")
            seconds[source.stem] = round(time.perf_counter() - started, 2)
            log.info("%s done in %.1f s", source.name, seconds[source.stem])
    finally:
        summary = write_summary(run_dir, config, seconds, failure, failed_notebook)
        write_index(reports_dir)
        logging.getLogger().removeHandler(handler)
        handler.close()
    leaks = find_secrets(run_dir)
    if leaks:
        raise BatchFailed(f"a configured secret appears in {', '.join(leaks)}: the run folder must not be shared")
    if failure:
        raise BatchFailed(failure)
    log.info("run %s finished: %s", run_id, summary["tables"])
    return run_dir


def write_summary(run_dir: Path, config: Config, seconds: dict, failure: str | None,
                  failed_notebook: str | None = None) -> dict:
    records = {}
    for path in sorted((run_dir / "records").glob("*.json")) if (run_dir / "records").exists() else []:
        records[path.stem] = json.loads(path.read_text())
    summary = {
        "run_id": run_dir.name,
        "status": "failed" if failure else "ok",
        "error": failure,
        "failed_notebook": failed_notebook,
        "backend": config.backend,
        "source": config.sources(),
        "tables": records.get("tables", {}),
        "resolved_songplays": records.get("resolved_songplays"),
        "rejected": records.get("rejected", {}),
        "checks": records.get("checks", {}),
        "seconds": seconds,
        "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write(run_dir / "summary.json", json.dumps(summary, indent=2))
    return summary


def write_index(reports_dir: Path = REPORTS_DIR) -> Path:
    """reports/index.html linking every run (newest first) and every file it left, and
    reports/latest -> the newest *successful* run (a failed run never replaces it)."""
    import jinja2

    runs = []
    for run_dir in sorted((p for p in reports_dir.iterdir() if p.is_dir() and not p.is_symlink()
                           and (p / "summary.json").exists()), key=lambda p: p.name, reverse=True):
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
    """Files of the run folder that contain a configured secret value."""
    secrets = [s.encode() for s in _known_secrets]
    if not secrets:
        return []
    leaks = []
    for path in run_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(s in data for s in secrets):
                leaks.append(str(path.relative_to(run_dir)))
    return leaks
