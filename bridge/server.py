"""The bridge server thread: drains the publish buffer, logs, keeps state, fans out.

Everything happens in one thread with non-blocking sockets and a selector, so no
lock is shared with the trainer: ``publish`` appends to a deque, and this thread
pops from it every few milliseconds. Per event it encodes once, appends to the
event log (before and independently of any client), updates the snapshot state
and queues the same bytes to every live client. Client commands are validated
here; ``ping`` is answered here, ``profile``/``stop`` are queued for the training
thread. No exception escapes into the trainer: a failing client is disconnected,
a failing cycle is logged and the loop goes on.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import os
import selectors
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.connection import Conn
from bridge.eventlog import EventLogWriter
from bridge.framing import Oversized
from bridge.protocol import (
    MAX_CLIENT_FRAME_BYTES,
    SESSION_TYPES,
    ProtocolError,
    decode_obj,
    encode_event,
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
    poll_interval: float = 0.002
    idle_interval: float = 0.05
    max_clients: int = 64
    max_offences: int = 10
    max_batch: int = 20_000
    peer_uid_check: Callable[[int], bool] | None = None
    token: str | None = None


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """``(pid, uid, gid)`` of the process at the other end of a Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
    pid, uid, gid = _CREDS.unpack(raw)
    return pid, uid, gid


def _same_uid(uid: int) -> bool:
    return uid == os.getuid()


class BridgeServer:
    """Serves one publisher's listeners on a background thread."""

    def __init__(
        self,
        source: deque[tuple[Any, ...]],
        replies: deque[tuple[Command, dict[str, Any]]],
        commands: deque[Command],
        hello: dict[str, Any],
        eventlog: EventLogWriter | None,
        listeners: list[tuple[socket.socket, str]],
        config: ServerConfig,
        snapshot_points: int = 300,
        overflow: Callable[[], int] = lambda: 0,
    ) -> None:
        self.source = source
        self.replies = replies
        self.commands = commands
        self.hello = hello
        self.eventlog = eventlog
        self.config = config
        self.state = SnapshotState(max_points=snapshot_points)
        self.seq = 0
        self.conns: dict[int, Conn] = {}
        self.stats: dict[str, int] = {
            "events": 0,
            "clients_total": 0,
            "refused": 0,
            "frames": 0,
            "offences": 0,
            "dropped": 0,
            "errors": 0,
            "log_errors": 0,
            "bad_events": 0,
        }
        self._overflow = overflow
        self._overflow_seen = 0
        self._uid_ok = config.peer_uid_check or _same_uid
        self._next_cid = 0
        self._sel = selectors.DefaultSelector()
        self._wake_lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, "wake")
        self._listeners = listeners
        for sock, kind in listeners:
            sock.setblocking(False)
            self._sel.register(sock, selectors.EVENT_READ, ("listen", kind))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ocrtop-bridge", daemon=True)
        self._last_housekeeping = 0.0

    # --- lifecycle (called from the owner thread) ---

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Interrupt the select (a reply is waiting, or stop); any thread."""
        with self._wake_lock:
            if self._wake_w >= 0:
                with contextlib.suppress(OSError):
                    os.write(self._wake_w, b"x")

    def stop(self, timeout: float = 10.0) -> None:
        """Drain, log and close everything; the thread is joined before fds go."""
        self._stop.set()
        self.wake()
        if self._thread.ident is None:
            self._shutdown()
        else:
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("bridge thread did not stop within %.0f s", timeout)
            return
        with self._wake_lock:
            if self._wake_w >= 0:
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_r = self._wake_w = -1

    # --- the loop ---

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self._cycle()
                except Exception:
                    self.stats["errors"] += 1
                    log.exception("bridge server cycle failed; continuing")
                    time.sleep(0.01)
        finally:
            self._shutdown()

    def _cycle(self) -> None:
        if self.source:
            timeout = 0.0 if len(self.source) > self.config.max_batch else self.config.poll_interval
        else:
            timeout = self.config.poll_interval if self.conns else self.config.idle_interval
        for key, mask in self._sel.select(timeout):
            data = key.data
            if data == "wake":
                with contextlib.suppress(OSError):
                    os.read(self._wake_r, 4096)
            elif isinstance(data, tuple):
                self._accept(key.fileobj, data[1])  # type: ignore[arg-type]
            else:
                conn: Conn = data
                if conn.cid not in self.conns:
                    continue
                if mask & selectors.EVENT_READ:
                    self._on_readable(conn)
                if mask & selectors.EVENT_WRITE and conn.cid in self.conns:
                    self._flush(conn)
        self._drain()
        self._send_replies()
        for conn in list(self.conns.values()):
            if conn.out or conn.lagging or conn.closing:
                self._flush(conn)
        now = time.monotonic()
        if now - self._last_housekeeping > 0.25:
            self._housekeeping(now)

    def _drain(self) -> None:
        popleft = self.source.popleft
        conns = [c for c in self.conns.values() if c.live]
        eventlog = self.eventlog
        state = self.state
        for _ in range(self.config.max_batch):
            try:
                t, mtype, payload, step, epoch = popleft()
            except IndexError:
                break
            if type(mtype) is not str or mtype in SESSION_TYPES or type(payload) is not dict:
                self.stats["bad_events"] += 1
                continue
            if type(step) is not int:
                step = int(step) if hasattr(step, "__index__") and step is not True else None
            if type(epoch) is not int:
                epoch = int(epoch) if hasattr(epoch, "__index__") and epoch is not True else None
            self.seq = seq = self.seq + 1
            try:
                line = encode_event(mtype, t, seq, step, epoch, payload)
            except (ValueError, TypeError, RecursionError) as exc:
                self.stats["bad_events"] += 1
                message = f"unencodable {mtype} event dropped: {exc}"
                mtype, payload = "log", {"level": "ERROR", "logger": "bridge", "message": message}
                line = encode_event(mtype, t, seq, step, epoch, payload)
            if eventlog is not None:
                try:
                    eventlog.write(line)
                except (OSError, ValueError) as exc:
                    self._log_failed(exc)
            values = payload.get("values") if mtype == "metrics" else None
            if type(values) is dict:
                state.add_metrics(seq, t, step, epoch, values)
            else:
                msg = {"type": mtype, "t": t, "seq": seq, "step": step, "epoch": epoch}
                msg["payload"] = payload
                state.update(msg)
            for conn in conns:
                conn.enqueue(line)
        self.stats["events"] = self.seq

    def _log_failed(self, exc: Exception) -> None:
        if self.stats["log_errors"] == 0:
            path = self.eventlog.path if self.eventlog is not None else None
            log.error("cannot write the event log %s: %s", path, exc)
        self.stats["log_errors"] += 1

    def _housekeeping(self, now: float) -> None:
        self._last_housekeeping = now
        if self.eventlog is not None:
            try:
                self.eventlog.tick(now)
            except (OSError, ValueError) as exc:
                self._log_failed(exc)
        for conn in list(self.conns.values()):
            if not conn.live and now - conn.connected_at > AUTH_TIMEOUT_S:
                self._disconnect(conn)
        overflow = self._overflow()
        if overflow > self._overflow_seen:
            lost = overflow - self._overflow_seen
            self._overflow_seen = overflow
            self.source.append(
                (
                    time.time(),
                    "log",
                    {
                        "level": "WARNING",
                        "logger": "bridge",
                        "message": f"publish buffer full: {lost} events lost "
                        "(the bridge thread is starved of CPU)",
                    },
                    None,
                    None,
                )
            )

    # --- connections ---

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

    def _flush(self, conn: Conn) -> None:
        try:
            empty = conn.flush()
            if empty and conn.lagging and not conn.closing:
                conn.dropped_total += conn.dropped
                self.stats["dropped"] += conn.dropped
                report = self._session("dropped", {"count": conn.dropped})
                conn.dropped = 0
                conn.lagging = False
                conn.enqueue_pinned(encode_obj(report))
                self._enqueue_snapshot(conn)
                empty = conn.flush()
        except OSError:
            self._disconnect(conn)
            return
        if empty and conn.closing:
            self._disconnect(conn)
            return
        self._update_interest(conn, not empty)

    def _update_interest(self, conn: Conn, want_write: bool | None = None) -> None:
        if want_write is None:
            want_write = conn.want_write
        mask = (selectors.EVENT_READ if conn.read_open else 0) | (
            selectors.EVENT_WRITE if want_write else 0
        )
        conn.want_write = want_write
        try:
            if mask:
                self._sel.modify(conn.sock, mask, conn)
            else:
                self._sel.unregister(conn.sock)
        except (KeyError, ValueError):
            if mask:
                self._sel.register(conn.sock, mask, conn)

    def _disconnect(self, conn: Conn) -> None:
        if self.conns.pop(conn.cid, None) is None:
            return
        with contextlib.suppress(KeyError, ValueError):
            self._sel.unregister(conn.sock)
        conn.close()

    def _shutdown(self) -> None:
        """Log what is still buffered, say goodbye best-effort, release every fd."""
        try:
            self._drain()
            while self.source:
                self._drain()
            for conn in list(self.conns.values()):
                with contextlib.suppress(OSError):
                    conn.flush()
        except Exception:
            log.exception("bridge shutdown: could not drain")
        for conn in list(self.conns.values()):
            self._disconnect(conn)
        for sock, _kind in self._listeners:
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(sock)
            sock.close()
        self._sel.close()
        if self.eventlog is not None:
            try:
                self.eventlog.close()
            except OSError as exc:
                self._log_failed(exc)
