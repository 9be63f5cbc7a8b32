"""The server thread's timing: it sleeps on the loop's doorbell, and publish() rings it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from ocrtop.bridge import server as server_module
from ocrtop.bridge.publisher import Publisher
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
        wait_for(lambda: server.loop.doorbell_armed, timeout=10)
        pub.publish("log", {"level": "INFO", "logger": "t", "message": f"ring {i}"})
        event = viewer.read_until(lambda f: f["type"] == "log", timeout=10)
        assert event["payload"]["message"] == f"ring {i}"
    viewer.close()


def test_start_returns_the_endpoint_and_prints_nothing(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    """Whoever starts the publisher decides what to print; the TCP token stays with it."""
    pub = make_publisher(tcp="127.0.0.1:0")
    endpoint = pub.endpoint
    assert endpoint is not None and endpoint == pub.start()  # idempotent
    assert endpoint.job_id == pub.job_id and endpoint.socket_path == pub.socket_path
    assert endpoint.tcp_url is not None and pub.token is not None
    assert endpoint.tcp_url.endswith(f"?token={pub.token}")
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_a_trickle_of_events_wakes_the_server_once_per_event(
    make_publisher: Callable[..., Publisher], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trainer's few events per step, tens of ms apart: one wake-up each, not two or three.

    Counted, not timed: the server's ``wakeups`` counter over ``N`` isolated events, each
    published once the server sleeps on its doorbell again and read back by a viewer.
    Before, every drain was followed by a wake-up at the end of its batching window
    that found nothing (2 per event, 3 when a second event fell into the window).
    """
    monkeypatch.setattr(server_module, "HOUSEKEEPING_S", 60.0)  # no timed wake-ups
    pub = make_publisher()
    server = pub._server
    assert server is not None
    viewer = RawClient(str(pub.socket_path), timeout=10)
    viewer.read_until(lambda f: f["type"] == "snapshot")
    n = 20
    wait_for(lambda: server.loop.doorbell_armed, timeout=10)
    before = pub.stats()["wakeups"]
    for i in range(n):
        wait_for(lambda: server.loop.doorbell_armed, timeout=10)
        time.sleep(2 * server.config.poll_interval)  # sparse: two windows apart
        pub.publish("log", {"level": "INFO", "logger": "t", "message": f"trickle {i}"})
        event = viewer.read_until(lambda f: f["type"] == "log", timeout=10)
        assert event["payload"]["message"] == f"trickle {i}"
    wait_for(lambda: server.loop.doorbell_armed, timeout=10)
    wakeups = pub.stats()["wakeups"] - before
    viewer.close()
    assert n <= wakeups <= n + 2  # one per ring (a stray one for scheduling at most)


def test_a_flood_is_still_batched_by_the_window(
    make_publisher: Callable[..., Publisher],
) -> None:
    """Dense traffic keeps the batching window: wake-ups stay far below the event count."""
    pub = make_publisher()
    server = pub._server
    assert server is not None
    viewer = RawClient(str(pub.socket_path), timeout=10)
    viewer.read_until(lambda f: f["type"] == "snapshot")
    before = pub.stats()["wakeups"]
    n = 400
    for i in range(n):  # ~1 kev/s for 0.4 s
        pub.publish("log", {"level": "INFO", "logger": "t", "message": f"flood {i}"})
        time.sleep(0.001)
    viewer.read_until(lambda f: f["payload"].get("message") == f"flood {n - 1}", timeout=10)
    wakeups = pub.stats()["wakeups"] - before
    viewer.close()
    # one per 5 ms window (~80 for 0.4 s), plus the doorbell rings that open a batch
    assert wakeups < n / 2
