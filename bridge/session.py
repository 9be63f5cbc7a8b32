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

    def _accept(self, listener: socket.socket, kind: str) -> None:
        try:
            sock, addr = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.warning("bridge accept failed: %s", exc)
            return
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
        if len(self.conns) >= self.config.max_clients:
            with contextlib.suppress(OSError):
                sock.send(self._error_frame(None, None, "too many clients"))
            sock.close()
            return
        self._next_cid += 1
        conn = Conn(sock, self._next_cid, kind, peer, self.config.client_buffer_bytes, pid)
        self.conns[conn.cid] = conn
        self.stats["clients_total"] += 1
        self._sel.register(sock, selectors.EVENT_READ, conn)
        if kind == "unix":
            self._go_live(conn)

    def _go_live(self, conn: Conn) -> None:
        self._drain()  # so the snapshot holds everything published before the connect
        conn.enqueue_pinned(encode_obj(self._session("hello", self.hello)))
        self._enqueue_snapshot(conn)
        conn.live = True
        self._flush(conn)

    def _enqueue_snapshot(self, conn: Conn) -> None:
        payload = self.state.build(conn.dropped_total)
        conn.enqueue_pinned(encode_obj(self._session("snapshot", payload)))

    def _on_readable(self, conn: Conn) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._disconnect(conn)
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
            if not conn.live:
                self._authenticate(conn, obj)
                return
            cmd_id, command, args = parse_command(obj)
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
