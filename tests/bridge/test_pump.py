"""The event pump, driven by hand: batches, fan-out counts, acks first, flush waiters."""

from __future__ import annotations

import json
import threading
from collections import deque
from pathlib import Path
from typing import Any

from ocrtop.bridge.config import ServerConfig
from ocrtop.bridge.eventlog import EventLogWriter
from ocrtop.bridge.pump import EventPump
from ocrtop.bridge.server import BridgeServer


class _Sink:
    """A live session stand-in that records what the pump hands it."""

    live = True

    def __init__(self) -> None:
        self.chunks: list[tuple[bytes, int]] = []

    def enqueue_batch(self, data: bytes, count: int) -> None:
        self.chunks.append((data, count))


def _event(i: int) -> tuple[Any, ...]:
    return (float(i), "metrics", {"values": {"train/loss": 1.0 / (i + 1)}}, i, 0)


def test_one_chunk_per_sink_per_batch_and_the_same_bytes_as_the_log(tmp_path: Path) -> None:
    source = deque(_event(i) for i in range(50))
    sinks = [_Sink(), _Sink()]
    eventlog = EventLogWriter(tmp_path / "events.jsonl")
    pump = EventPump(source, eventlog, {}, lambda: sinks, max_batch=20)
    pump.drain()
    pump.drain()
    pump.drain()
    eventlog.close()
    for sink in sinks:
        assert [count for _, count in sink.chunks] == [20, 20, 10]
    assert sinks[0].chunks == sinks[1].chunks  # one encoding serves every viewer
    streamed = b"".join(data for data, _ in sinks[0].chunks)
    assert streamed == (tmp_path / "events.jsonl").read_bytes()
    assert [json.loads(line)["seq"] for line in streamed.splitlines()] == list(range(1, 51))
    assert pump.stats["events"] == 50


def test_a_reply_splits_the_batch_so_its_ack_goes_first() -> None:
    source = deque(_event(i) for i in range(6))
    sink = _Sink()
    replies = deque(["ack"])
    order: list[str] = []

    def deliver() -> None:
        order.append(f"ack after {sum(c for _, c in sink.chunks)} events")
        replies.clear()

    pump = EventPump(source, None, {}, lambda: [sink], lambda: bool(replies), deliver)
    source_len = len(source)
    pump.drain()
    assert order == ["ack after 0 events"]
    assert sum(count for _, count in sink.chunks) == source_len


def test_bad_and_unencodable_events_are_counted_not_fatal() -> None:
    cyclic: dict[str, Any] = {}
    cyclic["self"] = cyclic
    source = deque([(1.0, "hello", {}, None, None), (2.0, "log", cyclic, None, None), _event(3)])
    sink = _Sink()
    pump = EventPump(source, None, {}, lambda: [sink])
    pump.drain()
    lines = [json.loads(line) for line in sink.chunks[0][0].splitlines()]
    assert [m["type"] for m in lines] == ["log", "metrics"]  # a session type never passes
    assert "unencodable" in lines[0]["payload"]["message"]
    assert pump.stats["bad_events"] == 2


class _RacingLog(EventLogWriter):
    """An event log whose flush lets another thread publish and call flush() meanwhile."""

    def __init__(self, path: Path, server: list[BridgeServer], late: threading.Event) -> None:
        super().__init__(path)
        self._server = server
        self._late = late

    def flush(self) -> None:
        super().flush()
        pump = self._server[0].pump
        if not pump.flush_waiters or pump.flush_waiters[-1] is not self._late:
            pump.source.append((0.0, "log", {"message": "late"}, None, None))
            pump.flush_waiters.append(self._late)


def test_flush_releases_only_callers_whose_events_are_logged(tmp_path: Path) -> None:
    late = threading.Event()
    holder: list[BridgeServer] = []
    source: deque[tuple[Any, ...]] = deque([(0.0, "log", {"message": "early"}, None, None)])
    eventlog = _RacingLog(tmp_path / "events.jsonl", holder, late)
    server = BridgeServer(source, deque(), deque(), {}, eventlog, [], ServerConfig())
    holder.append(server)
    early = threading.Event()
    server.pump.flush_waiters.append(early)
    server._cycle()  # drains "early", flushes; "late" arrives during that flush
    assert early.is_set()
    assert not late.is_set()  # its event is still in the buffer, not in the log
    server._cycle()
    assert late.is_set()
    server.stop()
    assert (tmp_path / "events.jsonl").read_bytes().count(b'"late"') == 1


def test_stop_releases_a_flush_that_raced_it(tmp_path: Path) -> None:
    eventlog = EventLogWriter(tmp_path / "events.jsonl")
    source: deque[tuple[Any, ...]] = deque([(0.0, "log", {"message": "x"}, None, None)])
    server = BridgeServer(source, deque(), deque(), {}, eventlog, [], ServerConfig())
    waiter = threading.Event()
    server.pump.flush_waiters.append(waiter)
    server.stop()
    assert waiter.is_set() and eventlog.closed
