"""One rank's slice of the state: latest values, bounded histories, alerts, logs, profile.

Every message of a stream ends in :meth:`RankState.ingest`, so it is written to be O(1)
amortised per message and bounded in memory however long the TUI stays attached.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from typing import Any

from ocrtop.bridge import names
from ocrtop.tui.core.records import AckRecord, AlertRecord, LogRecord, ProfileState
from ocrtop.tui.core.ring import History

MAX_SERIES = 256
"""Metric names with a history graph per rank; further names keep only their latest value."""
EPOCH_PREFIXES = ("val/", "test/", "val_", "test_", "valid")
"""Metrics kept per epoch: ours (``val/hmean``) and the ``val_acc`` style of user scripts."""
MAX_EPOCHS = 1000
FINISHED = ("done", "failed", "stopped")


def fields(msg: Any) -> tuple[str, float, int | None, int | None, int | None, dict[str, Any]]:
    """``(type, t, seq, step, epoch, payload)`` of a bridge Message or of its JSON dict."""
    if isinstance(msg, dict):
        get = msg.get
        return (
            get("type", ""),
            float(get("t") or 0.0),
            get("seq"),
            get("step"),
            get("epoch"),
            get("payload") or {},
        )
    return (msg.type, float(msg.t or 0.0), msg.seq, msg.step, msg.epoch, msg.payload or {})


class RankState:
    """Everything known about one rank of one job."""

    def __init__(self, rank: int) -> None:
        self.rank = rank
        self.hello: dict[str, Any] = {}
        self.latest: dict[str, tuple[float, float, int | None]] = {}
        self.history: dict[str, History] = {}
        self.per_epoch: dict[str, OrderedDict[int, float]] = {}
        self.status = "connecting"
        self.status_payload: dict[str, Any] = {}
        self.progress: dict[str, Any] = {}
        self.alerts_active: dict[str, AlertRecord] = {}
        self.alerts_recent: deque[AlertRecord] = deque(maxlen=50)
        self.alerts_total = 0
        self.profile = ProfileState()
        self.logs: deque[LogRecord] = deque(maxlen=500)
        self.logs_total = 0
        self.acks: deque[AckRecord] = deque(maxlen=20)
        self.steps: deque[tuple[float, int]] = deque(maxlen=256)
        self.dropped = 0
        self.first_t: float | None = None
        self.last_t = 0.0

    def value(self, name: str) -> float | None:
        """Latest value of a metric, or None when it was never reported."""
        hit = self.latest.get(name)
        return hit[0] if hit else None

    def ingest(self, kind: str, t: float, step: int | None, epoch: int | None, p: dict) -> None:
        """Apply one message (snapshots are unpacked by the caller)."""
        if t:
            self.first_t = t if self.first_t is None else self.first_t
            self.last_t = max(self.last_t, t)
        if kind == "metrics":
            self._metrics(p.get("values") or {}, t, step, epoch)
        elif kind == "progress":
            self.progress = p
            if p.get("step") is not None:
                self.steps.append((t, int(p["step"])))
        elif kind == "status":
            self.status = str(p.get("status", self.status))
            self.status_payload = {**self.status_payload, **p}
        elif kind == "alert":
            self._alert(p, t)
        elif kind == "profile":
            self.profile.apply(p, t)
        elif kind == "log":
            self.logs_total += 1
            self.logs.append(
                LogRecord(
                    t,
                    str(p.get("level", "INFO")),
                    str(p.get("logger", "")),
                    str(p.get("message", "")),
                    self.rank,
                )
            )
        elif kind == "ack":
            self._ack(p, t)
        elif kind == "dropped":
            self.dropped += int(p.get("count") or 0)

    def _metrics(self, values: dict, t: float, step: int | None, epoch: int | None) -> None:
        for name, raw in names.canonical(values).items():  # old runs: today's names
            if not isinstance(raw, int | float):
                continue
            value = float(raw)
            self.latest[name] = (value, t, step)
            series = self.history.get(name)
            if series is None and len(self.history) < MAX_SERIES:
                series = self.history[name] = History()
            if series is not None:
                series.append(t, value)
            if epoch is not None and name.startswith(EPOCH_PREFIXES):
                table = self.per_epoch.setdefault(name, OrderedDict())
                table[int(epoch)] = value
                while len(table) > MAX_EPOCHS:
                    table.popitem(last=False)

    def _alert(self, p: dict, t: float) -> None:
        rec = AlertRecord(
            code=str(p.get("code", "?")),
            severity=str(p.get("severity", "warning")),
            state=str(p.get("state", "firing")),
            message=str(p.get("message", "")),
            hint=str(p.get("hint", "")),
            t=t,
            rank=self.rank,
            values=dict(p.get("values") or {}),
        )
        if rec.state == "cleared":
            self.alerts_active.pop(rec.code, None)
        else:
            self.alerts_active[rec.code] = rec
        self.alerts_recent.append(rec)
        self.alerts_total += 1

    def _ack(self, p: dict, t: float) -> None:
        ack = AckRecord(
            str(p.get("id", "")),
            str(p.get("command", "")),
            bool(p.get("ok")),
            str(p.get("error") or ""),
            t,
        )
        self.acks.append(ack)
        if ack.command == "profile" and self.profile.state == "requested":
            if ack.ok:
                self.profile.state = "armed"
            else:
                self.profile.state, self.profile.error = "error", ack.error

    @property
    def finished(self) -> bool:
        """True once the rank reported a final status."""
        return self.status in FINISHED
