"""The COPY's sources: the keys under a prefix, and each object's bytes, from the local disk or S3.

A source is a key prefix, as S3 matches it: every object whose key *starts with* the prefix, not a
folder walk (``log_data/2018`` matches ``log_data/2018-11/...`` and ``log_data/2018.json``); keys are
returned sorted, so files are processed in a deterministic order. S3 goes through boto3 (optional
endpoint URL; unsigned requests when no credentials are configured, for public buckets).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator

from .. import awsclient
from .result import CopyError

READ_BYTES = 1 << 20  # objects are read in blocks of this size


class Storage:
    """Lists keys under a prefix and reads objects, from the local disk or from S3."""

    def __init__(self, endpoint_url: str = "", region: str = "us-west-2", key: str = "", secret: str = ""):
        self.endpoint_url = endpoint_url or None
        self.region = region
        self._key, self._secret = key, secret
        self._client = None

    @property
    def s3(self):
        if self._client is None:
            self._client = awsclient.client("s3", endpoint_url=self.endpoint_url or "", region=self.region,
                                            key=self._key, secret=self._secret, unsigned_when_anonymous=True,
                                            max_attempts=5)
        return self._client

    @staticmethod
    def split(uri: str) -> tuple[str, str]:
        bucket, _, key = uri[len("s3://"):].partition("/")
        return bucket, key

    def list(self, prefix: str) -> list[str]:
        if prefix.startswith("s3://"):
            bucket, key_prefix = self.split(prefix)
            keys = []
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
                keys.extend(f"s3://{bucket}/{obj['Key']}" for obj in page.get("Contents", []))
            return sorted(keys)
        return sorted(_local_prefix_files(_local_path(prefix)))

    def fingerprint(self, prefix: str) -> tuple[int, str]:
        """The number of objects under ``prefix`` and a digest of their keys, sizes and versions
        (S3: ETag and LastModified; a local file: its modification time in nanoseconds), as
        ``make`` and ``rsync`` tell an unchanged file: a file added, removed, rewritten or touched
        gives another digest. Listing costs no read of any object."""
        if prefix.startswith("s3://"):
            bucket, key_prefix = self.split(prefix)
            entries = []
            for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key_prefix):
                entries.extend((f"s3://{bucket}/{obj['Key']}", obj["Size"], f"{obj['ETag']} {obj['LastModified']}")
                               for obj in page.get("Contents", []))
        else:
            entries = []
            for path in _local_prefix_files(_local_path(prefix)):
                info = os.stat(path)
                entries.append((path, info.st_size, str(info.st_mtime_ns)))
        digest = hashlib.sha256()
        for key, size, version in sorted(entries):
            digest.update(f"{key}\t{size}\t{version}\n".encode())
        return len(entries), digest.hexdigest()

    def open(self, uri: str) -> Iterator[bytes]:
        """The object's bytes, in blocks."""
        if uri.startswith("s3://"):
            from botocore.exceptions import BotoCoreError, ClientError

            bucket, key = self.split(uri)
            try:
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
                yield from body.iter_chunks(READ_BYTES)
            except (ClientError, BotoCoreError) as err:
                raise CopyError(f"cannot read {uri}: {err}") from None
            return
        # O_NONBLOCK: opening a FIFO put in the folder after the listing must not hang the load
        fd = os.open(_local_path(uri), os.O_RDONLY | os.O_NONBLOCK)
        kind = _not_regular(os.fstat(fd).st_mode)
        if kind:
            os.close(fd)
            raise CopyError(f"{uri} is {kind}, not a regular file: move it out of the source prefix")
        with os.fdopen(fd, "rb") as handle:
            while block := handle.read(READ_BYTES):
                yield block

    def read(self, uri: str, what: str) -> bytes:
        try:
            if uri.startswith("s3://"):
                return b"".join(self.open(uri))
            with open(_local_path(uri), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise CopyError(f"{what} {uri} does not exist") from None
        except Exception as err:  # botocore ClientError (NoSuchKey ...)
            if type(err).__name__ in ("NoSuchKey", "ClientError"):
                raise CopyError(f"{what} {uri} cannot be read: {err}") from None
            raise


def _local_path(uri: str) -> str:
    return uri[len("file://"):] if uri.startswith("file://") else uri


def _not_regular(mode: int) -> str:
    """What a non-regular file is ("a FIFO", ...), or "" for a regular file."""
    if stat.S_ISREG(mode):
        return ""
    for test, kind in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "not a regular file"


def _local_prefix_files(prefix: str) -> Iterator[str]:
    """Every file whose path starts with ``prefix`` (S3 semantics: a prefix, not a folder)."""
    base = prefix if prefix.endswith("/") else (os.path.dirname(prefix) or ".")
    if not os.path.isdir(base):
        return

    def walk(directory: str) -> Iterator[str]:
        with os.scandir(directory) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=True):
                    if entry.path.startswith(prefix) or prefix.startswith(entry.path + os.sep):
                        yield from walk(entry.path)
                elif entry.path.startswith(prefix):
                    try:
                        kind = _not_regular(entry.stat(follow_symlinks=True).st_mode)
                    except FileNotFoundError:
                        kind = "a broken symbolic link"
                    if kind:  # a FIFO would hang the load, a device read forever: never read them
                        raise CopyError(f"{entry.path} is {kind}, not a regular file: a COPY source holds "
                                        f"only files; move it out of the source prefix {prefix}")
                    yield entry.path

    yield from walk(base.rstrip("/") or "/")
