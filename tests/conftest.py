"""Shared fixtures: a real embedded PostgreSQL in a private data directory, generated data lakes,
configuration files, and a moto server for the AWS control plane."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sparkify.config import load_config  # noqa: E402
from sparkify.generate import PRESETS, generate, params_for  # noqa: E402
from sparkify.pipeline import Session  # noqa: E402
from sparkify.warehouse import LocalWarehouse  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch, tmp_path_factory):
    """No test reads the developer's dwh.cfg or SPARKIFY_* variables."""
    for name in list(os.environ):
        if name.startswith("SPARKIFY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PLOOMBER_STATS_ENABLED", "false")
    empty = tmp_path_factory.getbasetemp() / "empty.cfg"
    empty.write_text("")
    monkeypatch.setenv("SPARKIFY_CONFIG", str(empty))


def _public_tmpdir(prefix: str) -> Path:
    """A directory the server's system user can reach when the tests run as root (pytest's own
    tmp folders are 0700); we own it, so opening it up loosens nothing of anyone else's."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@contextlib.contextmanager
def scratch_warehouse_dir(prefix: str):
    """A data directory for a warehouse of the test's own, stopped and deleted afterwards."""
    path = _public_tmpdir(prefix)
    try:
        yield path
    finally:
        LocalWarehouse(path).stop()
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse_dir():
    with scratch_warehouse_dir("sparkify-test-wh-") as path:
        yield path


@pytest.fixture(scope="session")
def warehouse(warehouse_dir) -> LocalWarehouse:
    wh = LocalWarehouse(warehouse_dir)
    wh.start()
    return wh


def write_config(path: Path, sections: dict[str, dict[str, object]]) -> Path:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {value}" for key, value in values.items())
        lines.append("")
    path.write_text("\n".join(lines))
    path.chmod(0o600)  # as a dwh.cfg holding secrets should be (a readable one is warned about)
    return path


def lake_sections(lake: Path) -> dict[str, str]:
    return {"LOG_DATA": str(lake / "log_data"), "SONG_DATA": str(lake / "song_data"),
            "LOG_JSONPATH": str(lake / "log_json_path.json")}


@pytest.fixture
def make_config(tmp_path, warehouse_dir):
    """Write a dwh.cfg for the test warehouse (and optionally a lake) and load it."""

    def make(lake: Path | None = None, **sections):
        merged = {"LOCAL": {"DATA_DIR": str(warehouse_dir)}}
        if lake is not None:
            merged["S3"] = lake_sections(lake)
        for name, values in sections.items():
            merged.setdefault(name, {}).update(values)
        path = write_config(tmp_path / "dwh.cfg", merged)
        return load_config(path)

    return make


@pytest.fixture
def session(warehouse, make_config):
    """A Session on the test warehouse with freshly created tables."""
    with Session(make_config()) as s:
        s.create_tables()
        yield s


@pytest.fixture
def scratch_table(session):
    """make(name, ddl): a table of the test's own on the test warehouse (and stl_load_errors), dropped
    afterwards; returns the session's connection."""
    made: list[str] = []

    def make(name: str, ddl: str):
        with session.conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            cur.execute(ddl)
            session.execute("emulator/create_stl_load_errors")
        session.conn.commit()
        made.append(name)
        return session.conn

    yield make
    session.conn.rollback()
    with session.conn.cursor() as cur:
        for name in made:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
    session.conn.commit()


@pytest.fixture(scope="session")
def udacity_lake(tmp_path_factory):
    out = tmp_path_factory.mktemp("udacity_lake")
    manifest = generate(str(out), PRESETS["udacity"])
    return out, manifest


@pytest.fixture(scope="session")
def small_lake(tmp_path_factory):
    out = tmp_path_factory.mktemp("small_lake")
    params = params_for("demo", events=1500, songs=300, artists=150, played_songs=250, days=7, seed=7)
    manifest = generate(str(out), params)
    return out, manifest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    """A moto server on 127.0.0.1 (the AWS control plane cannot be reached offline)."""
    port = _free_port()
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true", AWS_ACCESS_KEY_ID="testing",
               AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-west-2")
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("moto server did not start")
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def aws_env(monkeypatch, moto_server):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    urllib.request.urlopen(urllib.request.Request(moto_server + "/moto-api/reset", method="POST"))
    return moto_server
