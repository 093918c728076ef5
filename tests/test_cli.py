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
    assert "local warehouse stopped" in capsys.readouterr().out
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
