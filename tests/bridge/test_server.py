"""The server loop: its doorbell, and flush waiters driven one cycle at a time."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge import server as server_module
from bridge.eventlog import EventLogWriter
from bridge.publisher import Publisher
from bridge.server import BridgeServer, ServerConfig
from tests.helpers.bridge_client import RawClient, wait_for


def test_publish_rings_the_doorbell_of_an_idle_viewer(
    make_publisher: Callable[..., Publisher], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle server sleeps on its doorbell; without the ring an event would wait 60 s."""
    monkeypatch.setattr(server_module, "HOUSEKEEPING_S", 60.0)
    pub = make_publisher()
    server = pub._server
    assert server is not None
    viewer = RawClient(str(pub.socket_path), timeout=10)
    viewer.read_until(lambda f: f["type"] == "snapshot")
    for i in range(3):
        wait_for(lambda: server.doorbell_armed, timeout=10)
        pub.publish("log", {"level": "INFO", "logger": "t", "message": f"ring {i}"})
        event = viewer.read_until(lambda f: f["type"] == "log", timeout=10)
        assert event["payload"]["message"] == f"ring {i}"
    viewer.close()


class _RacingLog(EventLogWriter):
    """An event log whose flush lets another thread publish and call flush() meanwhile."""

    def __init__(self, path: Path, server: list[BridgeServer], late: threading.Event) -> None:
        super().__init__(path)
        self._server = server
        self._late = late

    def flush(self) -> None:
        super().flush()
        server = self._server[0]
        if not server.flush_waiters or server.flush_waiters[-1] is not self._late:
            server.source.append((0.0, "log", {"message": "late"}, None, None))
            server.flush_waiters.append(self._late)


def test_flush_releases_only_callers_whose_events_are_logged(tmp_path: Path) -> None:
    late = threading.Event()
    holder: list[BridgeServer] = []
    source: deque[tuple[Any, ...]] = deque([(0.0, "log", {"message": "early"}, None, None)])
    eventlog = _RacingLog(tmp_path / "events.jsonl", holder, late)
    server = BridgeServer(source, deque(), deque(), {}, eventlog, [], ServerConfig())
    holder.append(server)
    early = threading.Event()
    server.flush_waiters.append(early)
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
    server.flush_waiters.append(waiter)
    server.stop()
    assert waiter.is_set() and eventlog.closed
