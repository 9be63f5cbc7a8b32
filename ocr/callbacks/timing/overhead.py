"""What the monitoring costs, measured by the trainer itself: ``perf/monitor_overhead_pct``.

Two parts, both CPU time:

- *hooks*: CPU the training thread spends inside ocrtop's per-step callback hooks (and
  the step clock's own bookkeeping around the fetch). Reading a thread's CPU clock costs
  ~0.4 us, so only one step in ``sample_every`` is timed and the mean is scaled to every
  step; the other steps pay one attribute read per hook.
- *threads*: CPU of the threads ocrtop starts (named ``ocrtop-*``: bridge server, resource
  sampler, stall watchdog, profile analysis), read from their own CPU clocks
  (``pthread_getcpuclockid``) when the figure is computed, about once a second.

The figure is their sum over the training wall time of the same steps, in percent. It
cannot see what no clock attributes to us: GIL contention our threads cause, Lightning's
cost of calling the hooks at all, cache effects. ``benchmarks/bench_monitor_overhead.py``
measures those (whole-process CPU and wall ratios against a bare run).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

PER_STEP_HOOKS = (
    "on_train_batch_start",
    "on_train_batch_end",
    "on_before_backward",
    "on_after_backward",
    "on_before_optimizer_step",
    "on_before_zero_grad",
)
"""Callback hooks Lightning calls on every training step."""
THREAD_PREFIX = "ocrtop-"

_thread_time = time.thread_time


class OverheadMeter:
    """Samples the CPU of our per-step hooks and reads our threads' CPU clocks.

    Args:
        sample_every: Time the hooks of one step in this many.
    """

    def __init__(self, sample_every: int = 8) -> None:
        if sample_every < 1:
            raise ValueError(f"sample_every must be >= 1, got {sample_every}")
        self.sample_every = sample_every
        self.sampling = False
        self.hook_s = 0.0
        """CPU seconds in hooks during sampled steps."""
        self.sampled_steps = 0
        self.steps = 0
        self._wrapped: list[tuple[Any, str]] = []
        self._threads_mark: float | None = None
        self._mark: tuple[int, int, float] = (0, 0, 0.0)

    # --- per step (training thread) ---
    def step(self) -> None:
        """A step begins: decide whether its hooks are timed."""
        self.steps += 1
        self.sampling = self.steps % self.sample_every == 0
        if self.sampling:
            self.sampled_steps += 1

    def add(self, seconds: float) -> None:
        """CPU seconds of our own bookkeeping in a sampled step."""
        self.hook_s += seconds

    # --- wiring ---
    def wrap(self, callback: Any) -> None:
        """Time ``callback``'s per-step hooks (instance attributes; undone by :meth:`unwrap`)."""
        for name in PER_STEP_HOOKS:
            fn = getattr(callback, name, None)
            if fn is None or name in vars(callback) or not _overrides(callback, name):
                continue
            setattr(callback, name, self._timed(fn))
            self._wrapped.append((callback, name))

    def unwrap(self) -> None:
        """Restore every wrapped hook."""
        for callback, name in self._wrapped:
            vars(callback).pop(name, None)
        self._wrapped.clear()

    def _timed(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        meter = self

        def timed(*args: Any, **kwargs: Any) -> Any:
            if not meter.sampling:
                return fn(*args, **kwargs)
            t0 = _thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                meter.hook_s += _thread_time() - t0

        return timed

    # --- the figure ---
    def overhead_pct(self, step_seconds: float) -> float | None:
        """Percent of ``step_seconds`` (training wall time since the last call) spent by us.

        None on the first call (it sets the marks) or when nothing was sampled.
        """
        threads = threads_cpu_seconds()
        steps, sampled, hook_s = self.steps, self.sampled_steps, self.hook_s
        prev_threads = self._threads_mark
        p_steps, p_sampled, p_hook = self._mark
        self._threads_mark, self._mark = threads, (steps, sampled, hook_s)
        if prev_threads is None or step_seconds <= 0 or sampled == p_sampled:
            return None
        per_step = (hook_s - p_hook) / (sampled - p_sampled)
        spent = per_step * (steps - p_steps) + max(0.0, threads - prev_threads)
        return 100.0 * spent / step_seconds


def threads_cpu_seconds() -> float:
    """CPU seconds so far of every live ``ocrtop-*`` thread of this process.

    A thread that ended since the last call takes its CPU with it; the ones that matter
    (bridge server, sampler, watchdog) live as long as training.
    """
    total = 0.0
    for t in threading.enumerate():
        if t.name.startswith(THREAD_PREFIX) and t.ident is not None and t.is_alive():
            try:
                total += time.clock_gettime(time.pthread_getcpuclockid(t.ident))
            except (OSError, AttributeError):  # ended meanwhile, or not a POSIX system
                continue
    return total


def _overrides(obj: Any, name: str) -> bool:
    """Whether ``obj``'s class defines ``name`` below Lightning's base ``Callback``."""
    for klass in type(obj).__mro__:
        if name in vars(klass):
            return klass.__module__.split(".")[0] not in ("pytorch_lightning", "lightning")
    return False
