"""Streaming into PostgreSQL: chunks of rows (binary COPY format, or CSV) fed to ``COPY ... FROM STDIN``
while they are produced. Into a table created or truncated in the same transaction the COPY says
FREEZE: its rows are written already frozen and visible, so the server skips the hint-bit and
vacuum work it would do later for them.

A producer thread prepares the next chunks while PostgreSQL parses the previous ones (pyarrow releases
the GIL, so they overlap on two cores); its queue is bounded, so memory stays at a few chunks whatever
the input size.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import psycopg2
from psycopg2 import sql as pgsql

from ..errors import WarehouseError

CHUNK_BYTES = 1 << 20  # CSV goes to PostgreSQL in chunks of about this size


class ServerGone(WarehouseError):
    """The database server went away during a COPY (stopped, killed or crashed)."""


class _StreamReader(io.RawIOBase):
    """A file-like view of a generator of bytes, for cursor.copy_expert (reads pull on demand)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._view = memoryview(b"")
        self._pos = 0
        self.error: BaseException | None = None  # what stopped the stream (psycopg2 only reports "read failed")

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of the current chunk (b"" at the end): no chunk is copied whole."""
        while self._pos >= len(self._view):
            try:
                self._view, self._pos = memoryview(next(self._chunks)), 0
            except StopIteration:
                return b""
            except BaseException as err:
                self.error = err
                raise
        end = len(self._view) if size < 0 else min(len(self._view), self._pos + size)
        data = self._view[self._pos:end].tobytes()
        self._pos = end
        return data


class _Producer:
    """Runs a chunk generator in a thread, a few chunks ahead of PostgreSQL.

    Parsing (pyarrow releases the GIL) overlaps with the server ingesting the previous chunks on the
    other core; the queue is bounded, so memory stays at a few chunks whatever the input size.
    """

    _DONE = object()

    def __init__(self, chunks: Iterator[bytes], depth: int = 4) -> None:
        import queue
        import threading

        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(chunks,), name="copy-producer", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        import queue

        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                if not self._put(chunk):
                    return
        except BaseException as err:  # handed to the consumer, raised there
            self._put(err)
            return
        self._put(self._DONE)

    def __iter__(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)



def _framed(chunks: Iterator[bytes], header: bytes, trailer: bytes) -> Iterator[bytes]:
    yield header
    yield from chunks
    yield trailer


def copy_rows(conn, table: str, names: list[str], chunks: Iterator[bytes], *, binary: bool = False,
              freeze: bool = False) -> None:
    """Load the rows of ``chunks`` (binary COPY rows without header and trailer, or CSV) into the
    columns ``names`` of ``table`` (inside the current transaction); ``freeze`` only for a table
    created or truncated in this transaction. An error raised by ``chunks`` (a CopyError past
    MAXERROR) is raised as itself."""
    options = "FORMAT binary" if binary else "FORMAT csv"
    if freeze:
        options += ", FREEZE true"
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN WITH (" + options + ")").format(
        pgsql.Identifier(table), pgsql.SQL(", ").join(pgsql.Identifier(n) for n in names))
    if binary:
        from .binary import HEADER, TRAILER

        chunks = _framed(chunks, HEADER, TRAILER)
    producer = _Producer(chunks)
    reader = _StreamReader(iter(producer))
    with conn.cursor() as cur:
        try:
            cur.copy_expert(statement, reader, size=CHUNK_BYTES)
        except Exception as err:
            if reader.error is not None and not conn.closed:
                raise reader.error from None
            if conn.closed or isinstance(err, SystemError | psycopg2.InterfaceError):
                # the server went away mid-COPY; psycopg2 may then report it as a SystemError
                # ("<function decode> returned a result with an exception set") or "read failed"
                raise ServerGone(
                    f"the database server closed the connection during COPY {table} (it was stopped, killed "
                    f"or crashed: {str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__}). "
                    f"The load was rolled back: nothing was loaded. Check the warehouse with `sparkify status` "
                    f"(local backend: the server log is pgdata/server.log in [LOCAL] DATA_DIR), start it again "
                    f"(notebook 00) and re-run this step.") from None
            raise
        finally:
            producer.close()
