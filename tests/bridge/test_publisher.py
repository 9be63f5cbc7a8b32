"""Publisher + server thread + asyncio client, over real Unix sockets."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ocrtop.bridge.client import BridgeClient
from ocrtop.bridge.config import ServerConfig
from ocrtop.bridge.eventlog import read_events
from ocrtop.bridge.protocol import Message
from ocrtop.bridge.publisher import Command, Publisher
from ocrtop.bridge.registry import RegistryError, find_job
from tests.helpers.bridge_client import RawClient, wait_for


async def _collect(client: BridgeClient, until_seq: int, timeout: float = 5.0) -> list[Message]:
    """Messages until an event with ``seq >= until_seq`` arrived."""
    out: list[Message] = []
    while True:
        msg = await client.recv(timeout)
        assert msg is not None, "stream ended early"
        out.append(msg)
        if msg.type not in ("snapshot", "ack", "dropped") and msg.seq >= until_seq:
            return out


async def test_hello_then_snapshot_then_live(make_publisher: Callable[..., Publisher]) -> None:
    pub = make_publisher(meta={"arch": "dbnet"}, command=["train.py", "x=1"])
    pub.publish("status", {"status": "setup", "arch": "dbnet"})
    for i in range(50):
        pub.metrics({"train/loss": 1.0 / (i + 1)}, step=i, epoch=0)
    client = await BridgeClient.connect(pub.job_id)
    try:
        assert client.hello["job_id"] == pub.job_id
        assert client.hello["command"] == ["train.py", "x=1"]
        assert client.hello["meta"] == {"arch": "dbnet"}
        snap = await client.recv(5)
        assert snap is not None and snap.type == "snapshot"
        replay = [Message.from_dict(e) for e in snap.payload["events"]]
        assert replay[0].type == "status"
        assert replay[-1].payload["values"]["train/loss"] == 1.0 / 50
        pub.publish("log", {"level": "INFO", "logger": "t", "message": "live"})
        live = await client.recv(5)
        assert live is not None and live.type == "log" and live.seq == snap.seq + 1
    finally:
        await client.close()


async def test_fan_out_to_three_clients(make_publisher: Callable[..., Publisher]) -> None:
    pub = make_publisher()
    clients = [await BridgeClient.connect(str(pub.socket_path)) for _ in range(3)]
    try:
        for c in clients:
            assert (await c.recv(5)).type == "snapshot"  # type: ignore[union-attr]
        for i in range(500):
            pub.metrics({"x": i}, step=i)
        results = await asyncio.gather(*(_collect(c, 500) for c in clients))
        for msgs in results:
            assert [m.payload["values"]["x"] for m in msgs] == list(range(500))
    finally:
        for c in clients:
            await c.close()


async def polled_commands(pub: Publisher, count: int) -> list[Command]:
    """The next ``count`` commands the trainer side polls (waited for off the event loop)."""
    cmds: list[Command] = []

    def arrived() -> bool:
        cmds.extend(pub.poll_commands())
        return len(cmds) >= count

    await asyncio.to_thread(wait_for, arrived)
    return cmds


async def test_commands_answered_with_ack_or_error(
    make_publisher: Callable[..., Publisher],
) -> None:
    pub = make_publisher()
    client = await BridgeClient.connect(pub.job_id)
    try:
        await client.recv(5)  # snapshot
        ping = await client.send_command("ping")
        msg = await client.recv(5)
        assert msg is not None and msg.type == "ack" and msg.payload["id"] == ping
        assert msg.payload["ok"] is True and msg.payload["result"]["pong"] is True

        prof = await client.send_command("profile", steps=20)
        stop = await client.send_command("stop", mode="graceful")
        cmds = await polled_commands(pub, 2)
        assert [(c.id, c.command, c.args) for c in cmds] == [
            (prof, "profile", {"steps": 20}),
            (stop, "stop", {"mode": "graceful"}),
        ]
        assert pub.poll_commands() == []
        pub.reply(cmds[0], ok=True, result={"state": "armed"})
        pub.reply(cmds[1], ok=False, error="already stopping")
        a1, a2 = await client.recv(5), await client.recv(5)
        assert a1 is not None and a2 is not None
        assert (a1.payload["id"], a1.payload["ok"], a1.payload["result"]) == (
            prof, True, {"state": "armed"},
        )  # fmt: skip
        assert (a2.payload["id"], a2.payload["ok"], a2.payload["error"]) == (
            stop, False, "already stopping",
        )  # fmt: skip
    finally:
        await client.close()


async def test_ack_precedes_events_published_after_the_reply(
    make_publisher: Callable[..., Publisher],
) -> None:
    """A viewer that stops reading at the final status must still have seen its ack."""
    pub = make_publisher()
    client = await BridgeClient.connect(pub.job_id)
    try:
        await client.recv(5)  # snapshot
        for round_ in range(20):
            stop = await client.send_command("stop", mode="graceful")
            cmds = await polled_commands(pub, 1)
            pub.reply(cmds[0], ok=True)
            pub.publish("status", {"status": "stopped", "round": round_})
            first = await client.recv(5)
            second = await client.recv(5)
            assert first is not None and second is not None
            assert (first.type, first.payload["id"]) == ("ack", stop)
            assert second.type == "status"
    finally:
        await client.close()


def test_bad_frames_get_errors_then_disconnect(make_publisher: Callable[..., Publisher]) -> None:
    pub = make_publisher(server_config=ServerConfig(max_offences=3))
    raw = RawClient(str(pub.socket_path))
    raw.read_until(lambda f: f["type"] == "snapshot")
    raw.send(b'{"type":"command","id":"q1","command":"format_disk"}\n')
    err = raw.read_until(lambda f: f["type"] == "ack")
    assert err["payload"]["ok"] is False and err["payload"]["id"] == "q1"
    assert "unknown command" in err["payload"]["error"]
    raw.send(b"\xff\xfe garbage\n")
    assert "UTF-8" in raw.read_until(lambda f: f["type"] == "ack")["payload"]["error"]
    raw.send(b"x" * (100 << 10) + b"\n")
    assert "exceeds" in raw.read_until(lambda f: f["type"] == "ack")["payload"]["error"]
    assert "disconnecting" in raw.read_until(lambda f: f["type"] == "ack")["payload"]["error"]
    with pytest.raises(EOFError):
        raw.read_until(lambda f: False)
    raw.close()
    pub.publish("log", {"level": "INFO", "logger": "t", "message": "still alive"})
    ok = RawClient(str(pub.socket_path))
    ok.send(b'{"type":"command","id":"p","command":"ping"}\n')
    assert ok.read_until(lambda f: f["type"] == "ack")["payload"]["ok"] is True
    ok.close()
    assert pub.stats()["offences"] == 3


def test_frozen_client_does_not_slow_the_publisher(
    make_publisher: Callable[..., Publisher],
) -> None:
    pub = make_publisher()
    frozen = RawClient(str(pub.socket_path))  # connects and never reads
    healthy = RawClient(str(pub.socket_path))
    wait_for(lambda: pub.stats()["clients"] == 2)
    n = 100_000
    seen: list[int] = []

    def read_healthy() -> None:  # a viewer that keeps up: reads raw bytes on its own thread
        healthy.sock.settimeout(60)
        tail = b""
        total = 0
        while b"END-OF-RUN" not in tail:
            chunk = healthy.sock.recv(1 << 20)
            if not chunk:
                return
            total += len(chunk)
            tail = tail[-64:] + chunk
        seen.append(total)

    reader = threading.Thread(target=read_healthy, daemon=True)
    reader.start()
    costs = []
    payload = {"values": {"train/loss": 0.5, "perf/samples_per_second": 123.0}}
    for i in range(n):
        t0 = time.perf_counter_ns()
        pub.publish("metrics", payload, step=i)
        costs.append(time.perf_counter_ns() - t0)
        if i % 1000 == 0:
            time.sleep(0.0005)  # a trainer breathes between steps
    pub.publish("log", {"level": "INFO", "logger": "test", "message": "END-OF-RUN"})
    median_us = statistics.median(costs) / 1000
    assert median_us < 20, f"publish median {median_us:.1f} µs with a frozen client"
    reader.join(60)
    assert seen, f"the healthy client never got the last event; server stats {pub.stats()}"
    assert pub.stats()["overflow"] == 0
    # The frozen one, once it reads, learns how much it lost and resyncs.
    dropped = frozen.read_until(lambda f: f["type"] == "dropped", timeout=30)
    assert dropped["payload"]["count"] > 0
    snap = frozen.read_until(lambda f: True)
    assert snap["type"] == "snapshot" and snap["payload"]["dropped"] >= dropped["payload"]["count"]
    assert snap["payload"]["events"][-1]["payload"]["message"] == "END-OF-RUN"
    assert [e for e in snap["payload"]["events"] if e["type"] == "metrics"][-1]["step"] == n - 1
    frozen.close()
    healthy.close()
    pub.close()
    logged = sum(1 for m in read_events(pub.events_path) if m.type == "metrics")
    assert logged == n  # nothing recorded is lost


def test_publish_never_raises_and_close_is_idempotent(tmp_path: Path, registry_dir: Path) -> None:
    before = set(threading.enumerate())  # other tests' lingering publishers are not ours
    pub = Publisher(tmp_path, queue_size=10)
    pub.publish("metrics", {"values": {"early": 1}})  # before start: buffered
    pub.start()
    pub.start()  # idempotent
    ours = [t for t in threading.enumerate() if t.name == "ocrtop-bridge" and t not in before]
    assert len(ours) == 1
    pub.publish("metrics", {"values": {"obj": object()}})  # unencodable -> str
    pub.publish(123, {"x": 1})  # type: ignore[arg-type]  # bad type -> counted
    pub.publish("ack", {"x": 1})  # session types are not events
    pub.publish("metrics", {"values": {"circular": None}})
    circ: dict = {}
    circ["self"] = circ
    pub.publish("log", circ)
    for _ in range(100):
        pub.publish("log", {"message": "flood"})
    pub.close()
    pub.close()
    pub.publish("log", {"message": "after close"})
    pub.reply(object(), ok=True)  # type: ignore[arg-type]
    msgs = list(read_events(tmp_path))
    assert msgs[0].type == "hello" and msgs[1].payload == {"values": {"early": 1}}
    assert isinstance(msgs[2].payload["values"]["obj"], str)
    assert any("unencodable" in m.payload.get("message", "") for m in msgs)
    assert pub.stats()["bad_events"] >= 3
    assert pub.dropped > 0  # the queue of 10 overflowed, counted, and said so in the log
    assert any("publish buffer full" in m.payload.get("message", "") for m in msgs)
    assert not ours[0].is_alive()


def test_events_logged_without_clients_and_fsynced_at_close(
    make_publisher: Callable[..., Publisher],
) -> None:
    pub = make_publisher()
    for i in range(1000):
        pub.metrics({"x": i}, step=i)
    pub.close()
    lines = pub.events_path.read_bytes().splitlines()
    assert len(lines) == 1001
    assert json.loads(lines[-1])["seq"] == 1000


def test_flush_puts_everything_published_in_the_log_while_open(
    make_publisher: Callable[..., Publisher],
) -> None:
    pub = make_publisher(flush_interval=3600.0)  # no periodic flush would rescue the test
    for i in range(500):
        pub.metrics({"x": i}, step=i)
    assert pub.flush(timeout=10)
    lines = pub.events_path.read_bytes().splitlines()
    assert len(lines) == 501 and json.loads(lines[-1])["step"] == 499
    assert pub.started  # still serving
    pub.close()
    assert pub.flush() is False  # closed: nothing to wait for, and no exception


def test_stale_socket_of_a_crashed_job_is_replaced(
    make_publisher: Callable[..., Publisher], registry_dir: Path
) -> None:
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(str(registry_dir / "samejob.sock"))  # bound, never listening: a dead job's
    stale.close()
    pub = make_publisher(job_id="samejob")
    assert pub.started
    with pytest.raises(RegistryError, match="already running"):
        make_publisher(job_id="samejob")
    assert pub.socket_path is not None and pub.socket_path.exists()  # the live one untouched


def test_close_in_a_forked_child_leaves_the_parents_files(
    make_publisher: Callable[..., Publisher],
) -> None:
    pub = make_publisher()
    pid = os.fork()
    if pid == 0:  # a DataLoader worker, say, that runs atexit handlers
        pub.close()
        os._exit(0)
    os.waitpid(pid, 0)
    assert pub.socket_path is not None and pub.socket_path.exists()
    assert find_job(pub.job_id).pid == os.getpid()


def test_publish_from_many_threads_and_periodic_flush(
    make_publisher: Callable[..., Publisher],
) -> None:
    pub = make_publisher(flush_interval=0.1)

    def worker(k: int) -> None:
        for i in range(5000):
            pub.metrics({f"w{k}": i}, step=i, epoch=k)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pub.publish("log", {"message": "numpy-like step"}, step=True)
    # Visible on disk while the job still runs: flushed periodically, not only at close.
    wait_for(lambda: len(pub.events_path.read_bytes().splitlines()) == 1 + 20_001)
    msgs = list(read_events(pub.events_path))[1:]
    assert [m.seq for m in msgs] == list(range(1, 20_002))
    for k in range(4):
        assert [m.payload["values"][f"w{k}"] for m in msgs if m.epoch == k] == list(range(5000))
    assert msgs[-1].step is None  # a bool is not a step


def test_publish_into_a_full_buffer_returns_at_once(tmp_path: Path) -> None:
    """A full buffer drops and counts; it never makes the training thread wait.

    The publisher is not started, so nothing drains its buffer of 4. The bounds are
    generous for a loaded machine (a normal call takes about a microsecond; one call may
    be descheduled) but a call that slept even 10 ms in the overflow path breaks them.
    """
    pub = Publisher(tmp_path, queue_size=4)
    took = []
    for i in range(200):
        t0 = time.perf_counter()
        pub.publish("metrics", {"values": {"x": float(i)}})
        took.append(time.perf_counter() - t0)
    assert pub.dropped == 196
    took.sort()
    assert took[180] < 0.005, f"90th percentile publish took {took[180] * 1e3:.1f} ms"
    assert sum(took) < 1.0, f"200 publishes took {sum(took) * 1e3:.0f} ms"
