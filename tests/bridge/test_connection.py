"""The per-client outbox: bounded, counts what it drops, never drops acks."""

from __future__ import annotations

import json
import socket

from ocrtop.bridge.connection import Conn
from ocrtop.bridge.framing import LineDecoder
from ocrtop.bridge.protocol import MAX_FRAME_BYTES


def _frame(i: int, kind: str = "metrics") -> bytes:
    return json.dumps({"type": kind, "seq": i, "pad": "x" * 100}).encode() + b"\n"


def test_lagging_discards_events_but_keeps_pinned_frames() -> None:
    server, client = socket.socketpair()
    server.setblocking(False)
    conn = Conn(server, 1, "unix", "test", limit=0)
    assert conn.limit == 2 * MAX_FRAME_BYTES  # always room for a snapshot
    sent = 0
    while not conn.lagging:  # the peer never reads: kernel buffer, then outbox, fill up
        conn.enqueue(_frame(sent))
        sent += 1
        conn.flush()
    conn.enqueue_pinned(_frame(-1, "ack"))
    for i in range(100):
        conn.enqueue(_frame(sent + i))
    assert conn.out_bytes <= conn.limit
    dropped = conn.dropped
    assert dropped >= 101
    # The peer wakes up and reads everything: every event is either delivered or counted.
    client.setblocking(False)
    dec = LineDecoder(MAX_FRAME_BYTES)
    got: list[dict] = []
    while True:
        conn.flush()
        try:
            data = client.recv(1 << 20)
        except BlockingIOError:
            if not conn.out:
                break
            continue
        got += [json.loads(f) for f in dec.feed(data)]  # type: ignore[arg-type]
    events = [f["seq"] for f in got if f["type"] == "metrics"]
    assert events == sorted(events) and len(events) + dropped == sent + 100
    assert [f["type"] for f in got].count("ack") == 1
    server.close()
    client.close()
