"""Sessions without a server thread: hello + snapshot, exact drop counts, resync, seats."""

from __future__ import annotations

import json
import socket
from collections import deque
from typing import Any

from ocrtop.bridge.config import ServerConfig
from ocrtop.bridge.framing import LineDecoder
from ocrtop.bridge.loop import SelectorLoop
from ocrtop.bridge.protocol import MAX_FRAME_BYTES
from ocrtop.bridge.pump import EventPump
from ocrtop.bridge.session import Command, Sessions


def _table(config: ServerConfig) -> tuple[Sessions, EventPump, deque[tuple[Any, ...]]]:
    source: deque[tuple[Any, ...]] = deque()
    stats: dict[str, int] = {}
    holder: list[Sessions] = []
    pump = EventPump(source, None, stats, lambda: holder[0].by_id.values())
    loop = SelectorLoop([], lambda sock, kind: None)
    table = Sessions(loop, pump, {"protocol": 1}, config, deque(), stats)
    holder.append(table)
    return table, pump, source


def _read_all(sock: socket.socket, dec: LineDecoder) -> list[dict[str, Any]]:
    got = []
    while True:
        try:
            data = sock.recv(1 << 20)
        except BlockingIOError:
            return got
        got += [json.loads(f) for f in dec.feed(data)]  # type: ignore[arg-type]


def test_a_lagging_session_counts_every_lost_event_then_resyncs() -> None:
    table, pump, source = _table(ServerConfig(client_buffer_bytes=0))
    server_end, viewer = socket.socketpair()
    viewer.setblocking(False)
    server_end.setblocking(False)  # as the server's admission leaves it
    session = table.open(server_end, "unix", "test")
    session.go_live()
    dec = LineDecoder(MAX_FRAME_BYTES)
    got = _read_all(viewer, dec)
    assert [m["type"] for m in got] == ["hello", "snapshot"]
    pad = "x" * 2000
    for i in range(3000):  # ~6 MB: the kernel buffer and the 2 MiB outbox overflow
        source.append((0.0, "log", {"message": pad, "i": i}, i, 0))
        if i % 100 == 99:
            pump.drain()
            session.flush()
    assert session.lagging
    session.ack(Command("c1", "ping"), {"ok": True})  # an ack is never discarded
    while session.conn.out or session.lagging:
        got += _read_all(viewer, dec)
        session.flush()
    got += _read_all(viewer, dec)
    events = [m for m in got if m["type"] == "log"]
    dropped = [m["payload"]["count"] for m in got if m["type"] == "dropped"]
    assert len(events) + sum(dropped) == 3000 and dropped and dropped[0] > 0
    kinds = [m["type"] for m in got]
    assert kinds.index("dropped") + 1 == kinds.index("snapshot", 2)  # resync right after
    assert kinds.count("ack") == 1
    assert table.stats["dropped"] == sum(dropped)
    viewer.close()
    table.close_all()


def test_a_full_table_evicts_the_silent_connection_not_the_speaking_one() -> None:
    table, _pump, _source = _table(ServerConfig(max_clients=2, idle_grace_s=0.0))
    pairs = [socket.socketpair() for _ in range(3)]
    speaking = table.open(pairs[0][0], "unix", "a")
    silent = table.open(pairs[1][0], "unix", "b")
    speaking.valid_frames = 1
    assert table.make_room()
    assert silent.closed and not speaking.closed and table.stats["evicted"] == 1
    table.open(pairs[2][0], "unix", "c")
    for s in table.values():
        s.valid_frames = 1
    assert not table.make_room()  # everybody spoke: the newcomer is refused instead
    table.close_all()
    for _, peer in pairs:
        peer.close()
