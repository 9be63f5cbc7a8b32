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
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ocrtop.bridge.protocol import Message, ProtocolError

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
        self._frames = 0  # frames in the buffer (a chunk may hold many)
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
        self.write_batch(line, 1)

    def write_batch(self, data: bytes, count: int) -> None:
        """Append ``count`` newline-terminated frames joined in ``data`` (the pump's batch)."""
        if self.error is not None:
            self.lost += count
            return
        self._buffer.append(data)
        self._buffered += len(data)
        self._frames += count
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
            self.lost += self._frames
            self._buffer, self._buffered, self._frames = [], 0, 0
            return
        data = memoryview(self._buffer[0] if len(self._buffer) == 1 else b"".join(self._buffer))
        frames = self._frames
        self._buffer, self._buffered, self._frames = [], 0, 0
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


def read_events(path: str | os.PathLike[str], start: int = 0) -> Iterator[Message]:
    """Yield the messages recorded in an events file (or a run dir's events.jsonl).

    A last line without its newline is a crash mid-write and is skipped silently.
    A damaged line elsewhere is skipped with a warning naming file and line, so one
    bad byte does not make a whole run unreadable. With ``start`` (a byte offset),
    reading begins at the first line that starts at or after it (a seek, for replays
    that skip ahead; line numbers in warnings then count from there).

    Raises:
        FileNotFoundError: no events file at ``path``.
    """
    p = resolve_events_path(path)
    with open(p, "rb") as f:
        _seek_line(f, start)
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


def _seek_line(f: BinaryIO, offset: int) -> None:
    """Position ``f`` at the first line that starts at or after ``offset``."""
    if offset <= 0:
        return
    f.seek(offset - 1)
    if f.read(1) != b"\n":
        f.readline()  # inside a line: it belongs to what came before


DENSE = (b'{"type":"metrics"', b'{"type":"progress"')
"""Line openings of the per-step events a skim thins out (the encoder writes type first)."""
KEEP = (b'"val/', b'"test/')
"""Metric names that are rare and summarise a run: a skim never drops them."""
_RARE_LINE = re.compile(rb'\n(?!\{"type":"(?:metrics|progress)")(?=[^\n])')
"""A line start that is not a per-step event; found by the regex engine, not a Python loop."""
SKIM_CHUNK = 4 << 20


def skim_events(
    path: str | os.PathLike[str],
    budget: int = 20_000,
    end: int | None = None,
    tail_bytes: int = 256 << 10,
) -> Iterator[Message]:
    """A day-long log in a fraction of the time and memory: what a summary needs.

    Up to byte ``end`` (default: the whole file), only these lines are decoded: every
    event that is not a per-step ``metrics``/``progress`` line (statuses, alerts, logs,
    profiles: rare), every line naming a validation or test metric, about ``budget``
    per-step lines (one at a random point of each of ``budget`` equal byte windows:
    evenly spread, and never in step with the run's own cycle of event kinds, which
    would keep one kind only), and every line of the last ``tail_bytes`` before ``end``
    (the latest values, exact). The scan is done by the regex engine and ``bytes.find``
    over 4 MiB chunks read in place, so a skipped line costs nanoseconds. A line that
    starts before ``end`` is included; ``read_events(path, start=end)`` continues with
    the next one. Damaged and unfinished lines are skipped.
    """
    p = resolve_events_path(path)
    with open(p, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        stop = size if end is None else min(end, size)
        window = max(1, stop // max(budget, 1))
        tail_from = stop - tail_bytes
        base = 0  # file offset of chunk[0], always the start of a line
        while base < stop:
            f.seek(base)
            chunk = f.read(SKIM_CHUNK)
            last = chunk.rfind(b"\n")
            if last < 0:
                break  # an unfinished last line (or one longer than a chunk): skipped
            for start in _picked_lines(chunk, last + 1, base, stop, window, tail_from):
                line = chunk[start : chunk.index(b"\n", start)].rstrip(b"\r")
                try:
                    yield Message.decode(line)
                except ProtocolError:
                    continue
            base += last + 1  # the partial line is read again with the next chunk: no copy


def _picked_lines(
    data: bytes, size: int, base: int, stop: int, window: int, tail_from: int
) -> list[int]:
    """Start indexes of the lines a skim decodes among the complete lines ``data[:size]``.

    ``data[0]`` is at file offset ``base`` and starts a line; so does every byte after
    a newline. Lines starting at or after the file offset ``stop`` are left out.
    """
    limit = min(size, stop - base)  # lines must start before this index
    picked = {m.end() for m in _RARE_LINE.finditer(data, 0, limit)}
    if not data.startswith(DENSE) and data[:1] != b"\n":
        picked.add(0)
    for marker in KEEP:
        hit = data.find(marker, 0, size)
        while hit >= 0:
            line_start = data.rfind(b"\n", 0, hit) + 1
            if line_start < limit:
                picked.add(line_start)
            hit = data.find(marker, hit + 1, size)
    for w in range(-(-base // window), (base + limit) // window + 1):
        point = w * window + (w * 2654435761) % window - base  # a fixed "random" point
        if 0 <= point < limit:
            nl = data.find(b"\n", point, limit)
            if 0 <= nl < limit - 1:
                picked.add(nl + 1)
    if tail_from - base < limit:  # the exact tail: every line in it
        nl = data.rfind(b"\n", 0, max(tail_from - base, 0))
        while nl < limit - 1:
            picked.add(nl + 1)
            nl = data.find(b"\n", nl + 1, limit)
            if nl < 0:
                break
    return sorted(i for i in picked if i < limit and data[i : i + 1] not in (b"\n", b"\r"))


PROBE_BYTES = 1 << 20
"""How far ``check_log`` looks for the first line: a log's first line is a small hello."""


@dataclass(frozen=True, slots=True)
class LogProblem:
    """What is wrong with an events file, in words a user can act on.

    Attributes:
        kind: ``missing``, ``empty``, ``foreign`` or ``truncated``.
        path: the file (or directory) concerned.
        detail: the reason, e.g. ``truncated at line 1234 (byte 56789)``.
        complete_lines: for ``truncated``, the complete lines before the cut.
    """

    kind: str
    path: Path
    detail: str
    complete_lines: int = 0

    @property
    def fatal(self) -> bool:
        """Nothing can be replayed (a truncated log still has its complete lines)."""
        return self.kind != "truncated" or self.complete_lines == 0

    def __str__(self) -> str:
        return f"{self.path}: {self.detail}"


def check_log(path: str | os.PathLike[str]) -> LogProblem | None:
    """Say whether an events file is missing, empty, foreign or truncated (None: fine).

    Cheap on a day-long log: the first line and the last byte are read, and only a
    truncated file is scanned (for the line number of the cut).
    """
    p = Path(path)
    try:
        size = p.stat().st_size
        if p.is_dir():
            return LogProblem("missing", p, f"is a directory without {EVENTS_FILE}")
        with open(p, "rb") as f:
            head = f.read(PROBE_BYTES)
            f.seek(max(size - 1, 0))
            last = f.read(1)
    except FileNotFoundError:
        return LogProblem("missing", p, "no such file (the run never started its bridge?)")
    except OSError as exc:
        return LogProblem("missing", p, f"cannot read: {exc.strerror or exc}")
    if not head.strip():
        return LogProblem("empty", p, "empty: no events were recorded")
    first, nl, _ = head.lstrip().partition(b"\n")
    if not nl and len(head) == PROBE_BYTES:
        return LogProblem("foreign", p, "not an ocrtop event log: no line break in the first MiB")
    try:
        Message.decode(first.rstrip(b"\r"))
    except ProtocolError as exc:
        if nl or size > len(head):  # a complete first line that is not ours
            return LogProblem("foreign", p, f"not an ocrtop event log: line 1: {exc}")
    if last != b"\n":
        lines, cut = _count_lines(p)
        return LogProblem(
            "truncated", p, f"truncated at line {lines + 1} (byte {cut})", complete_lines=lines
        )
    return None


def _count_lines(path: Path) -> tuple[int, int]:
    """Newlines in ``path`` and the offset just after the last one (chunked, no decoding)."""
    lines = 0
    end = 0
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(4 << 20):
            n = chunk.count(b"\n")
            if n:
                lines += n
                end = offset + chunk.rindex(b"\n") + 1
            offset += len(chunk)
    return lines, end
