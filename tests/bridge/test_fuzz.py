"""Fuzz: >=10,000 random and mutated client frames against a live publisher.

While the fuzzer hammers the socket, a trainer thread keeps publishing and a
well-behaved client keeps reading. The publisher must answer or disconnect the
fuzzer, keep serving the good client every event, and log every event.
"""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Callable
from typing import Any

from ocrtop.bridge.config import ServerConfig
from ocrtop.bridge.eventlog import read_events
from ocrtop.bridge.publisher import Publisher
from tests.helpers.bridge_client import RawClient

FRAMES = 10_000
EVENTS = 20_000

VALID: list[dict[str, Any]] = [
    {"type": "command", "id": "a1", "command": "ping", "args": {}},
    {"type": "command", "id": "a2", "command": "profile", "args": {"steps": 20}},
    {"type": "command", "id": "a3", "command": "stop", "args": {"mode": "graceful"}},
    {"type": "auth", "token": "x"},
]
ODD_VALUES: list[Any] = [
    None,
    True,
    -1,
    0,
    10**30,
    1.5,
    float("nan"),
    "",
    "profile",
    [],
    {},
    "\u0000",
    "é",
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:
            b[pos % len(b)] = rng.randrange(256)
        elif op == 1 and b:
            del b[pos % len(b)]
        elif op == 2:
            b[pos:pos] = bytes([rng.randrange(256)])
        elif op == 3:
            b = b[:pos]
        else:
            b[pos:pos] = b[: rng.randrange(len(b) + 1)]
    return bytes(b)


def _frame(rng: random.Random) -> bytes:
    kind = rng.randrange(10)
    if kind < 3:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(200))) + b"\n"
    if kind < 7:
        return _mutate(rng, json.dumps(rng.choice(VALID)).encode()) + b"\n"
    if kind < 9:
        obj = dict(rng.choice(VALID))
        key = rng.choice([*obj, "args", "id", "extra"])
        obj[key] = rng.choice(ODD_VALUES)
        if rng.random() < 0.3:
            obj["args"] = {rng.choice(["steps", "mode", "x"]): rng.choice(ODD_VALUES)}
        return json.dumps(obj).encode() + b"\n"
    if rng.random() < 0.02:
        return b"{" * (80 << 10) + b"\n"  # oversized
    return b"[" * rng.randrange(1, 5000) + b"\n"  # deep nesting


def test_fuzzed_frames_never_hurt_the_job(make_publisher: Callable[..., Publisher]) -> None:
    pub = make_publisher(server_config=ServerConfig(max_offences=200))
    good = RawClient(str(pub.socket_path), timeout=30)
    good.read_until(lambda f: f["type"] == "snapshot")
    stop = threading.Event()
    received: list[int] = []
    problems: list[str] = []

    def trainer() -> None:
        for i in range(EVENTS):
            pub.metrics({"train/loss": 1.0 / (i + 1)}, step=i)
            for cmd in pub.poll_commands():
                pub.reply(cmd, ok=True)
            if i % 200 == 0:
                stop.wait(0.001)

    def watcher() -> None:
        try:
            while not received or received[-1] < EVENTS:
                frame = good.read_until(lambda f: True, timeout=30)
                if frame["type"] in ("dropped", "snapshot"):
                    problems.append(frame["type"])
                elif frame["type"] == "metrics":
                    received.append(frame["seq"])
        except Exception as exc:
            problems.append(repr(exc))

    threads = [threading.Thread(target=trainer), threading.Thread(target=watcher)]
    for t in threads:
        t.start()
    rng = random.Random(1234)
    sent = reconnects = 0
    sock = socket.socket(socket.AF_UNIX)
    sock.connect(str(pub.socket_path))
    while pub.stats()["frames"] < FRAMES:
        batch = b"".join(_frame(rng) for _ in range(50))
        try:
            sock.sendall(batch)
            sent += 50
            sock.setblocking(False)
            try:
                while sock.recv(1 << 16):
                    pass
            except BlockingIOError:
                pass
            sock.setblocking(True)
        except OSError:  # disconnected for misbehaving: come back, as an attacker would
            sock.close()
            sock = socket.socket(socket.AF_UNIX)
            sock.connect(str(pub.socket_path))
            reconnects += 1
    sock.close()
    for t in threads:
        t.join(60)
    good.close()
    assert not problems
    assert received == list(range(1, EVENTS + 1))  # every event, in order, none dropped
    stats = pub.stats()
    assert stats["frames"] >= FRAMES and stats["errors"] == 0
    assert stats["offences"] > stats["frames"] // 2 and reconnects > 10
    pub.close()
    logged = [m.seq for m in read_events(pub.events_path) if m.type == "metrics"]
    assert logged == list(range(1, EVENTS + 1))
