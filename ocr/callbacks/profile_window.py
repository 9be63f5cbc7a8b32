"""One profiling window: its request, its torch profiler, and its per-step timings."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any


class WindowState(enum.Enum):
    """Lifecycle of a window; only one window exists at a time."""

    ARMED = "armed"
    RUNNING = "running"
    ANALYZING = "analyzing"


@dataclass
class ProfileWindow:
    """A requested or running window.

    Attributes:
        trigger: ``config`` or ``command``.
        steps: Recorded (active) steps requested.
        warmup: Warmup steps before recording (profiler on, results discarded).
        state: Where the window is in its lifecycle.
        epoch, start_step: Where it started (set when it starts).
        seen: ``prof.step()`` calls so far (warmup + recorded).
        rows: ``(data wait, forward-backward, optimizer)`` ms of each recorded step.
        prof: The ``torch.profiler.profile`` while running.
        ready: Set by ``on_trace_ready``: the recorded steps are complete.
        on_thread_ms: Time the training thread spent stopping the profiler.
    """

    trigger: str
    steps: int
    warmup: int
    state: WindowState = WindowState.ARMED
    epoch: int | None = None
    start_step: int | None = None
    seen: int = 0
    rows: list[tuple[float, float, float]] = field(default_factory=list)
    prof: Any = None
    ready: bool = False
    on_thread_ms: float = 0.0
    created: float = field(default_factory=time.time)

    def describe(self) -> str:
        """For the error ack a second request gets."""
        where = f" since step {self.start_step}" if self.start_step is not None else ""
        return (
            f"a {self.trigger} profiling window of {self.steps} steps is {self.state.value}{where}"
        )

    def payload(self, state: str, **extra: Any) -> dict[str, Any]:
        """A bridge ``profile`` payload with the common fields."""
        return {
            "state": state,
            "trigger": self.trigger,
            "steps": self.steps,
            "warmup_steps": self.warmup,
            **extra,
        }
