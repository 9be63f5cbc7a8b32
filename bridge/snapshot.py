"""What a late joiner needs: latest values and a bounded, downsampled history.

The server thread feeds every event through ``SnapshotState.update``; ``build``
turns the state into ordinary messages to replay in seq order, so a client has
one code path for snapshot and live stream, and graphs are never empty.

History per metric series is decimated by powers of two: every ``stride``-th
point is kept and, when more than ``max_points`` are held, every other one is
dropped and the stride doubles. That is O(1) amortised per value, keeps points
evenly spread over the whole run, and always keeps the latest value.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ocrtop.bridge.protocol import MAX_FRAME_BYTES, encode_obj

Point = tuple[int, float, "int | None", "int | None", Any]  # seq, t, step, epoch, value


class Series:
    """Downsampled history of one metric."""

    __slots__ = ("count", "head", "max_points", "points", "stride", "value")

    def __init__(self, max_points: int) -> None:
        self.max_points = max_points
        self.points: list[Point] = []
        self.stride = 1
        self.count = 0
        # The latest value, kept as the event's shared (seq, t, step, epoch) and the value:
        # no tuple per value on the hot path, where most values are not kept.
        self.head: tuple[int, float, int | None, int | None] | None = None
        self.value: Any = None

    @property
    def last(self) -> Point | None:
        return None if self.head is None else (*self.head, self.value)

    def add(self, point: Point) -> None:
        self.push(point[:4], point[4])

    def push(self, head: tuple[int, float, int | None, int | None], value: Any) -> None:
        if self.count % self.stride == 0:
            self.points.append((*head, value))
            if len(self.points) > self.max_points:
                self.points = self.points[::2]
                self.stride *= 2
        self.count += 1
        self.head = head
        self.value = value

    def history(self, limit: int) -> list[Point]:
        """At most ``limit`` evenly spread points, the latest one always included."""
        pts = self.points
        if len(pts) > limit:
            pts = pts[:: -(-len(pts) // limit)]
        last = self.last
        if last is not None and (not pts or pts[-1][0] != last[0]):  # seq: one value per event
            pts = [*pts, last]
        return pts


class SnapshotState:
    """Latest state of a job, maintained by the server thread only."""

    def __init__(self, max_points: int = 300, max_logs: int = 200, max_alerts: int = 50) -> None:
        self.max_points = max_points
        self.series: dict[str, Series] = {}
        self.setup_status: dict[str, Any] | None = None
        self.status: dict[str, Any] | None = None
        self.progress: dict[str, Any] | None = None
        self.profile: dict[str, Any] | None = None
        self.profile_result: dict[str, Any] | None = None
        self.active_alerts: dict[str, dict[str, Any]] = {}
        self.alerts: deque[dict[str, Any]] = deque(maxlen=max_alerts)
        self.logs: deque[dict[str, Any]] = deque(maxlen=max_logs)
        self.other: dict[str, dict[str, Any]] = {}

    def add_metrics(
        self, seq: int, t: float, step: int | None, epoch: int | None, values: dict[str, Any]
    ) -> None:
        """Fold a ``metrics`` event in without building its message dict (hot path)."""
        head = (seq, t, step, epoch)
        series = self.series
        for name, value in values.items():
            s = series.get(name)
            if s is None:
                s = series[name] = Series(self.max_points)
            if s.count % s.stride == 0:
                s.push(head, value)
            else:  # Series.push inlined for the common case: the value is not kept
                s.count += 1
                s.head = head
                s.value = value

    def update(self, msg: dict[str, Any]) -> None:
        """Fold one event (wire dict) into the state."""
        mtype = msg["type"]
        payload = msg["payload"]
        if mtype == "metrics":
            values = payload.get("values")
            if isinstance(values, dict):
                self.add_metrics(msg["seq"], msg["t"], msg["step"], msg["epoch"], values)
        elif mtype == "progress":
            self.progress = msg
        elif mtype == "status":
            self.status = msg
            if payload.get("status") == "setup":
                self.setup_status = msg
        elif mtype == "log":
            self.logs.append(msg)
        elif mtype == "alert":
            self.alerts.append(msg)
            code = str(payload.get("code"))
            if payload.get("state") == "cleared":
                self.active_alerts.pop(code, None)
            else:
                self.active_alerts[code] = msg
        elif mtype == "profile":
            self.profile = msg
            if payload.get("state") in ("finished", "error"):
                self.profile_result = msg
        else:
            self.other[mtype] = msg

    def events(self, points: int | None = None) -> list[dict[str, Any]]:
        """The snapshot's messages in seq order, with at most ``points`` per series."""
        limit = points or self.max_points
        by_seq: dict[int, dict[str, Any]] = {}
        for name, s in self.series.items():
            for seq, t, step, epoch, value in s.history(limit):
                m = by_seq.get(seq)
                if m is None:
                    m = by_seq[seq] = {
                        "type": "metrics",
                        "t": t,
                        "seq": seq,
                        "step": step,
                        "epoch": epoch,
                        "payload": {"values": {}},
                    }
                m["payload"]["values"][name] = value
        msgs: dict[int, dict[str, Any]] = {}
        singles = [self.setup_status, self.status, self.progress, self.profile_result]
        singles += [self.profile, *self.other.values()]
        for m in (*singles, *self.active_alerts.values(), *self.alerts, *self.logs):
            if m is not None:
                msgs[m["seq"]] = m
        msgs.update(by_seq)
        return [msgs[k] for k in sorted(msgs)]

    def build(self, dropped: int, max_bytes: int = MAX_FRAME_BYTES) -> dict[str, Any]:
        """A snapshot payload whose frame fits in ``max_bytes``.

        Halves the history until the encoded frame fits, then drops logs: a huge
        run with hundreds of series must still get a snapshot, just a coarser one.
        """
        points = self.max_points
        while True:
            events = self.events(points)
            payload: dict[str, Any] = {"events": events, "dropped": dropped}
            size = len(encode_obj({"type": "snapshot", "payload": payload})) + 200
            if size <= max_bytes:
                return payload
            if points > 2:
                points //= 2
                continue
            events = [m for m in events if m["type"] != "log"]
            return {"events": events[-1000:], "dropped": dropped}
