"""The event pump: publish buffer -> encode -> event log -> snapshot -> fan-out.

Runs on the server thread only, so nothing here takes a lock: ``publish()`` appends
tuples to ``source`` and the pump pops them in batches. Each event is encoded once;
the same bytes go to ``events.jsonl`` (before and independently of any client) and,
joined with the rest of the batch, to every live session as one chunk, so the
fan-out costs one append per session per batch rather than one per event.

The pump also owns what the log promises: ``Publisher.flush()`` waiters, released
once the log holds all they published, and the note in the stream when the publish
buffer overflowed.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from ocrtop.bridge.codec import encode_messages
from ocrtop.bridge.eventlog import EventLogWriter
from ocrtop.bridge.protocol import SESSION_TYPES, encode_event, encode_obj
from ocrtop.bridge.snapshot import SnapshotState

log = logging.getLogger(__name__)

SNAPSHOT_CACHE_S = 0.5
"""How long one encoded snapshot may serve new clients while no event arrives."""


class Sink(Protocol):
    """What the pump fans out to: a session (``ocrtop.bridge.session.Session``)."""

    @property
    def live(self) -> bool: ...

    def enqueue_batch(self, data: bytes, count: int) -> None: ...


def _is_index(value: object) -> bool:
    """An integer-like step/epoch (numpy or torch ints too), but not a bool."""
    return hasattr(value, "__index__") and not isinstance(value, bool)


class EventPump:
    """Drains the publish buffer into the log, the snapshot state and the sessions.

    Args:
        source: the publish buffer of ``(t, type, payload, step, epoch)`` tuples.
        eventlog: ``events.jsonl`` (None: no log, as in some tests).
        stats: the server's counters; the pump keeps ``events``, ``bad_events`` and
            ``log_errors``.
        sinks: returns the sessions to fan out to (only live ones receive events).
        before_event: called while ``replies_pending()`` holds, before the next event:
            an ack goes out before every event published after its ``reply()``.
        max_batch: events per ``drain`` call, so sockets are served during a flood.
        snapshot_points: history points per series in a late-join snapshot.
        overflow: the publisher's count of events lost to a full buffer.
    """

    def __init__(
        self,
        source: deque[tuple[Any, ...]],
        eventlog: EventLogWriter | None,
        stats: dict[str, int],
        sinks: Callable[[], Iterable[Sink]],
        replies_pending: Callable[[], bool] = lambda: False,
        before_event: Callable[[], None] = lambda: None,
        max_batch: int = 20_000,
        snapshot_points: int = 300,
        overflow: Callable[[], int] = lambda: 0,
    ) -> None:
        self.source = source
        self.eventlog = eventlog
        self.stats = stats
        self.state = SnapshotState(max_points=snapshot_points)
        self.seq = 0
        self.max_batch = max_batch
        self.flush_waiters: deque[Any] = deque()
        """``Publisher.flush()`` callers (``threading.Event``), released once logged."""
        self._sinks = sinks
        self._replies_pending = replies_pending
        self._before_event = before_event
        self._overflow = overflow
        self._overflow_seen = 0
        self._snapshot_cache: tuple[int, float, bytes] | None = None
        for key in ("events", "bad_events", "log_errors"):
            stats.setdefault(key, 0)

    # --- draining ---

    def drain(self) -> None:
        """Pump up to ``max_batch`` events; the rest wait for the next loop turn."""
        popleft = self.source.popleft
        sinks = [s for s in self._sinks() if s.live]
        replies_pending = self._replies_pending
        batch: list[dict[str, Any]] = []
        nulls = 0
        for _ in range(self.max_batch):
            if replies_pending():
                self._emit(sinks, batch, nulls)
                batch, nulls = [], 0
                self._before_event()
            try:
                t, mtype, payload, step, epoch = popleft()
            except IndexError:
                break
            if type(mtype) is not str or mtype in SESSION_TYPES or type(payload) is not dict:
                self.stats["bad_events"] += 1
                continue
            if type(step) is not int:
                step = None if step is None or not _is_index(step) else int(step)
                nulls += step is None
            if type(epoch) is not int:
                epoch = None if epoch is None or not _is_index(epoch) else int(epoch)
                nulls += epoch is None
            self.seq = seq = self.seq + 1
            batch.append(
                {
                    "type": mtype,
                    "t": t,
                    "seq": seq,
                    "step": step,
                    "epoch": epoch,
                    "payload": payload,
                }
            )
        self._emit(sinks, batch, nulls)
        self.stats["events"] = self.seq

    def _emit(self, sinks: list[Sink], batch: list[dict[str, Any]], nulls: int) -> None:
        """Encode a batch once, log it, fold it into the snapshot, hand it to every sink."""
        if not batch:
            return
        data = encode_messages(batch, nulls)
        if data is None:
            data = b"".join([self._encode_one(batch, i) for i in range(len(batch))])
        if self.eventlog is not None:
            try:
                self.eventlog.write_batch(data, len(batch))
            except (OSError, ValueError) as exc:
                self.log_failed(exc)
        add_metrics, update = self.state.add_metrics, self.state.update
        for msg in batch:
            values = msg["payload"].get("values") if msg["type"] == "metrics" else None
            if type(values) is dict:
                add_metrics(msg["seq"], msg["t"], msg["step"], msg["epoch"], values)
            else:
                update(msg)
        self._fan_out(sinks, data, len(batch))

    def _encode_one(self, batch: list[dict[str, Any]], i: int) -> bytes:
        """One frame; an unencodable event becomes an error ``log`` in its place (same seq)."""
        msg = batch[i]
        mtype, t, seq, step, epoch = msg["type"], msg["t"], msg["seq"], msg["step"], msg["epoch"]
        try:
            return encode_event(mtype, t, seq, step, epoch, msg["payload"])
        except (ValueError, TypeError, RecursionError) as exc:
            self.stats["bad_events"] += 1
            message = f"unencodable {mtype} event dropped: {exc}"
            payload = {"level": "ERROR", "logger": "bridge", "message": message}
            batch[i] = {**msg, "type": "log", "payload": payload}
            return encode_event("log", t, seq, step, epoch, payload)

    @staticmethod
    def _fan_out(sinks: list[Sink], data: bytes, count: int) -> None:
        for sink in sinks:
            sink.enqueue_batch(data, count)

    def drain_all(self) -> None:
        """Pump everything buffered (shutdown)."""
        self.drain()
        while self.source:
            self.drain()

    # --- the event log ---

    def log_failed(self, exc: Exception) -> None:
        """Count an event-log failure; only the first is logged (the disk stays full)."""
        if self.stats["log_errors"] == 0:
            path = self.eventlog.path if self.eventlog is not None else None
            log.error("cannot write the event log %s: %s", path, exc)
        self.stats["log_errors"] += 1

    def release_flush_waiters(self) -> None:
        """When callers wait and the buffer is empty: flush the log, then release them.

        The waiters are counted before looking at the buffer: one that arrives later
        may have published events that are not drained yet.
        """
        waiting = len(self.flush_waiters)
        if not waiting or self.source:
            return
        try:
            if self.eventlog is not None:
                self.eventlog.flush()
        except OSError as exc:
            self.log_failed(exc)
        for _ in range(waiting):
            self.flush_waiters.popleft().set()

    def tick(self, now: float) -> None:
        """Periodic: the log's timed flush, and the overflow note."""
        if self.eventlog is not None:
            try:
                self.eventlog.tick(now)
            except (OSError, ValueError) as exc:
                self.log_failed(exc)
        self.report_overflow()

    def report_overflow(self) -> None:
        """Record in the stream (and the log) that the publish buffer overflowed."""
        overflow = self._overflow()
        if overflow > self._overflow_seen:
            lost = overflow - self._overflow_seen
            self._overflow_seen = overflow
            message = f"publish buffer full: {lost} events lost (the bridge thread lacks CPU)"
            payload = {"level": "WARNING", "logger": "bridge", "message": message}
            self.source.append((time.time(), "log", payload, None, None))

    def close(self) -> None:
        """Close the log and release every waiter (everything is logged by now)."""
        if self.eventlog is not None:
            try:
                self.eventlog.close()
            except OSError as exc:
                self.log_failed(exc)
        while self.flush_waiters:  # a flush() racing close()
            self.flush_waiters.popleft().set()

    # --- what sessions ask for ---

    def session_message(self, mtype: str, payload: dict[str, Any]) -> dict[str, Any]:
        """A session message; its seq is the last event seq the client has been given."""
        return {
            "type": mtype,
            "t": time.time(),
            "seq": self.seq,
            "step": None,
            "epoch": None,
            "payload": payload,
        }

    def snapshot_frame(self, dropped: int) -> bytes:
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
        frame = encode_obj(self.session_message("snapshot", self.state.build(dropped)))
        if dropped == 0:
            self._snapshot_cache = (self.seq, now, frame)
        return frame
