"""One profiling window: its request, its torch profiler, and its per-step timings."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from ocrtop.bridge.protocol import PROFILE_MAX_STEPS  # the protocol's limit, defined once there

ACTIVITIES = {
    "cpu": torch.profiler.ProfilerActivity.CPU,
    "cuda": torch.profiler.ProfilerActivity.CUDA,
}


@dataclass(frozen=True)
class ProfilerOptions:
    """What ``torch.profiler.profile`` records (the callback's config keys)."""

    activities: tuple[str, ...] = ("cpu", "cuda")
    record_shapes: bool = False
    profile_memory: bool = False
    with_stack: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.activities) - set(ACTIVITIES)
        if unknown:
            raise ValueError(f"unknown profiler activities {sorted(unknown)}; use cpu and/or cuda")


def command_steps(args: dict[str, Any] | None, default: int, limit: int) -> int:
    """Validate the ``steps`` argument of a ``profile`` command.

    Raises:
        ValueError: With a message for the error ack.
    """
    steps = (args or {}).get("steps", default)
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= PROFILE_MAX_STEPS:
        raise ValueError(
            f"profile steps must be an integer in 1..{PROFILE_MAX_STEPS}, got {steps!r}"
        )
    if steps > limit:
        raise ValueError(
            f"profile steps={steps} exceeds callbacks.profiler.max_window_steps={limit} "
            "(traces grow with every step)"
        )
    return steps


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
        first_index: Step clock index of the first recorded step (after the warmup).
        rows: ``(data wait, forward-backward, optimizer, after)`` ms of each recorded step,
            from the step clock's records (:mod:`ocrtop.ocr.callbacks.timing.step_clock`).
        finishing: The profiler is stopped; the analysis starts once the clock has
            closed the last recorded step (at the next fetch or boundary).
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
    first_index: int = 0
    rows: list[tuple[float, float, float, float]] = field(default_factory=list)
    finishing: bool = False
    prof: Any = None
    ready: bool = False
    stopped: bool = False
    on_thread_ms: float = 0.0

    def begin(self, opts: ProfilerOptions, epoch: int, step: int) -> None:
        """Create and start the torch profiler with the window's explicit schedule."""
        cuda = torch.cuda.is_available()
        acts = [ACTIVITIES[a] for a in opts.activities if a != "cuda" or cuda]
        self.epoch, self.start_step = epoch, step

        def on_ready(prof: Any) -> None:
            self.ready = True

        self.prof = torch.profiler.profile(
            activities=acts,
            schedule=torch.profiler.schedule(
                wait=0, warmup=self.warmup, active=self.steps, repeat=1
            ),
            on_trace_ready=on_ready,
            record_shapes=opts.record_shapes,
            profile_memory=opts.profile_memory,
            with_stack=opts.with_stack,
        )
        self.prof.start()
        self.state = WindowState.RUNNING

    def stop(self) -> None:
        """Stop the profiler exactly once and time it (on the training thread).

        A second ``stop()`` would disable kineto again and replace the window's results
        with an empty set, which crashes the trace export.
        """
        if self.stopped or self.prof is None:
            return
        t0 = time.perf_counter()
        self.stopped = True
        self.prof.stop()
        self.on_thread_ms += (time.perf_counter() - t0) * 1e3

    def take(self, records: Any) -> None:
        """Keep the recorded (non-warmup) steps among the clock's ``records``, popping them."""
        last = self.first_index + self.steps
        while records:
            rec = records.popleft()
            if self.first_index <= rec.seq < last:
                row = (rec.wait_ms, rec.forward_backward_ms, rec.optimizer_ms, rec.after_ms)
                self.rows.append(row)

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
