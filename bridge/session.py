"""Client sessions: one ``Session`` per connection, and the ``Sessions`` table of seats.

A session owns its connection (socket, framing, outbox and backpressure, in
``ocrtop.bridge.connection``) and speaks the protocol to it: hello + snapshot once it is
admitted, command validation (``ocrtop.bridge.protocol``), acks, error frames, and the
``dropped`` + fresh snapshot resync after lagging. The table holds the seats:
eviction of connections that never spoke, the auth timeout, routing the training
thread's replies to the session that asked. Everything runs on the server thread;
a client's mistakes become error acks, repeated ones a disconnect, never an exception.
"""

from __future__ import annotations

import contextlib
import hmac
import socket
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ocrtop.bridge.config import ServerConfig
from ocrtop.bridge.connection import Conn
from ocrtop.bridge.framing import Oversized
from ocrtop.bridge.loop import READ, WRITE, SelectorLoop
from ocrtop.bridge.protocol import (
    MAX_CLIENT_FRAME_BYTES,
    ProtocolError,
    decode_obj,
    encode_obj,
    parse_command,
)
from ocrtop.bridge.pump import EventPump

MAX_PENDING_COMMANDS = 64
AUTH_TIMEOUT_S = 5.0


@dataclass
class Command:
    """A client command waiting for the training thread.

    Attributes:
        id: chosen by the client; echoed in the ack.
        command: ``profile`` or ``stop`` (``ping`` never reaches the trainer).
        args: validated arguments (``steps`` for profile, ``mode`` for stop).
    """

    id: str
    command: str
    args: dict[str, Any] = field(default_factory=dict)
    client: int = field(default=-1, repr=False, compare=False)


class Sessions:
    """The seats of one server: every session by id, and what they share.

    Args:
        loop: the selector the sessions' sockets are registered with.
        pump: the event stream (seq, snapshot) the sessions serve.
        hello: the payload every session starts with.
        config: seats, budgets, offences, token.
        commands: where validated ``profile``/``stop`` commands go (training thread).
        stats: the server's counters.
    """

    def __init__(
        self,
        loop: SelectorLoop,
        pump: EventPump,
        hello: dict[str, Any],
        config: ServerConfig,
        commands: deque[Command],
        stats: dict[str, int],
    ) -> None:
        self.loop = loop
        self.pump = pump
        self.hello = hello
        self.config = config
        self.commands = commands
        self.stats = stats
        self.by_id: dict[int, Session] = {}
        self._next_id = 0
        for key in ("clients_total", "refused", "frames", "offences", "dropped", "evicted"):
            stats.setdefault(key, 0)

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self.by_id.values()))

    def values(self) -> list[Session]:
        return list(self.by_id.values())

    def open(self, sock: socket.socket, kind: str, peer: str, pid: int = 0) -> Session:
        """Seat a new connection (room must have been made) and watch its socket."""
        self._next_id += 1
        conn = Conn(sock, self._next_id, kind, peer, self.config.client_buffer_bytes, pid)
        session = Session(conn, self)
        self.by_id[conn.cid] = session
        self.stats["clients_total"] += 1
        # Unix peers are admitted already: their session starts once the socket is writable.
        session.want_write = session.authed
        self.loop.register(sock, READ | (WRITE if session.authed else 0), session.on_ready)
        return session

    def make_room(self) -> bool:
        """Free a seat when the server is full, at the expense of a client that is not one.

        A connection that has sent no valid frame is a candidate once it has sent a bad
        one or been silent for ``idle_grace_s`` (ocrtop's client pings on connect); the
        one with the most bad frames goes first, then the oldest. A server full of
        clients that spoke up refuses the newcomer instead.
        """
        if len(self.by_id) < self.config.max_clients:
            return True
        now = time.monotonic()
        grace = self.config.idle_grace_s
        idle = [
            s
            for s in self.by_id.values()
            if s.valid_frames == 0 and (s.offences or now - s.connected_at >= grace)
        ]
        if not idle:
            return False
        victim = max(idle, key=lambda s: (s.offences, -s.connected_at))
        self.stats["evicted"] += 1
        message = f"server full: closing a connection that sent no valid frame within {grace:g} s"
        with contextlib.suppress(OSError):
            victim.conn.sock.send(self.error_frame(None, None, message))
        victim.disconnect()
        return True

    def error_frame(self, cmd_id: str | None, command: str | None, error: str) -> bytes:
        payload: dict[str, Any] = {
            "id": cmd_id,
            "command": command,
            "ok": False,
            "error": error,
            "result": {},
        }
        return encode_obj(self.pump.session_message("ack", payload))

    def deliver(self, replies: deque[tuple[Command, dict[str, Any]]]) -> None:
        """Turn the training thread's replies into acks for the sessions that asked."""
        while replies:
            try:
                cmd, reply = replies.popleft()
            except IndexError:
                break
            session = self.by_id.get(cmd.client)
            if session is not None:
                session.ack(cmd, reply)

    def flush_pending(self) -> None:
        """Send what each session has queued (and finish resyncs and closes)."""
        for session in list(self.by_id.values()):
            conn = session.conn
            if conn.out or conn.lagging or session.closing:
                session.flush()

    def expire(self, now: float) -> None:
        """Close TCP connections that did not authenticate in time."""
        for session in list(self.by_id.values()):
            if not session.authed and now - session.connected_at > AUTH_TIMEOUT_S:
                session.disconnect()

    def close_all(self) -> None:
        """Best-effort goodbye: send what is queued, then close every connection."""
        for session in list(self.by_id.values()):
            with contextlib.suppress(OSError):
                session.conn.flush()
        for session in list(self.by_id.values()):
            session.disconnect()


class Session:
    """The protocol with one client: admission state, commands, acks, resync."""

    def __init__(self, conn: Conn, table: Sessions) -> None:
        self.conn = conn
        self.table = table
        self.authed = conn.kind == "unix"  # Unix: by peer uid; TCP: once the token is right
        self.live = False  # hello + snapshot sent; receives events
        self.valid_frames = 0  # well-formed commands received: the client speaks the protocol
        self.offences = 0
        self.read_open = True
        self.closing = False  # disconnect once the outbox is flushed
        self.closed = False
        self.connected_at = time.monotonic()
        self.want_write = False

    @property
    def cid(self) -> int:
        return self.conn.cid

    @property
    def lagging(self) -> bool:
        return self.conn.lagging

    def enqueue_batch(self, data: bytes, count: int) -> None:
        """Events from the pump (``count`` frames joined in ``data``)."""
        self.conn.enqueue_batch(data, count)

    # --- the selector's handler ---

    def on_ready(self, mask: int) -> None:
        if self.closed:
            return
        if mask & READ:
            self.on_readable()
        if mask & WRITE and not self.closed:
            if self.live or not self.authed:
                self.flush()
            else:  # admitted at accept, writable now: the session starts
                self.go_live()

    def go_live(self) -> None:
        """Send hello and the snapshot; from now on the pump fans events out to it."""
        pump = self.table.pump
        pump.drain()  # so the snapshot holds everything published before the connect
        self.conn.enqueue_pinned(encode_obj(pump.session_message("hello", self.table.hello)))
        self.conn.enqueue_pinned(pump.snapshot_frame(self.conn.dropped_total))
        self.live = True
        self.flush()

    def on_readable(self) -> None:
        try:
            data = self.conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self.disconnect()
            return
        if self.authed and not self.live:  # it spoke before it became writable: hello first
            self.go_live()
            if self.closed:
                return
        if not data:
            # The peer closed its sending side; it may still read (a relay whose
            # stdin ended), so keep sending until a send fails.
            self.read_open = False
            self.update_interest()
            return
        for frame in self.conn.decoder.feed(data):
            if self.closing:
                break
            self.on_frame(frame)

    def on_frame(self, frame: bytes | Oversized) -> None:
        table = self.table
        table.stats["frames"] += 1
        if isinstance(frame, Oversized):
            error = f"frame of {frame.size} bytes exceeds {MAX_CLIENT_FRAME_BYTES}"
            self.offence(None, None, error)
            return
        obj: dict[str, Any] = {}
        try:
            obj = decode_obj(frame)
            if not self.authed:
                self.authenticate(obj)
                return
            cmd_id, command, args = parse_command(obj)
            self.valid_frames += 1
        except ProtocolError as exc:
            bad_id = obj.get("id") if isinstance(obj.get("id"), str) else None
            bad_command = obj.get("command") if isinstance(obj.get("command"), str) else None
            self.offence(bad_id, bad_command, str(exc))
            return
        if command == "ping":
            result = {"pong": True, "seq": table.pump.seq, "clients": len(table)}
            self.ack(Command(cmd_id, command, args), {"ok": True, "result": result})
        elif len(table.commands) >= MAX_PENDING_COMMANDS:
            error = "too many pending commands; the trainer applies them at step boundaries"
            self.ack(Command(cmd_id, command, args), {"ok": False, "error": error})
        else:
            table.commands.append(Command(cmd_id, command, args, client=self.cid))

    def authenticate(self, obj: dict[str, Any]) -> None:
        token = obj.get("token")
        expected = self.table.config.token or ""
        if obj.get("type") != "auth" or not isinstance(token, str):
            raise ProtocolError('send {"type": "auth", "token": ...} first')
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            self.table.stats["refused"] += 1
            self.conn.enqueue_pinned(self.table.error_frame(None, None, "bad token"))
            self.closing = True
            return
        self.authed = True
        self.valid_frames += 1
        self.go_live()

    def offence(self, cmd_id: str | None, command: str | None, error: str) -> None:
        table = self.table
        table.stats["offences"] += 1
        self.offences += 1
        self.conn.enqueue_pinned(table.error_frame(cmd_id, command, error))
        if self.offences >= table.config.max_offences:
            msg = f"disconnecting after {self.offences} bad frames"
            self.conn.enqueue_pinned(table.error_frame(None, None, msg))
            self.closing = True
        elif self.conn.out_bytes > 2 * self.conn.limit:
            self.closing = True

    def ack(self, cmd: Command, reply: dict[str, Any]) -> None:
        payload: dict[str, Any] = {"id": cmd.id, "command": cmd.command}
        payload["ok"] = bool(reply.get("ok"))
        if not payload["ok"]:
            payload["error"] = str(reply.get("error") or "failed")
        payload["result"] = reply.get("result") or {}
        msg = self.table.pump.session_message("ack", payload)
        try:
            line = encode_obj(msg)
        except (ValueError, TypeError, RecursionError) as exc:
            payload.update(ok=False, error=f"unencodable result: {exc}", result={})
            line = encode_obj(msg)
        self.conn.enqueue_pinned(line)
        if self.conn.out_bytes > 2 * self.conn.limit:
            self.closing = True

    # --- sending ---

    def flush(self) -> None:
        """Send what the socket takes; after lagging, report the drops and resync."""
        conn = self.conn
        try:
            empty = conn.flush()
            if empty and conn.lagging and not self.closing:
                conn.dropped_total += conn.dropped
                self.table.stats["dropped"] += conn.dropped
                pump = self.table.pump
                report = pump.session_message("dropped", {"count": conn.dropped})
                conn.dropped = 0
                conn.lagging = False
                conn.enqueue_pinned(encode_obj(report))
                conn.enqueue_pinned(pump.snapshot_frame(conn.dropped_total))
                empty = conn.flush()
        except OSError:
            self.disconnect()
            return
        if empty and self.closing:
            self.disconnect()
            return
        self.update_interest(not empty)

    def update_interest(self, want_write: bool | None = None) -> None:
        if want_write is None:
            want_write = self.want_write
        self.want_write = want_write
        mask = (READ if self.read_open else 0) | (WRITE if want_write else 0)
        self.table.loop.set_interest(self.conn.sock, mask, self.on_ready)

    def disconnect(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.table.by_id.pop(self.cid, None)
        self.table.loop.unregister(self.conn.sock)
        self.conn.close()
