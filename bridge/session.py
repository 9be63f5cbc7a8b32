"""Client sessions: admission (peer uid, TCP token), hello + snapshot, commands, acks.

A mixin of ``BridgeServer`` holding the per-client protocol logic, so that
``server.py`` is only the loop, the fan-out and the plumbing. Everything here
runs on the server thread; a client's mistakes become error acks, and repeated
ones a disconnect, never an exception.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import selectors
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.connection import Conn
from bridge.framing import Oversized
from bridge.protocol import (
    MAX_CLIENT_FRAME_BYTES,
    ProtocolError,
    decode_obj,
    encode_obj,
    parse_command,
)
from bridge.snapshot import SnapshotState

log = logging.getLogger(__name__)

_CREDS = struct.Struct("3i")
MAX_PENDING_COMMANDS = 64
AUTH_TIMEOUT_S = 5.0
MAX_ACCEPTS_PER_WAKE = 256
"""Connections taken per listener wake-up; the rest wait for the next loop turn."""
SNAPSHOT_CACHE_S = 0.5
"""How long one encoded snapshot may serve new clients while no event arrives."""


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


@dataclass
class ServerConfig:
    """Tunables; the defaults suit a trainer publishing up to ~100k events/s."""

    client_buffer_bytes: int = 4 << 20
    """Per-client outbox; past it the client lags (at least twice a max frame)."""
    poll_interval: float = 0.005
    """Longest wait between a publish and its delivery while events flow: bounds the
    latency and, under a flood, the wake-ups per second (events are batched)."""
    idle_interval: float = 0.05
    """Seconds between drains with nobody connected (only the log is waiting)."""
    max_clients: int = 64
    """Seats; when full, a connection that never sent a valid frame is closed first."""
    idle_grace_s: float = 3.0
    """Seconds a new connection may stay silent before it is first in line for eviction."""
    max_offences: int = 10
    """Bad frames a client may send before it is disconnected."""
    max_batch: int = 20_000
    """Events drained per loop turn, so sockets are served during a flood."""
    peer_uid_check: Callable[[int], bool] | None = None
    """Admission by peer uid; None admits only this process's uid."""
    token: str | None = None
    """TCP token (set by the Publisher)."""


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """``(pid, uid, gid)`` of the process at the other end of a Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
    pid, uid, gid = _CREDS.unpack(raw)
    return pid, uid, gid


def same_uid(uid: int) -> bool:
    return uid == os.getuid()


class ClientSessions:
    """Per-client protocol handling; ``BridgeServer`` provides the state below."""

    conns: dict[int, Conn]
    stats: dict[str, int]
    config: ServerConfig
    hello: dict[str, Any]
    state: SnapshotState
    seq: int
    commands: deque[Command]
    replies: deque[tuple[Command, dict[str, Any]]]
    _uid_ok: Callable[[int], bool]
    _next_cid: int
    _sel: selectors.BaseSelector
    _drain: Callable[[], None]
    _flush: Callable[[Conn], None]
    _update_interest: Callable[..., None]
    _disconnect: Callable[[Conn], None]
    _snapshot_cache: tuple[int, float, bytes] | None = None

    def _accept(self, listener: socket.socket, kind: str) -> None:
        """Take every queued connection, cheaply: no hello or snapshot is built here.

        A burst of connects must leave the kernel's backlog as fast as it arrived, so
        accepting is only admission; the session starts once the socket is writable
        (``_go_live``, from the loop), where one encoded snapshot serves the burst.
        """
        for _ in range(MAX_ACCEPTS_PER_WAKE):
            try:
                sock, addr = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("bridge accept failed: %s", exc)
                return
            self._admit(sock, addr, kind)

    def _admit(self, sock: socket.socket, addr: Any, kind: str) -> None:
        sock.setblocking(False)
        pid = 0
        if kind == "unix":
            try:
                pid, uid, _gid = peer_credentials(sock)
            except OSError:
                uid = -1
            if not self._uid_ok(uid):
                self.stats["refused"] += 1
                log.warning("bridge refused a connection from uid %d (pid %d)", uid, pid)
                with contextlib.suppress(OSError):
                    sock.send(self._error_frame(None, None, "permission denied: not your job"))
                sock.close()
                return
            peer = f"pid {pid} uid {uid}"
        else:
            peer = f"{addr[0]}:{addr[1]}"
        if not self._make_room():
            self.stats["refused"] += 1
            with contextlib.suppress(OSError):
                sock.send(self._error_frame(None, None, "too many clients"))
            sock.close()
            return
        self._next_cid += 1
        conn = Conn(sock, self._next_cid, kind, peer, self.config.client_buffer_bytes, pid)
        self.conns[conn.cid] = conn
        self.stats["clients_total"] += 1
        # Unix peers are admitted already: start their session once the socket is writable.
        mask = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.authed else 0)
        conn.want_write = conn.authed
        self._sel.register(sock, mask, conn)

    def _make_room(self) -> bool:
        """Free a seat when the server is full, at the expense of a client that is not one.

        A connection that has sent no valid frame is a candidate once it has sent a bad
        one or been silent for ``idle_grace_s`` (ocrtop's client pings on connect); the
        one with the most bad frames goes first, then the oldest. A server full of
        clients that spoke up refuses the newcomer instead.
        """
        if len(self.conns) < self.config.max_clients:
            return True
        now = time.monotonic()
        grace = self.config.idle_grace_s
        idle = [
            c
            for c in self.conns.values()
            if c.valid_frames == 0 and (c.offences or now - c.connected_at >= grace)
        ]
        if not idle:
            return False
        victim = max(idle, key=lambda c: (c.offences, -c.connected_at))
        self.stats["evicted"] += 1
        message = f"server full: closing a connection that sent no valid frame within {grace:g} s"
        with contextlib.suppress(OSError):
            victim.sock.send(self._error_frame(None, None, message))
        self._disconnect(victim)
        return True

    def _go_live(self, conn: Conn) -> None:
        self._drain()  # so the snapshot holds everything published before the connect
        conn.enqueue_pinned(encode_obj(self._session("hello", self.hello)))
        self._enqueue_snapshot(conn)
        conn.live = True
        self._flush(conn)

    def _enqueue_snapshot(self, conn: Conn) -> None:
        conn.enqueue_pinned(self._snapshot_frame(conn.dropped_total))

    def _snapshot_frame(self, dropped: int) -> bytes:
        """The encoded snapshot; first connects at the same seq share one encoding.

        Building a snapshot walks every series' history and encodes up to 1 MiB, so a
        burst of clients (or a reconnect storm) must not build one each. A resync
        (``dropped`` > 0) carries its own count and is built for its client.
        """
        now = time.monotonic()
        cached = self._snapshot_cache
        if dropped == 0 and cached is not None:
            seq, built_at, frame = cached
            if seq == self.seq and now - built_at < SNAPSHOT_CACHE_S:
                return frame
        frame = encode_obj(self._session("snapshot", self.state.build(dropped)))
        if dropped == 0:
            self._snapshot_cache = (self.seq, now, frame)
        return frame

    def _on_readable(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._disconnect(conn)
            return
        if conn.authed and not conn.live:  # it spoke before it became writable: hello first
            self._go_live(conn)
            if conn.cid not in self.conns:
                return
        if not data:
            # The peer closed its sending side; it may still read (a relay whose
            # stdin ended), so keep sending until a send fails.
            conn.read_open = False
            self._update_interest(conn)
            return
        for frame in conn.decoder.feed(data):
            if conn.closing:
                break
            self._on_frame(conn, frame)

    def _on_frame(self, conn: Conn, frame: bytes | Oversized) -> None:
        self.stats["frames"] += 1
        if isinstance(frame, Oversized):
            self._offence(
                conn, None, None, f"frame of {frame.size} bytes exceeds {MAX_CLIENT_FRAME_BYTES}"
            )
            return
        obj: dict[str, Any] = {}
        try:
            obj = decode_obj(frame)
            if not conn.authed:
                self._authenticate(conn, obj)
                return
            cmd_id, command, args = parse_command(obj)
            conn.valid_frames += 1
        except ProtocolError as exc:
            bad_id = obj.get("id") if isinstance(obj.get("id"), str) else None
            bad_command = obj.get("command") if isinstance(obj.get("command"), str) else None
            self._offence(conn, bad_id, bad_command, str(exc))
            return
        if command == "ping":
            result = {"pong": True, "seq": self.seq, "clients": len(self.conns)}
            self._ack(conn, Command(cmd_id, command, args), {"ok": True, "result": result})
        elif len(self.commands) >= MAX_PENDING_COMMANDS:
            error = "too many pending commands; the trainer applies them at step boundaries"
            self._ack(conn, Command(cmd_id, command, args), {"ok": False, "error": error})
        else:
            self.commands.append(Command(cmd_id, command, args, client=conn.cid))

    def _authenticate(self, conn: Conn, obj: dict[str, Any]) -> None:
        token = obj.get("token")
        expected = self.config.token or ""
        if obj.get("type") != "auth" or not isinstance(token, str):
            raise ProtocolError('send {"type": "auth", "token": ...} first')
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            self.stats["refused"] += 1
            conn.enqueue_pinned(self._error_frame(None, None, "bad token"))
            conn.closing = True
            return
        conn.authed = True
        conn.valid_frames += 1
        self._go_live(conn)

    def _offence(self, conn: Conn, cmd_id: str | None, command: str | None, error: str) -> None:
        self.stats["offences"] += 1
        conn.offences += 1
        conn.enqueue_pinned(self._error_frame(cmd_id, command, error))
        if conn.offences >= self.config.max_offences:
            msg = f"disconnecting after {conn.offences} bad frames"
            conn.enqueue_pinned(self._error_frame(None, None, msg))
            conn.closing = True
        elif conn.out_bytes > 2 * conn.limit:
            conn.closing = True

    def _error_frame(self, cmd_id: str | None, command: str | None, error: str) -> bytes:
        payload: dict[str, Any] = {
            "id": cmd_id,
            "command": command,
            "ok": False,
            "error": error,
            "result": {},
        }
        return encode_obj(self._session("ack", payload))

    def _session(self, mtype: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A session message; its seq is the last event seq this client has been given."""
        return {
            "type": mtype,
            "t": time.time(),
            "seq": self.seq,
            "step": None,
            "epoch": None,
            "payload": payload,
        }

    def _ack(self, conn: Conn, cmd: Command, reply: dict[str, Any]) -> None:
        payload: dict[str, Any] = {"id": cmd.id, "command": cmd.command}
        payload["ok"] = bool(reply.get("ok"))
        if not payload["ok"]:
            payload["error"] = str(reply.get("error") or "failed")
        payload["result"] = reply.get("result") or {}
        msg = self._session("ack", payload)
        try:
            line = encode_obj(msg)
        except (ValueError, TypeError, RecursionError) as exc:
            payload.update(ok=False, error=f"unencodable result: {exc}", result={})
            line = encode_obj(msg)
        conn.enqueue_pinned(line)
        if conn.out_bytes > 2 * conn.limit:
            conn.closing = True

    def _send_replies(self) -> None:
        while self.replies:
            try:
                cmd, reply = self.replies.popleft()
            except IndexError:
                break
            conn = self.conns.get(cmd.client)
            if conn is not None:
                self._ack(conn, cmd, reply)
