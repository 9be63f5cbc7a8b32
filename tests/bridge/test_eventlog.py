"""events.jsonl: same messages as the wire, buffered flushes, crash-tolerant reading."""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

import pytest

from ocrtop.bridge.eventlog import EventLogWriter, events_filename, read_events
from ocrtop.bridge.protocol import Message


def _messages(n: int) -> list[Message]:
    return [Message("metrics", float(i), i + 1, i, 0, {"values": {"x": i}}) for i in range(n)]


def test_round_trip(tmp_path: Path) -> None:
    w = EventLogWriter(tmp_path / "events.jsonl")
    msgs = _messages(100)
    for m in msgs:
        w.write(m.encode())
    w.close()
    w.close()  # idempotent
    assert list(read_events(tmp_path)) == msgs  # a run dir works too


def test_truncated_last_line_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    data = b"".join(m.encode() for m in _messages(3))
    path.write_bytes(data + b'{"type":"metrics","t":1.0,"se')
    assert [m.seq for m in read_events(path)] == [1, 2, 3]


def test_damaged_middle_line_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "events.jsonl"
    a, b = _messages(2)
    path.write_bytes(a.encode() + b"\xff garbage\n" + b.encode())
    with caplog.at_level(logging.WARNING):
        assert list(read_events(path)) == [a, b]
    assert "events.jsonl:2" in caplog.text


def test_buffered_until_flush_interval(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    w = EventLogWriter(path, flush_interval=1.0)
    w.write(_messages(1)[0].encode())
    w.tick()
    assert path.stat().st_size == 0  # still buffered: no syscall per event
    w.tick(now=w._last_flush + 1.5)
    assert path.stat().st_size > 0
    w.close()


def test_rank_files() -> None:
    assert events_filename(0) == "events.jsonl"
    assert events_filename(3) == "events.rank3.jsonl"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_the_log_is_owner_only_whatever_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        w = EventLogWriter(tmp_path / "run" / "events.jsonl")
        w.write(_messages(1)[0].encode())
        w.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "run" / "events.jsonl").stat().st_mode) == 0o600


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_an_older_world_readable_log_is_made_private_when_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first = _messages(1)[0]
    path.write_bytes(first.encode())
    path.chmod(0o644)
    w = EventLogWriter(path)
    second = Message("metrics", 9.0, 2, 1, 0, {"values": {"x": 1}})
    w.write(second.encode())
    w.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(read_events(path)) == [first, second]  # appended, not truncated


class FullDisk:
    """The writer's file on a disk with ``budget`` bytes left: a short write, then ENOSPC."""

    def __init__(self, inner: object, budget: int) -> None:
        self.inner, self.budget = inner, budget
        self.calls = 0

    def write(self, data: bytes | memoryview) -> int:
        self.calls += 1
        if self.budget <= 0:
            raise OSError(28, "No space left on device")
        n = self.inner.write(bytes(data[: self.budget]))  # type: ignore[attr-defined]
        self.budget -= n
        return n

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


def test_a_full_disk_leaves_whole_lines_raises_once_and_drops_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    w = EventLogWriter(path)
    first = _messages(5)
    for m in first:
        w.write(m.encode())
    w.flush()
    w._file = FullDisk(w._file, budget=30)  # type: ignore[assignment]
    for m in _messages(5):
        w.write(m.encode())
    with pytest.raises(OSError, match="No space left"):
        w.flush()
    assert w.error is not None and w.lost == 5
    # the 30 bytes that made it were half a frame: cut back to the last whole line
    assert path.read_bytes().endswith(b"\n")
    assert list(read_events(path)) == first
    w.write(_messages(1)[0].encode())  # later frames: dropped quietly, counted
    w.tick(now=w._last_flush + 5)
    w.close()
    assert w.lost == 6 and list(read_events(path)) == first
