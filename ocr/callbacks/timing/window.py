"""The throughput monitor's sliding window over the step clock's records: plain arithmetic.

Rates and percentiles over the last ``window_steps`` closed steps, with running sums so a
step costs O(1) to add; the data-bound verdict compares the window's data wait share of
step time with ``data_bound_share``. No Lightning and no clock of its own: the callback
feeds it :class:`~ocrtop.ocr.callbacks.timing.step_clock.StepRecord` objects.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, NamedTuple

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.sampling.stats import percentile

if TYPE_CHECKING:
    from ocrtop.ocr.callbacks.timing.step_clock import StepRecord


class _Step(NamedTuple):
    wait_ms: float
    compute_ms: float
    size: int
    instances: int
    load_ms: float
    transform_ms: float
    target_ms: float


class StepWindow:
    """The last ``window_steps`` steps and the figures computed over them.

    Args:
        window_steps: Steps kept.
        data_bound_share: Data wait share above which the window is data-bound.
    """

    def __init__(self, window_steps: int, data_bound_share: float) -> None:
        if window_steps < 1:
            raise ValueError(f"window_steps must be >= 1, got {window_steps}")
        self.window_steps = window_steps
        self.data_bound_share = data_bound_share
        self._steps: deque[_Step] = deque(maxlen=window_steps)
        self._sums = [0.0] * len(_Step._fields)
        self._pushes = 0
        self._has_instances = self._has_timing = False
        self.last: StepRecord | None = None

    def __len__(self) -> int:
        return len(self._steps)

    def add(self, rec: StepRecord) -> None:
        """Append one closed step (the loader's own timing when the batch carried it)."""
        timing = rec.timing
        extra = (0.0, 0.0, 0.0)
        if timing is not None:
            self._has_timing = True
            get = timing.get
            extra = (get("load_ms", 0.0), get("transform_ms", 0.0), get("target_ms", 0.0))
        self._has_instances = rec.instances is not None
        self._push(_Step(rec.wait_ms, rec.compute_ms, rec.size, rec.instances or 0, *extra))
        self.last = rec

    def _push(self, step: _Step) -> None:
        """Append keeping per-field running sums (O(1) per step)."""
        win, sums = self._steps, self._sums
        if len(win) == win.maxlen:
            for i, old in enumerate(win[0]):
                sums[i] -= old
        win.append(step)
        for i, new in enumerate(step):
            sums[i] += new
        self._pushes += 1
        if self._pushes % (100 * self.window_steps) == 0:  # wipe float drift now and then
            self._sums = [float(sum(col)) for col in zip(*win, strict=True)]

    def metrics(self) -> dict[str, float]:
        """The window's figures as of the last step; empty before the first."""
        last, win = self.last, self._steps
        if not win or last is None:
            return {}
        waits = sorted(s.wait_ms for s in win)
        computes = sorted(s.compute_ms for s in win)
        wait_total, compute_total, samples, instances = self._sums[:4]
        seconds = (wait_total + compute_total) / 1e3
        values = {
            names.DATA_WAIT_MS: last.wait_ms,
            names.COMPUTE_MS: last.compute_ms,
            names.STEP_MS: last.wait_ms + last.compute_ms,
            names.DATA_WAIT_MS_AVG: wait_total / len(win),
            names.DATA_WAIT_MS_P50: percentile(waits, 50),
            names.DATA_WAIT_MS_P95: percentile(waits, 95),
            names.DATA_WAIT_MS_P99: percentile(waits, 99),
            names.COMPUTE_MS_P50: percentile(computes, 50),
        }
        if seconds > 0:
            values[names.SAMPLES_PER_SECOND] = samples / seconds
            values[names.BATCHES_PER_SECOND] = len(win) / seconds
            if self._has_instances:
                values[names.INSTANCES_PER_SECOND] = instances / seconds
            efficiency = compute_total / (compute_total + wait_total)
            values[names.THROUGHPUT_EFFICIENCY] = efficiency
            values[names.DATA_BOUND] = float(1.0 - efficiency > self.data_bound_share)
            values[names.DATA_BOUND_THRESHOLD] = self.data_bound_share
        if self._has_timing:
            n = len(win)
            values[names.LOAD_MS] = self._sums[4] / n
            values[names.TRANSFORM_MS] = self._sums[5] / n
            values[names.TARGET_MS] = self._sums[6] / n
        return values
