"""A good client is served while other local processes abuse the socket.

Idle connections that never speak, floods of garbage, bursts of connects: the server
must keep its seats for clients that speak the protocol, and never let a burst fill
the kernel's accept queue.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ocrtop.bridge.client import BridgeClient
from ocrtop.bridge.config import ServerConfig
from ocrtop.bridge.listeners import bind_unix
from ocrtop.bridge.publisher import Publisher
from tests.helpers.bridge_client import RawClient, wait_for

IDLE = 60
FLOODERS = 6


def test_a_burst_of_nonblocking_connects_queues_instead_of_bouncing(tmp_path: Path) -> None:
    """Nobody accepts yet: 200 non-blocking connects must all be queued (EAGAIN at 16)."""
    listener = bind_unix(tmp_path / "b.sock", "burst")
    socks = []
    try:
        for _ in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            socks.append(s)
            s.connect(str(tmp_path / "b.sock"))  # BlockingIOError when the backlog is full
    finally:
        for s in socks:
            s.close()
        listener.close()


def test_clients_arriving_together_share_one_snapshot(
    make_publisher: Callable[..., Publisher],
) -> None:
    """Thirty connects at the same seq build one snapshot, not thirty, and not on accept."""
    pub = make_publisher()
    server = pub._server
    assert server is not None
    for i in range(50):
        pub.publish("metrics", {"values": {"train/loss": 1.0 / (i + 1)}}, step=i)
    wait_for(lambda: pub.stats()["events"] == 50)
    builds = []
    accepting = [False]
    real_build, real_accept = server.pump.state.build, server._accept

    def counting_build(dropped: int, *args: object, **kwargs: object) -> dict[str, object]:
        builds.append(dropped)
        assert not accepting[0], "snapshot built on the accept path"
        return real_build(dropped)

    def flagged_accept(*args: object) -> None:
        accepting[0] = True
        try:
            real_accept(*args)  # type: ignore[arg-type]
        finally:
            accepting[0] = False

    server.pump.state.build = counting_build  # type: ignore[method-assign]
    server._accept = flagged_accept  # type: ignore[method-assign]
    clients = [RawClient(str(pub.socket_path), timeout=10) for _ in range(30)]
    for c in clients:
        snap = c.read_until(lambda f: f["type"] == "snapshot", timeout=10)
        assert len(snap["payload"]["events"]) == 50
        c.close()
    assert builds == [0]


def _flood(path: str, stop: threading.Event, sent: list[int]) -> None:
    """Connect, send garbage until the server hangs up, reconnect; until told to stop."""
    while not stop.is_set():
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(1.0)
            s.connect(path)
            while not stop.is_set():
                s.sendall(b'{"type": "command", "id": 7}\nnot json at all\n\xff\xfe\n')
                sent[0] += 3
                time.sleep(0.002)
        except OSError:
            pass
        finally:
            s.close()


def _publish(pub: Publisher, stop: threading.Event) -> None:
    step = 0
    while not stop.is_set():
        pub.publish("metrics", {"values": {"train/loss": 1.0 / (step + 1)}}, step=step)
        step += 1
        time.sleep(0.001)


async def _first_live_event(path: str) -> tuple[float, str]:
    t0 = time.monotonic()
    client = await BridgeClient.connect(path, timeout=5)
    try:
        snapshot_seq = None
        async for msg in client:
            if msg.type == "snapshot":
                snapshot_seq = msg.seq
            elif msg.type == "metrics" and snapshot_seq is not None and msg.seq > snapshot_seq:
                return time.monotonic() - t0, msg.type
        raise AssertionError("stream ended before a live event")
    finally:
        await client.close()


def test_a_good_client_gets_live_events_while_60_idle_sockets_and_flooders_fill_the_server(
    make_publisher: Callable[..., Publisher],
) -> None:
    """64 seats, 60 silent sockets and 6 garbage flooders: an attach still gets in, in < 2 s."""
    pub = make_publisher(server_config=ServerConfig(idle_grace_s=1.0))
    path = str(pub.socket_path)
    stop = threading.Event()
    threads = [threading.Thread(target=_publish, args=(pub, stop), daemon=True)]
    idle = [RawClient(path, timeout=10) for _ in range(IDLE)]
    sent = [0]
    threads += [
        threading.Thread(target=_flood, args=(path, stop, sent), daemon=True)
        for _ in range(FLOODERS)
    ]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: pub.stats()["offences"] > 100, timeout=20)
        time.sleep(1.2)  # the idle sockets are past their grace now
        wait_for(lambda: pub.stats()["clients"] >= 64, timeout=10)  # the server is full
        elapsed, kind = asyncio.run(_first_live_event(path))
        assert kind == "metrics"
        assert elapsed < 2.0, f"first live event after {elapsed:.2f} s"
        # The good client kept its seat while the flood went on (it pinged on connect).
        stats = pub.stats()
        assert stats["evicted"] >= 1 and stats["errors"] == 0
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        for c in idle:
            c.close()


def test_a_server_full_of_speaking_clients_refuses_the_newcomer(
    make_publisher: Callable[..., Publisher],
) -> None:
    """Clients that pinged are never evicted: the newcomer is told the server is full."""
    pub = make_publisher(server_config=ServerConfig(max_clients=3, idle_grace_s=0.0))
    path = str(pub.socket_path)
    seated = []
    for i in range(3):
        c = RawClient(path, timeout=10)
        c.read_until(lambda f: f["type"] == "snapshot")
        c.send(b'{"type":"command","id":"p%d","command":"ping"}\n' % i)
        c.read_until(lambda f: f["type"] == "ack")
        seated.append(c)
    late = RawClient(path, timeout=10)
    refusal = late.read_until(lambda f: f["type"] == "ack")
    assert refusal["payload"]["error"] == "too many clients"
    for c in seated:  # all still served
        c.send(b'{"type":"command","id":"again","command":"ping"}\n')
        assert c.read_until(lambda f: f["type"] == "ack")["payload"]["ok"] is True
        c.close()
    late.close()
    assert pub.stats()["evicted"] == 0


def test_ocrtop_client_speaks_up_on_connect_and_hides_the_probe_ack(
    make_publisher: Callable[..., Publisher],
) -> None:
    """BridgeClient pings once on connect (a seat), and its caller never sees that ack."""
    pub = make_publisher()
    server = pub._server
    assert server is not None

    async def scenario() -> list[str]:
        client = await BridgeClient.connect(str(pub.socket_path), timeout=10)
        try:
            await asyncio.to_thread(
                wait_for, lambda: [s.valid_frames for s in server.sessions.values()] == [1], 10
            )
            pub.publish("log", {"level": "INFO", "logger": "t", "message": "after"})
            kinds = []
            async for msg in client:
                kinds.append(msg.type)
                if msg.type == "log":
                    return kinds
            return kinds
        finally:
            await client.close()

    assert asyncio.run(scenario()) == ["snapshot", "log"]
