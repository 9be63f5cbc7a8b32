"""The run's event log: ``events.jsonl``, the same frames as the live stream.

The log is the "nothing lost" half of the bridge: the server thread appends every
event here before it fans out to clients, so a frozen viewer, or no viewer at
all, never costs a recorded event. Writes are buffered and flushed about once a
second (``tick``) to keep syscalls off the hot path; ``close`` flushes and fsyncs
so a finished run is durable. ``read_events`` yields the same ``Message`` objects
as ``BridgeClient`` so replay and live viewers share one interface.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from bridge.protocol import Message, ProtocolError

log = logging.getLogger(__name__)

EVENTS_FILE = "events.jsonl"
EVENTS_MODE = 0o600
"""Owner-only, like the socket: the log holds the command line, log lines and commands."""


def events_filename(rank: int = 0) -> str:
    """Rank 0 owns ``events.jsonl``; other DDP ranks share the run dir, so get their own."""
    return EVENTS_FILE if rank == 0 else f"events.rank{rank}.jsonl"


class EventLogWriter:
    """Append-only, buffered writer of encoded frames that never leaves half a line.

    Frames are buffered here (not in a ``BufferedWriter``, which would push out part of
    a frame on its own when full) and handed to the OS whole at each flush. When the
    disk is full (ENOSPC) or any write fails, the file is cut back to the end of the
    last complete flush, so it still ends with a valid line; the error is raised once
    (the server logs it) and every later frame is dropped and counted in :attr:`lost`.
    Training goes on: the live stream does not depend on the file.

    Not thread-safe: only the bridge server thread writes (and closes) it.
    """

    MAX_BUFFER = 1 << 16
    """Buffered bytes that force a flush before the interval is up."""

    def __init__(self, path: str | os.PathLike[str], flush_interval: float = 1.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.flush_interval = flush_interval
        self._file = _open_private(self.path)  # unbuffered: the writer keeps its own buffer
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._good = self._file.seek(0, os.SEEK_END)  # end of the last whole flushed frame
        self._last_flush = time.monotonic()
        self._dirty = False
        self.error: OSError | None = None
        """The write error that stopped the log (None while it is healthy)."""
        self.lost = 0
        """Frames dropped since :attr:`error`."""

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, line: bytes) -> None:
        """Append one newline-terminated frame (buffered); dropped once the log failed."""
        if self.error is not None:
            self.lost += 1
            return
        self._buffer.append(line)
        self._buffered += len(line)
        self._dirty = True
        if self._buffered >= self.MAX_BUFFER:
            self.flush()

    def tick(self, now: float | None = None) -> None:
        """Flush if the last flush is older than ``flush_interval``."""
        now = time.monotonic() if now is None else now
        if self._dirty and now - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        """Hand buffered frames to the OS (visible to readers, not yet durable).

        Raises:
            OSError: the first time a write fails (the log is cut back and stops).
        """
        self._dirty = False
        self._last_flush = time.monotonic()
        if self.error is not None or not self._buffer:
            self.lost += len(self._buffer)
            self._buffer, self._buffered = [], 0
            return
        data = memoryview(b"".join(self._buffer))
        frames = len(self._buffer)
        self._buffer, self._buffered = [], 0
        try:
            while data:
                written = self._file.write(data)
                data = data[written or 0 :]
                if written == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        except OSError as exc:
            self._fail(exc, frames)
            raise
        self._good = self._file.tell()

    def _fail(self, exc: OSError, frames: int) -> None:
        """Stop the log: cut off the partial frames, keep the error, drop the rest."""
        self.error = exc
        self.lost += frames
        with contextlib.suppress(OSError):  # shrinking a file needs no free space
            os.truncate(self.path, self._good)
        log.warning(
            "event log %s stopped at %d bytes (%s): training goes on, the live stream too",
            self.path, self._good, exc,
        )  # fmt: skip

    def close(self) -> None:
        """Flush, fsync and close; idempotent. A failed log just closes."""
        if self._file.closed:
            return
        try:
            with contextlib.suppress(OSError):  # already reported and cut back by flush()
                self.flush()
            if self.error is None:
                os.fsync(self._file.fileno())
        finally:
            self._file.close()


def _open_private(path: Path) -> BinaryIO:
    """Open ``path`` for appending, created 0600 whatever the umask, and kept 0600.

    The mode is given to ``open(2)`` so the file never exists with wider permissions,
    then set again with ``fchmod``: ``open`` applies the umask (which only removes
    bits) and leaves an existing file's mode alone (a resumed run's older log).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, EVENTS_MODE)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, EVENTS_MODE)
        return os.fdopen(fd, "ab", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def resolve_events_path(path: str | os.PathLike[str]) -> Path:
    """Accept a run directory or the events file itself."""
    p = Path(path)
    if p.is_dir():
        p = p / EVENTS_FILE
    return p


def read_events(path: str | os.PathLike[str]) -> Iterator[Message]:
    """Yield the messages recorded in an events file (or a run dir's events.jsonl).

    A last line without its newline is a crash mid-write and is skipped silently.
    A damaged line elsewhere is skipped with a warning naming file and line, so one
    bad byte does not make a whole run unreadable.

    Raises:
        FileNotFoundError: no events file at ``path``.
    """
    p = resolve_events_path(path)
    with open(p, "rb") as f:
        lineno = 0
        for raw in f:
            lineno += 1
            complete = raw.endswith(b"\n")
            line = raw.rstrip(b"\r\n")
            if not line:
                continue
            try:
                yield Message.decode(line)
            except ProtocolError as exc:
                if complete:
                    log.warning("%s:%d: skipping damaged event: %s", p, lineno, exc)
