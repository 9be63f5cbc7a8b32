"""The bridge server thread: drains the publish buffer, logs, keeps state, fans out.

Everything happens in one thread with non-blocking sockets and a selector, so no
lock is shared with the trainer: ``publish`` appends to a deque, and this thread
pops from it in batches, at most ``poll_interval`` apart while events flow. With
viewers connected and nothing queued it sleeps until ``publish`` rings its doorbell;
with none, only the event log waits, ``idle_interval`` at a time. Per event it
encodes once, appends to the event log (before and independently of any client),
updates the snapshot state and queues the same bytes to every live client. Client
commands are validated here (the ``ClientSessions`` mixin, bridge/session.py);
``ping`` is answered here, ``profile``/``stop`` are queued for the training thread.
No exception escapes into the trainer: a failing client is disconnected,
a failing cycle is logged and the loop goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from bridge.connection import Conn
from bridge.eventlog import EventLogWriter
from bridge.protocol import SESSION_TYPES, encode_event, encode_obj
from bridge.session import AUTH_TIMEOUT_S, ClientSessions, Command, ServerConfig, same_uid
from bridge.snapshot import SnapshotState

log = logging.getLogger(__name__)

__all__ = ["BridgeServer", "Command", "ServerConfig"]

HOUSEKEEPING_S = 0.25
"""Longest sleep with viewers connected: lag checks, pruning and log flushes still run."""


def _is_index(value: object) -> bool:
    """An integer-like step/epoch (numpy or torch ints too), but not a bool."""
    return hasattr(value, "__index__") and not isinstance(value, bool)


class BridgeServer(ClientSessions):
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
            "evicted": 0,
        }
        self._overflow = overflow
        self._overflow_seen = 0
        self._uid_ok = config.peer_uid_check or same_uid
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
        self._last_drain = 0.0
        self.doorbell_armed = False
        """True while the thread sleeps waiting for a publish; read by ``publish()``."""
        self.flush_waiters: deque[threading.Event] = deque()
        """``Publisher.flush()`` callers, released once the log holds all they published."""

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

    def _timeout(self) -> float:
        """How long to wait for sockets before draining the publish buffer again.

        Events are batched for at most ``poll_interval`` after a drain, which bounds both
        the latency and the number of wake-ups per second under a flood. When viewers
        are connected and nothing is queued, the server arms a doorbell and sleeps until
        ``publish()`` rings it, so an idle viewer of a slow trainer costs no polling.
        With no viewer, only the event log waits, at ``idle_interval``.
        """
        if len(self.source) > self.config.max_batch or self.flush_waiters:
            return 0.0
        since = time.monotonic() - self._last_drain
        if self.source or since < self.config.poll_interval:
            return max(0.0, self.config.poll_interval - since)
        if not self.conns:
            return self.config.idle_interval
        self.doorbell_armed = True
        if self.source:  # a publish raced the arming: it may not have rung
            self.doorbell_armed = False
            return 0.0
        return HOUSEKEEPING_S

    def ring(self) -> None:
        """Wake a server that sleeps on its doorbell; called by ``publish()``."""
        self.doorbell_armed = False
        self.wake()

    def _cycle(self) -> None:
        timeout = self._timeout()
        ready = self._sel.select(timeout)
        self.doorbell_armed = False
        for key, mask in ready:
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
                    if conn.live or not conn.authed:
                        self._flush(conn)
                    else:  # admitted at accept, writable now: the session starts
                        self._go_live(conn)
        self._send_replies()
        if self.source:
            self._last_drain = time.monotonic()
            self._drain()
        for conn in list(self.conns.values()):
            if conn.out or conn.lagging or conn.closing:
                self._flush(conn)
        # Count the waiters before looking at the buffer: one that arrives later may
        # have published events that are not drained yet.
        waiting = len(self.flush_waiters)
        if waiting and not self.source:
            self._flush_log(waiting)
        now = time.monotonic()
        if now - self._last_housekeeping > HOUSEKEEPING_S:
            self._housekeeping(now)

    def _flush_log(self, waiting: int) -> None:
        """Write the event log through to the file, then release the first ``waiting`` callers."""
        try:
            if self.eventlog is not None:
                self.eventlog.flush()
        except OSError as exc:
            self._log_failed(exc)
        for _ in range(waiting):
            self.flush_waiters.popleft().set()

    def _drain(self) -> None:
        popleft = self.source.popleft
        conns = [c for c in self.conns.values() if c.live]
        eventlog = self.eventlog
        state = self.state
        replies = self.replies
        for _ in range(self.config.max_batch):
            if replies:  # an ack goes before every event published after its reply()
                self._send_replies()
            try:
                t, mtype, payload, step, epoch = popleft()
            except IndexError:
                break
            if type(mtype) is not str or mtype in SESSION_TYPES or type(payload) is not dict:
                self.stats["bad_events"] += 1
                continue
            if type(step) is not int:
                step = int(step) if _is_index(step) else None
            if type(epoch) is not int:
                epoch = int(epoch) if _is_index(epoch) else None
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
            if not conn.authed and now - conn.connected_at > AUTH_TIMEOUT_S:
                self._disconnect(conn)
        self._report_overflow()

    def _report_overflow(self) -> None:
        """Record in the stream (and the log) that the publish buffer overflowed."""
        overflow = self._overflow()
        if overflow > self._overflow_seen:
            lost = overflow - self._overflow_seen
            self._overflow_seen = overflow
            message = f"publish buffer full: {lost} events lost (the bridge thread lacks CPU)"
            payload = {"level": "WARNING", "logger": "bridge", "message": message}
            self.source.append((time.time(), "log", payload, None, None))

    # --- connections ---

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
            self._report_overflow()
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
        while self.flush_waiters:  # a flush() racing close(): everything is logged now
            self.flush_waiters.popleft().set()
