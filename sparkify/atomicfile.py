"""Run files written whole or not at all: a temporary file in the same folder, flushed to disk, then
renamed over the target (a rename within one file system is atomic). A full disk leaves the previous
file as it was, never a zero-length one, and the error names the file and the disk."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from .errors import DiskWriteError


def atomic_write(path: str | Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically; DiskWriteError (naming file and disk) when it cannot."""
    path = Path(path)
    payload = data.encode(encoding) if isinstance(data, str) else data
    temporary = None
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # as an ordinary file would be (mkstemp makes it 0600)
        os.replace(temporary, path)
        temporary = None
    except OSError as err:
        raise DiskWriteError(_explain(path, err)) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    return path


def _explain(path: Path, err: OSError) -> str:
    folder = path.parent
    mount = folder
    with contextlib.suppress(OSError):
        mount = folder.resolve()
        while not os.path.ismount(mount):
            mount = mount.parent
    free = ""
    with contextlib.suppress(OSError):
        free = f", {shutil.disk_usage(mount).free:,} bytes free"
    previous = "the previous file is unchanged" if path.exists() else "no partial file was left"
    return (f"cannot write {path}: {err.strerror or err} (on the disk mounted at {mount}{free}); {previous}. "
            f"Free some space there, or write reports elsewhere (SPARKIFY_REPORTS_DIR).")
