"""The server thread's timing: it sleeps on the loop's doorbell, and publish() rings it."""

from __future__ import annotations

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
