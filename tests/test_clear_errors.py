"""Clear errors (issue 14, sections 2 and 6): a run that did not do what was asked is never a success,
and every failure names its cause and what to do: an empty lake, a server killed mid-load, a full
disk under reports/, AWS out of reach, notebook parameters of the wrong type or value."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, scratch_warehouse_dir, write_config

from sparkify.config import load_config
from sparkify.parameters import ParameterError, check_parameters
from sparkify.pipeline import EmptySource, Session
from sparkify.warehouse import LocalWarehouse


# -- an empty lake ---------------------------------------------------------------------------------
@pytest.fixture
def empty_lake(tmp_path, small_lake):
    """The small lake's catalog with log files that are all empty."""
    lake, _ = small_lake
    empty = tmp_path / "empty_lake"
    (empty / "log_data" / "2018" / "11").mkdir(parents=True)
    for day in (1, 2):
        (empty / "log_data" / "2018" / "11" / f"2018-11-0{day}-events.json").write_bytes(b"")
    (empty / "song_data").symlink_to(lake / "song_data")
    (empty / "log_json_path.json").symlink_to(lake / "log_json_path.json")
    return empty


def test_an_empty_lake_fails_the_stage_unless_allowed(warehouse, make_config, empty_lake):
    config = make_config(empty_lake)
    with Session(config) as s:
        s.create_tables()
        with pytest.raises(EmptySource) as err:
            s.stage("staging_events", progress=False)
        message = str(err.value)
        assert "read 0 records" in message and str(empty_lake / "log_data") in message
        assert "[S3] LOG_DATA" in message and config.source in message and "allow_empty" in message
        report = s.stage("staging_events", progress=False, allow_empty=True)
        assert (report.files, report.records_read) == (2, 0)


def _papermill(notebook: str, params: dict, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run one notebook with papermill in a child process (as `sparkify run` does)."""
    from sparkify.batch import _kernel_name

    script = ("import json, sys, papermill as pm; pm.execute_notebook(sys.argv[1], sys.argv[2], "
              "parameters=json.loads(sys.argv[3]), kernel_name=sys.argv[4], cwd=sys.argv[5], progress_bar=False)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", script, str(ROOT / "notebooks" / notebook),
                           str(tmp_path / notebook), json.dumps(params), _kernel_name(), str(ROOT / "notebooks")],
                          capture_output=True, text=True, timeout=300, env=env)


def test_notebook_02_fails_on_an_empty_lake_and_passes_with_allow_empty(warehouse, warehouse_dir, empty_lake,
                                                                         tmp_path):
    from conftest import lake_sections

    config = write_config(tmp_path / "dwh.cfg", {"LOCAL": {"DATA_DIR": str(warehouse_dir)},
                                                 "S3": lake_sections(empty_lake)})
    with Session(load_config(config)) as s:
        s.create_tables()
    failed = _papermill("02_stage_source_data.ipynb", {"config_path": str(config)}, tmp_path)
    assert failed.returncode != 0 and "EmptySource" in failed.stderr and "read 0 records" in failed.stderr
    allowed = _papermill("02_stage_source_data.ipynb", {"config_path": str(config), "allow_empty": True}, tmp_path)
    assert allowed.returncode == 0, allowed.stderr[-2000:]


# -- notebook parameters ---------------------------------------------------------------------------
@pytest.mark.parametrize(("params", "named"), [
    ({"max_errors": -5}, "max_errors = -5 (int) is not valid: max_errors must be a whole number, 0 or more"),
    ({"max_errors": "abc"}, "max_errors = 'abc' (str) is not valid"),
    ({"max_errors": 2.5}, "max_errors = 2.5 (float)"),
    ({"max_errors": True}, "max_errors = True (bool)"),
    ({"chart_width": "abc"}, "chart_width = 'abc' (str) is not valid: chart_width must be a number of inches"),
    ({"chart_height": 0}, "chart_height = 0 (int)"),
    ({"chart_width": float("nan")}, "chart_width = nan"),
    ({"top_n": 0}, "top_n = 0 (int) is not valid: top_n must be a whole number from 1 to 1000"),
    ({"allow_empty": "yes"}, "allow_empty = 'yes' (str) is not valid: allow_empty must be True or False"),
    ({"backend": "oracle"}, "backend = 'oracle'"),
    ({"wait_minutes": -1}, "wait_minutes = -1"),
    ({"keep_warehouse": 1}, "keep_warehouse = 1 (int)"),
])
def test_a_bad_notebook_parameter_is_named_with_what_is_valid(params, named):
    with pytest.raises(ParameterError) as err:
        check_parameters(**params)
    assert named in str(err.value)


def test_good_notebook_parameters_pass_and_unknown_ones_are_a_programming_error():
    check_parameters(config_path="", backend="local", run_dir="", max_errors=0, allow_empty=False, top_n=10,
                     chart_width=9.0, chart_height=4, create_cluster=True, wait_minutes=30, test_connection=False,
                     keep_warehouse=False, final_snapshot=True)
    with pytest.raises(ParameterError, match="'colour' has no rule"):
        check_parameters(colour="red")


def test_every_notebook_checks_every_parameter_it_declares():
    import nbformat

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        declared = [line.split(":")[0].strip() for c in nb.cells if "parameters" in c.metadata.get("tags", [])
                    for line in c.source.splitlines() if line.strip()]
        settings = next(c.source for c in nb.cells if c.cell_type == "code" and "h.settings(" in c.source)
        call = settings[settings.index("h.check_parameters("):settings.index("h.settings(")]
        for name in declared:
            assert f"{name}={name}" in call, f"{path.name}: parameter {name} is not checked"


def test_a_notebook_given_a_bad_parameter_fails_naming_it(tmp_path):
    result = _papermill("02_stage_source_data.ipynb", {"max_errors": "abc"}, tmp_path)
    assert result.returncode != 0
    assert "ParameterError" in result.stderr and "max_errors = 'abc' (str) is not valid" in result.stderr


# -- a server killed mid-load ----------------------------------------------------------------------
def test_a_server_killed_mid_load_names_the_cause_and_what_to_do(tmp_path, udacity_lake, monkeypatch):
    from conftest import lake_sections

    from sparkify.copy import sources
    from sparkify.errors import WarehouseError

    lake, _ = udacity_lake
    with scratch_warehouse_dir("sparkify-test-killed-") as data_dir:
        config = load_config(write_config(tmp_path / "dwh.cfg", {"LOCAL": {"DATA_DIR": str(data_dir)},
                                                                 "S3": lake_sections(lake)}))
        with Session(config) as s:
            s.create_tables()
            with s.conn.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                backend_pid = cur.fetchone()[0]
            s.conn.commit()
            server = LocalWarehouse(data_dir).status().pid
            original_open = sources.Storage.open
            opened = []

            def open_then_kill(self, uri):
                opened.append(uri)
                if len(opened) == 3:  # two files are on their way to the server: kill it
                    os.kill(server, signal.SIGKILL)
                    os.kill(backend_pid, signal.SIGKILL)
                    psutil.wait_procs([psutil.Process(backend_pid)], timeout=10)
                yield from original_open(self, uri)

            monkeypatch.setattr(sources.Storage, "open", open_then_kill)
            with pytest.raises(WarehouseError) as err:
                s.stage("staging_events", progress=False)
        message = str(err.value)
        assert "closed the connection during COPY staging_events" in message
        assert "nothing was loaded" in message and "sparkify status" in message
        assert "SystemError" not in message and "returned a result with an exception set" not in message
        assert not isinstance(err.value.__cause__, SystemError) or err.value.__suppress_context__
        monkeypatch.setattr(sources.Storage, "open", original_open)
        with Session(config) as s:  # the next run succeeds
            assert s.stage("staging_events", progress=False).rows_rejected == 0


# -- AWS out of reach ------------------------------------------------------------------------------
def test_status_on_redshift_with_aws_unreachable_is_one_clear_line(tmp_path, capsys, monkeypatch):
    from conftest import _free_port

    from sparkify.cli import main

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # a refused connection need not be retried here
    config = write_config(tmp_path / "dwh.cfg", {
        "AWS": {"KEY": "FAKEKEYUNREACHABLE1", "SECRET": "FakeSecretUnreachable123",
                "ENDPOINT_URL": f"http://127.0.0.1:{_free_port()}"},
        "DWH": {"DWH_BACKEND": "redshift"}})
    assert main(["--config", str(config), "status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("sparkify status failed: cannot reach AWS (EndpointConnectionError")
    assert "[AWS] ENDPOINT_URL" in err and str(config) in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "FakeSecretUnreachable123" not in err


# -- a full disk under reports/ ----------------------------------------------------------------------
@pytest.fixture
def full_disk():
    """A tiny file system, filled up (a tmpfs mounted when root; else a real full device is not at
    hand and the test is skipped)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    import tempfile

    mount = Path(tempfile.mkdtemp(prefix="sparkify-test-fulldisk-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
        mount.rmdir()


def _fill(mount: Path) -> None:
    fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError as err:
        assert err.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_full_disk_under_reports_keeps_the_previous_files_and_names_the_disk(full_disk, capsys):
    from sparkify.batch import write_index, write_summary
    from sparkify.cli import _explain
    from sparkify.errors import DiskWriteError

    reports = full_disk / "reports"
    run_dir = reports / "20181130T000000Z-local"
    run_dir.mkdir(parents=True)
    config = load_config()
    first = write_summary(run_dir, config, {"00_provision_warehouse": 1.0}, None)
    write_index(reports)
    summary_before = (run_dir / "summary.json").read_bytes()
    index_before = (reports / "index.html").read_bytes()
    (run_dir / "records").mkdir()
    (run_dir / "records" / "tables.json").write_text(json.dumps({"songplays": 7} | {f"t{i}": i for i in range(9)}))
    _fill(full_disk)
    with pytest.raises(DiskWriteError) as err:
        write_summary(run_dir, config, {"00_provision_warehouse": 1.0, "01_create_tables": 2.0}, None)
    message = str(err.value)
    assert f"cannot write {run_dir / 'summary.json'}: No space left on device" in message
    assert f"mounted at {full_disk}" in message and "the previous file is unchanged" in message
    assert (run_dir / "summary.json").read_bytes() == summary_before and first["status"] == "ok"
    with pytest.raises(DiskWriteError, match="index.html: No space left on device"):
        write_index(reports)
    assert (reports / "index.html").read_bytes() == index_before
    assert [p.name for p in [*reports.rglob(".*.tmp")]] == []  # no temporary file left behind
    assert _explain(err.value, None).startswith("cannot write")  # `sparkify run` prints it in one line

