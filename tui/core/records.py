"""Small records the state keeps per rank: alerts, log lines, acks and profiling windows.

They are plain dataclasses so that the headless printer, the widgets and the tests all
read the same fields, and so that none of them needs Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class AlertRecord:
    """One alert transition (firing or cleared) as published by the alerts callback."""

    code: str
    severity: str
    state: str
    message: str
    hint: str
    t: float
    rank: int
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class LogRecord:
    """One forwarded log line of the trainer."""

    t: float
    level: str
    logger: str
    message: str
    rank: int


@dataclass(slots=True)
class AckRecord:
    """The trainer's answer to a command the TUI sent."""

    id: str
    command: str
    ok: bool
    error: str
    t: float


@dataclass(slots=True)
class ProfileState:
    """Where the latest profiling window stands, and the last finished result.

    ``state`` is ``idle`` before anything happened, ``requested`` between the key press
    and the trainer's ack, then the payload states ``armed``/``started``/``finished``/``error``.
    """

    state: str = "idle"
    steps: int | None = None
    since: float = 0.0
    error: str = ""
    result: dict[str, Any] | None = None
    result_t: float | None = None

    @property
    def running(self) -> bool:
        """True while a window is requested, armed or recording."""
        return self.state in ("requested", "armed", "started")

    def apply(self, payload: dict[str, Any], t: float) -> None:
        """Update from a ``profile`` message payload."""
        self.state = str(payload.get("state", "finished"))
        self.since = t
        if payload.get("steps") is not None:
            self.steps = int(payload["steps"])
        if self.state == "finished":
            self.result, self.result_t, self.error = payload, t, ""
        elif self.state == "error":
            self.error = str(payload.get("error") or "profiling failed")
