"""The bridge server: a thread composing the selector loop, the event pump and the sessions.

Everything happens in one thread with non-blocking sockets, so no lock is shared
with the trainer: ``publish`` appends to a deque and the pump (``ocrtop.bridge.pump``) pops
from it in batches, at most ``poll_interval`` apart while events flow. With viewers
connected and nothing queued the thread sleeps until ``publish`` rings the loop's
doorbell (``ocrtop.bridge.loop``); with none, only the event log waits, ``idle_interval`` at
a time. This module decides *when* each part runs, and admits connections (peer uid
on the Unix socket, seats); the per-client protocol lives in ``ocrtop.bridge.session``.
``ping`` is answered on this thread, ``profile``/``stop`` are queued for the training
thread. No exception escapes into the trainer: a failing client is disconnected,
a failing cycle is logged and the loop goes on.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from ocrtop.bridge.config import ServerConfig
from ocrtop.bridge.eventlog import EventLogWriter
from ocrtop.bridge.loop import SelectorLoop
from ocrtop.bridge.pump import EventPump
from ocrtop.bridge.session import Command, Sessions

log = logging.getLogger(__name__)

__all__ = ["BridgeServer", "Command", "ServerConfig"]

HOUSEKEEPING_S = 0.25
"""Longest sleep with viewers connected: lag checks, pruning and log flushes still run."""
MAX_ACCEPTS_PER_WAKE = 256
"""Connections taken per listener wake-up; the rest wait for the next loop turn."""
_CREDS = struct.Struct("3i")


def peer_credentials(sock: socket.socket) -> tuple[int, int, int]:
    """``(pid, uid, gid)`` of the process at the other end of a Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _CREDS.size)
    pid, uid, gid = _CREDS.unpack(raw)
    return pid, uid, gid


def same_uid(uid: int) -> bool:
    return uid == os.getuid()


class BridgeServer:
    """Serves one publisher's listeners on a background thread.

    Args:
        source: the publish buffer the pump drains.
        replies: the training thread's ``(command, reply)`` pairs, acked here.
        commands: validated commands for the training thread.
        hello: the hello payload of every session.
        eventlog: ``events.jsonl`` (None: none).
        listeners: ``(socket, "unix" | "tcp")`` pairs, already listening.
        config: tunables.
        snapshot_points: history points per series in a late-join snapshot.
        overflow: the publisher's count of events lost to a full buffer.
    """

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
        self.config = config
        self.replies = replies
        self.stats: dict[str, int] = {"errors": 0, "wakeups": 0}
        self.loop = SelectorLoop(listeners, lambda sock, kind: self._accept(sock, kind))
        self.pump = EventPump(
            source,
            eventlog,
            self.stats,
            sinks=lambda: self.sessions.by_id.values(),
            replies_pending=lambda: bool(replies),
            before_event=self._deliver_replies,
            max_batch=config.max_batch,
            snapshot_points=snapshot_points,
            overflow=overflow,
        )
        self.sessions = Sessions(self.loop, self.pump, hello, config, commands, self.stats)
        self._uid_ok = config.peer_uid_check or same_uid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ocrtop-bridge", daemon=True)
        self._last_housekeeping = 0.0
        self._last_drain = -float("inf")
        self._dense = False
        """The last drain came within two batching windows of the one before it."""

    # --- lifecycle (called from the owner thread) ---

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        """Interrupt the select (a reply is waiting, a flush, or stop); any thread."""
        self.loop.wake()

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
        self.loop.close_wakeup()

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

        While events flow densely (a drain within two ``poll_interval`` windows of the
        previous one), they are batched for at most ``poll_interval`` after a drain,
        which bounds both the latency and the number of wake-ups per second under a
        flood. A drain of sparse traffic (a trainer's few events per step, tens of
        milliseconds apart) arms the doorbell at once instead of waking once more at the
        window's end to find nothing: one wake-up per burst rather than two or three,
        and the first event of the next burst still goes out at once. When viewers are
        connected and nothing is queued, the server arms a doorbell and sleeps until
        ``publish()`` rings it, so an idle viewer of a slow trainer costs no polling.
        With no viewer, only the event log waits, at ``idle_interval``.
        """
        source = self.pump.source
        if len(source) > self.config.max_batch or self.pump.flush_waiters:
            return 0.0
        since = time.monotonic() - self._last_drain
        if source or (self._dense and since < self.config.poll_interval):
            return max(0.0, self.config.poll_interval - since)
        if not self.sessions:
            return self.config.idle_interval
        self.loop.doorbell_armed = True
        if source:  # a publish raced the arming: it may not have rung
            self.loop.doorbell_armed = False
            return 0.0
        return HOUSEKEEPING_S

    def _cycle(self) -> None:
        self.loop.poll(self._timeout())
        self.stats["wakeups"] += 1
        self._deliver_replies()
        if self.pump.source:
            now = time.monotonic()
            self._dense = now - self._last_drain < 2 * self.config.poll_interval
            self._last_drain = now
            self.pump.drain()
        self.sessions.flush_pending()
        self.pump.release_flush_waiters()
        now = time.monotonic()
        if now - self._last_housekeeping > HOUSEKEEPING_S:
            self._last_housekeeping = now
            self.pump.tick(now)
            self.sessions.expire(now)

    def _deliver_replies(self) -> None:
        self.sessions.deliver(self.replies)

    # --- admission ---

    def _accept(self, listener: socket.socket, kind: str) -> None:
        """Take every queued connection, cheaply: no hello or snapshot is built here.

        A burst of connects must leave the kernel's backlog as fast as it arrived, so
        accepting is only admission; the session starts once the socket is writable,
        where one encoded snapshot serves the burst.
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
                log.warning("bridge refused a connection from uid %d (pid %d)", uid, pid)
                self._refuse(sock, "permission denied: not your job")
                return
            peer = f"pid {pid} uid {uid}"
        else:
            peer = f"{addr[0]}:{addr[1]}"
        if not self.sessions.make_room():
            self._refuse(sock, "too many clients")
            return
        self.sessions.open(sock, kind, peer, pid)

    def _refuse(self, sock: socket.socket, error: str) -> None:
        self.stats["refused"] += 1
        with contextlib.suppress(OSError):
            sock.send(self.sessions.error_frame(None, None, error))
        sock.close()

    # --- the end ---

    def _shutdown(self) -> None:
        """Log what is still buffered, say goodbye best-effort, release every fd."""
        try:
            self.pump.report_overflow()
            self.pump.drain_all()
        except Exception:
            log.exception("bridge shutdown: could not drain")
        self.sessions.close_all()
        self.loop.close()
        self.pump.close()
