"""The `sparkify` command: status, stop, and configuration errors as exit codes."""

from conftest import write_config

from sparkify.cli import main
from sparkify.warehouse import LocalWarehouse


def test_status_and_stop(tmp_path, capsys, warehouse_dir, warehouse):
    config = write_config(tmp_path / "dwh.cfg", {"LOCAL": {"DATA_DIR": str(warehouse_dir)}})
    assert main(["--config", str(config), "status"]) == 0
    out = capsys.readouterr().out
    assert "backend: local" in out and "local warehouse running: PostgreSQL 18" in out
    assert main(["--config", str(config), "stop"]) == 0
    assert "local warehouse: stopped" in capsys.readouterr().out
    assert main(["--config", str(config), "status"]) == 0
    assert "local warehouse stopped" in capsys.readouterr().out
    assert main(["--config", str(config), "stop"]) == 0
    assert "was not running" in capsys.readouterr().out
    LocalWarehouse(warehouse_dir).start()  # the session's other tests expect it running


def test_configuration_errors_exit_2_naming_key_and_file(tmp_path, capsys):
    config = write_config(tmp_path / "bad.cfg", {"DWH": {"DWH_BACKEND": "oracle"}})
    assert main(["--config", str(config), "status"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err and "[DWH] DWH_BACKEND" in err and str(config) in err


def _tree_digest(root) -> dict[str, str]:
    import hashlib

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != "generator_manifest.json"}


def test_generate_honours_the_local_sample_settings_and_flags_override_them(tmp_path, capsys):
    """[LOCAL] SAMPLE_PRESET/SAMPLE_SEED/SAMPLE_DIR give byte for byte the lake the flags give."""
    config = write_config(tmp_path / "dwh.cfg", {"LOCAL": {"SAMPLE_PRESET": "udacity", "SAMPLE_SEED": 7,
                                                           "SAMPLE_DIR": str(tmp_path / "from-config")}})
    assert main(["--config", str(config), "generate"]) == 0
    assert main(["--config", str(config), "generate", "--preset", "udacity", "--seed", "7",
                 "--out", str(tmp_path / "from-flags")]) == 0
    assert main(["--config", str(config), "generate", "--seed", "8", "--out", str(tmp_path / "seed-8")]) == 0
    capsys.readouterr()
    from_config = _tree_digest(tmp_path / "from-config")
    assert len(from_config) > 1000  # the udacity preset: thousands of song files
    assert from_config == _tree_digest(tmp_path / "from-flags")
    assert from_config != _tree_digest(tmp_path / "seed-8")


def test_a_backfill_resets_before_its_first_day_only(tmp_path, monkeypatch, capsys):
    """`--reset` with `--from/--to` drops the tables once, not before every day."""
    import json

    import sparkify.batch as batch

    calls = []

    def fake_run(config, backend, *, notebook_params, **kwargs):
        calls.append(dict(notebook_params))
        run_dir = tmp_path / f"run{len(calls)}"
        run_dir.mkdir()
        (run_dir / "summary.json").write_text(json.dumps({"tables": {}, "seconds": {}}))
        return run_dir

    monkeypatch.setattr(batch, "run", fake_run)
    config = write_config(tmp_path / "dwh.cfg", {})
    assert main(["--config", str(config), "run", "--reset", "--from", "2018-11-01", "--to", "2018-11-03"]) == 0
    assert [(c["run_date"], c["reset"]) for c in calls] == [("2018-11-01", True), ("2018-11-02", False),
                                                          ("2018-11-03", False)]


def test_sparkify_sql_runs_one_query_and_refuses_anything_else(tmp_path, capsys, warehouse_dir, warehouse):
    config = write_config(tmp_path / "dwh.cfg", {"LOCAL": {"DATA_DIR": str(warehouse_dir)}})
    assert main(["--config", str(config), "sql", "SELECT 1 + 1 AS two, 'a,b' AS text"]) == 0
    assert capsys.readouterr().out.splitlines() == ["two,text", '2,"a,b"']
    assert main(["--config", str(config), "sql", "DELETE FROM users"]) == 1
    assert "not a query" in capsys.readouterr().err
    assert main(["--config", str(config), "sql", "SELECT 1; DROP TABLE users"]) == 2
    assert "expected one statement" in capsys.readouterr().err
    assert main(["--config", str(config), "sql", "SELECT nope FROM pg_class"]) == 1
    assert 'column "nope" does not exist' in capsys.readouterr().err


def test_only_naming_no_notebook_is_an_error_not_an_empty_success(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SPARKIFY_REPORTS_DIR", str(tmp_path / "reports"))
    config = write_config(tmp_path / "dwh.cfg", {})
    assert main(["--config", str(config), "run", "--only", "99"]) == 2
    assert "no notebook 99: choose from 00, 01, 02, 03, 04, 05" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


def test_ctrl_c_marks_the_run_interrupted_with_one_line(tmp_path, capsys, monkeypatch, warehouse_dir):
    import json

    import papermill

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(papermill, "execute_notebook", interrupted)
    monkeypatch.setenv("SPARKIFY_REPORTS_DIR", str(tmp_path / "reports"))
    config = write_config(tmp_path / "dwh.cfg", {"LOCAL": {"DATA_DIR": str(warehouse_dir)}})
    assert main(["--config", str(config), "run", "--only", "00"]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "Traceback" not in err
    summary = json.loads(next((tmp_path / "reports").glob("*/summary.json")).read_text())
    assert summary["status"] == "interrupted" and summary["failed_notebook"] == "00_provision_warehouse"
    assert not (tmp_path / "reports" / "latest").exists()


def test_the_program_exits_with_mains_code_and_flushes_its_output(tmp_path):
    """`sparkify` (console: main, then the process ends without Python's teardown) keeps main's exit
    code and everything it printed, and leaves no fork server behind."""
    import os
    import subprocess
    import sys

    import psutil

    config = write_config(tmp_path / "dwh.cfg", {})
    env = dict(os.environ, SPARKIFY_REPORTS_DIR=str(tmp_path / "reports"))
    def servers() -> set[int]:
        return {p.pid for p in psutil.process_iter(["cmdline"]) if "sparkify.kernelfork" in (p.info["cmdline"] or [])}

    before = servers()
    done = subprocess.run([sys.executable, "-m", "sparkify.cli", "--config", str(config), "run", "--only", "99"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().endswith("no notebook 99: choose from 00, 01, 02, 03, 04, 05")
    bad_day = subprocess.run([sys.executable, "-m", "sparkify.cli", "--config", str(config), "run",
                              "--date", "2018-02-30"], capture_output=True, text=True, env=env, timeout=120)
    assert bad_day.returncode == 2 and "sparkify run:" in bad_day.stderr
    assert servers() <= before


def test_a_runs_last_line_says_what_it_left_and_never_counts_tables_it_did_not_load():
    from sparkify.cli import _outcome

    transformed = {"tables": {"songplays": 2463013, "users": 100, "songs": 15000}, "staged": {"staging_events": 3},
                   "changes": {"songplays": {"added": 102467, "updated": 5}}}
    assert _outcome(transformed) == ": 2,463,013 songplays (102,467 added, 5 updated), 100 users, 15,000 songs"
    # `--only 00 01 02`: the star schema was not counted, so no "0 songplays" for a warehouse that holds millions
    staged = {"tables": {}, "staged": {"staging_events": 3000000, "staging_songs": 15000}}
    assert _outcome(staged) == ": staged 3,000,000 events, 15,000 songs (not transformed in this run)"
    assert _outcome({"tables": {}, "staged": {}}) == ""
