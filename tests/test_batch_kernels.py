"""How a batch run runs its kernels (sparkify.batch._Kernels): a fresh kernel process per notebook,
started ahead of the notebook and warmed up, that nothing of an earlier notebook reaches; every
kernel gone when the run ends, whether it succeeded, failed or was interrupted; and reports that
are what the one-notebook export makes of the same executed notebook."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import write_config

from sparkify.batch import BatchFailed, run, warm_up_code

pytestmark = pytest.mark.slow  # every test here starts notebook kernels

# What a notebook sees when it starts, and a trace it leaves for the next ones to find (or not).
PROBE = """import json, os, sys
probe = {"pid": os.getpid(), "ppid": os.getppid(),
         "names": sorted(n for n in globals() if not n.startswith("_")),
         "marker_module": "sparkify_test_marker" in sys.modules,
         "marker_env": "SPARKIFY_TEST_MARKER" in os.environ,
         "warm": "sparkify_helpers" in sys.modules}
marker = 1
sys.modules["sparkify_test_marker"] = sys
os.environ["SPARKIFY_TEST_MARKER"] = "1"
with open(os.path.join(run_dir, f"probe-{name}.json"), "w") as out:
    json.dump(probe, out)
"""


KERNELSPEC = {"name": "sparkify", "display_name": "Python (sparkify)", "language": "python"}


def _notebooks(folder: Path, count: int = 6, fail_in: str | None = None) -> list[str]:
    """``count`` notebooks, each recording its probe; ``fail_in`` raises in its second cell."""
    folder.mkdir()
    names = [f"{n:02d}_probe" for n in range(count)]
    for name in names:
        cells = [nbformat.v4.new_code_cell(f'run_dir = ""\nname = "{name}"', metadata={"tags": ["parameters"]}),
                 nbformat.v4.new_code_cell(PROBE)]
        if name == fail_in:
            cells.append(nbformat.v4.new_code_cell('raise RuntimeError("probe failed on purpose")'))
        notebook = nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": KERNELSPEC,
                                                                   "language_info": {"name": "python"}})
        nbformat.write(notebook, folder / f"{name}.ipynb")
    return names


@pytest.fixture
def config(tmp_path):
    return write_config(tmp_path / "dwh.cfg", {"LOCAL": {"DATA_DIR": str(tmp_path / "warehouse")}})


def _children() -> set[int]:
    """This process's living descendants (a zombie has exited)."""
    alive = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                alive.add(child.pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _kernel_pids(run_dir: Path) -> list[int]:
    return [int(p) for p in re.findall(r"kernel process (\d+) ready", (run_dir / "run.log").read_text())]


def _none_alive(run_dir: Path) -> bool:
    """No kernel the run's log names (ready or ended) still runs: forked kernels are not this test's
    descendants once their server has exited, so _children() alone would not see them."""
    pids = {int(p) for p in re.findall(r"kernel process (\d+)", (run_dir / "run.log").read_text())}
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return bool(pids) and not alive


def test_each_notebook_runs_in_a_fresh_warmed_up_kernel_of_its_own(tmp_path, config, caplog):
    caplog.set_level(logging.INFO, logger="sparkify.batch")  # run.log's level, as `sparkify run` sets it
    before = _children()
    names = _notebooks(tmp_path / "notebooks")
    run_dir = run(str(config), notebook_dir=tmp_path / "notebooks", reports_dir=tmp_path / "reports")
    probes = [json.loads((run_dir / f"probe-{name}.json").read_text()) for name in names]
    assert len({p["pid"] for p in probes}) == 6  # six processes
    parents = {p["ppid"] for p in probes}  # each forked by the run's fork server (sparkify.kernelfork)
    assert len(parents) == 1 and os.getpid() not in parents
    assert sorted(p["pid"] for p in probes) == sorted(_kernel_pids(run_dir))
    for probe in probes:  # nothing of an earlier notebook: no variable, no module
        assert "marker" not in probe["names"] and not probe["marker_module"] and not probe["marker_env"], probe
        assert probe["names"] == probes[0]["names"]
        assert probe["warm"], "the kernel had not imported sparkify_helpers before the notebook"
    assert {"run_dir", "name", "json", "os", "sys"} <= set(probes[0]["names"])
    for name in names:  # the warm-up was silent: the notebook's cells are counted from 1
        executed = nbformat.read(run_dir / f"{name}.ipynb", as_version=4)
        assert [c.execution_count for c in executed.cells] == [1, 2, 3]
        assert (run_dir / f"{name}.html").exists()
    assert _children() == before  # every kernel has exited
    assert not any(psutil.pid_exists(p["pid"]) for p in probes)


def test_a_failed_run_ends_the_kernels_started_ahead(tmp_path, config, caplog):
    """01 fails: the run stops there, names notebook and cell, and the kernels already started for
    02 and 03 are gone with the others."""
    caplog.set_level(logging.INFO, logger="sparkify.batch")
    before = _children()
    _notebooks(tmp_path / "notebooks", fail_in="01_probe")
    with pytest.raises(BatchFailed) as err:
        run(str(config), notebook_dir=tmp_path / "notebooks", reports_dir=tmp_path / "reports")
    assert "notebook 01_probe.ipynb failed in cell [4]: RuntimeError: probe failed on purpose" in str(err.value)
    run_dir = next((tmp_path / "reports").glob("*-local"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "failed" and summary["failed_notebook"] == "01_probe"
    assert not (run_dir / "02_probe.ipynb").exists() and (run_dir / "01_probe.html").exists()
    assert _children() == before and _none_alive(run_dir)
    log = (run_dir / "run.log").read_text()
    assert len(re.findall(r"kernel process \d+ ready", log)) == 2  # 00 and 01 ran; 02 and 03 were started


def test_an_interrupted_run_leaves_no_kernel(tmp_path, config, monkeypatch, caplog):
    """Ctrl-C during the second notebook: status interrupted, and no kernel process left, neither the
    running one nor those started ahead."""
    import papermill

    caplog.set_level(logging.INFO, logger="sparkify.batch")  # run.log names the kernels

    real = papermill.execute_notebook
    calls = []

    def interrupt_the_second(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(papermill, "execute_notebook", interrupt_the_second)
    before = _children()
    _notebooks(tmp_path / "notebooks", count=4)
    with pytest.raises(BatchFailed, match="interrupted"):
        run(str(config), notebook_dir=tmp_path / "notebooks", reports_dir=tmp_path / "reports")
    summary = json.loads(next((tmp_path / "reports").glob("*/summary.json")).read_text())
    assert summary["status"] == "interrupted" and summary["failed_notebook"] == "01_probe"
    assert _children() == before and _none_alive(next((tmp_path / "reports").glob("*-local")))


def test_a_kernel_that_cannot_start_fails_its_notebook(tmp_path, config, monkeypatch):
    """A kernel that fails to start (here: no such kernel) fails the notebook it was for, by name."""
    import sparkify.batch as batch

    monkeypatch.setattr(batch, "_kernel_name", lambda: "no-such-kernel-spec")
    _notebooks(tmp_path / "notebooks", count=2)
    with pytest.raises(BatchFailed, match=r"notebook 00_probe\.ipynb failed in a cell: NoSuchKernel"):
        run(str(config), notebook_dir=tmp_path / "notebooks", reports_dir=tmp_path / "reports")


def test_warm_up_imports_what_the_notebook_uses_and_binds_no_name():
    from conftest import ROOT

    code = {nb.stem[:2]: warm_up_code(nb) for nb in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))}
    assert all("__import__('sparkify_helpers')" in c for c in code.values())
    assert "sparkify.charts" in code["04"] and "sql.magic" in code["04"]
    assert "sparkify.charts" not in code["03"] and "sql.magic" not in code["00"]
    assert "sparkify.copy" in code["02"]
    for text in code.values():  # expressions only: nothing assigned, imported by name or defined
        assert re.fullmatch(r"__import__\('[\w.]+'\)(; __import__\('[\w.]+'\))*", text), text


def test_the_batch_failing_itself_fails_the_run(tmp_path, config, monkeypatch):
    """An error of the batch's own, outside any notebook (here: papermill cannot be imported), fails
    the run by name, and leaves no kernel behind (the first ones were started before it)."""
    import sparkify.batch as batch

    def broken():
        raise ImportError("no module named papermill")

    monkeypatch.setattr(batch, "_import_papermill", broken)
    before = _children()
    _notebooks(tmp_path / "notebooks", count=3)
    with pytest.raises(BatchFailed, match=r"before notebook 00_probe\.ipynb: ImportError: no module named papermill"):
        run(str(config), notebook_dir=tmp_path / "notebooks", reports_dir=tmp_path / "reports")
    summary = json.loads(next((tmp_path / "reports").glob("*/summary.json")).read_text())
    assert summary["status"] == "failed" and summary["failed_notebook"] == "00_probe"
    assert not (tmp_path / "reports" / "latest").exists()
    assert _children() == before
