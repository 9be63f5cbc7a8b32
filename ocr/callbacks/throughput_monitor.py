"""ThroughputMonitorCallback: where a training step's time goes, data or compute.

It keeps no timer of its own: every step it takes the records the step clock
(:mod:`ocr.callbacks.timing.step_clock`) has closed since the last call and appends them to a
sliding window of at most ``window_steps`` steps; rates and percentiles are arithmetic
over that window. Data wait is the time the loop was blocked fetching the batch from the
train dataloader, compute is everything else in the step (transfer, forward, backward,
optimizer, every callback's hooks, logging). Validation is in neither. A step's record
is closed when the next fetch starts, so the figures published at a batch end cover the
steps before it; the epoch-end figures include the epoch's last step.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from bridge import names
from ocr.callbacks.link import publisher_of
from ocr.callbacks.link.emit import Emitter
from ocr.callbacks.options import (
    accepts_renamed,
    check_every_n_steps,
    check_publish_max_hz,
    check_share,
    step_cadence,
)
from ocr.callbacks.sampling.process_tree import process_tree_memory
from ocr.callbacks.sampling.stats import percentile
from ocr.callbacks.timing.batch_info import BatchSizeFn, resolve_batch_size_fn
from ocr.callbacks.timing.step_clock import StepClock, StepRecord

log = logging.getLogger(__name__)
_now = time.perf_counter  # publish cadence only; step times come from the clock
OVERHEAD_EVERY_S = 1.0
"""Seconds between two ``perf/monitor_overhead_pct`` figures (each reads a few clocks)."""


class _Step(NamedTuple):
    wait_ms: float
    compute_ms: float
    size: int
    instances: int
    load_ms: float
    transform_ms: float
    target_ms: float


class ThroughputMonitorCallback(Callback):
    """Rates, data wait percentiles, compute time and a data-bound verdict.

    Args:
        window_steps: Steps in the sliding window for rates and percentiles.
        every_n_steps: Lightning-logger cadence; None uses ``trainer.log_every_n_steps``.
        data_bound_share: Data wait share of the window's step time above which the
            window is called data-bound (``perf/data_bound`` = 1; published as
            ``perf/data_bound_threshold`` so viewers quote it).
        publish_max_hz: Most bridge ``metrics`` messages per second; None publishes every
            step. Every step still enters the window, so rates and percentiles cover all
            steps; only how often they are recomputed and sent is capped. Each message
            costs the bridge thread tens of microseconds of CPU (JSON, event log, socket),
            which at 50+ steps/s would show in the step time; a dashboard redraws a few
            times a second.
        batch_size_fn: Returns the number of samples in a batch (a callable, or a dotted
            path ``pkg.module.fn`` as a config gives it). Without it the size comes from
            the batch's ``batch_size`` or the tensors' leading dimension, with a one-time
            warning when that was a guess.
        enabled: Accepted for parity with the YAML configs (where it picks the callback);
            ``False`` makes every hook a no-op.
    """

    @accepts_renamed
    def __init__(
        self,
        window_steps: int = 50,
        every_n_steps: int | None = None,
        data_bound_share: float = names.DATA_BOUND_SHARE,
        publish_max_hz: float | None = 10.0,
        batch_size_fn: BatchSizeFn | str | None = None,
        enabled: bool = True,
    ) -> None:
        if window_steps < 1:
            raise ValueError(f"window_steps must be >= 1, got {window_steps}")
        self.enabled = enabled
        self.window_steps = window_steps
        self.every_n_steps = check_every_n_steps(every_n_steps)
        self.batch_size_fn: Callable[[Any], int] | None = resolve_batch_size_fn(batch_size_fn)
        self._min_interval = check_publish_max_hz(publish_max_hz)
        self._last_publish = -float("inf")
        self._has_instances = self._has_timing = False
        self.data_bound_share = check_share("data_bound_share", data_bound_share)
        self._window: deque[_Step] = deque(maxlen=window_steps)
        self._sums = [0.0] * len(_Step._fields)
        self._pushes = 0
        self._emit = Emitter("throughput")
        self._latest: dict[str, float] = {}
        self._last: StepRecord | None = None
        self.clock: StepClock | None = None
        self._sink: deque[StepRecord] | None = None
        self._epoch_samples = 0
        self._epoch_seconds = 0.0
        self._peak_rss = 0
        self._overhead_at = -float("inf")
        self._overhead_seconds = 0.0

    def latest_values(self) -> dict[str, float]:
        """The last computed metrics (for alerts and tests)."""
        return dict(self._latest)

    def attach(self, clock: StepClock) -> None:
        """Read steps from ``clock`` (done in ``setup``; tests call it directly)."""
        if self.clock is clock:
            return
        self.clock = clock
        self._sink = clock.subscribe()
        if self.batch_size_fn is not None:
            clock.batch_size_fn = self.batch_size_fn
        clock.batch_size_hint = (
            "ThroughputMonitorCallback(batch_size_fn=...) or, in a config, "
            "callbacks.throughput_monitor.batch_size_fn=pkg.module.fn"
        )

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.enabled and stage == "fit":
            self.attach(StepClock.of(trainer))

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_samples, self._epoch_seconds = 0, 0.0
        self._drain()  # steps before the epoch (a previous fit's) are not this epoch's

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if not self._drain():
            return
        now = _now()
        log_now = (batch_idx + 1) % step_cadence(trainer, self.every_n_steps) == 0
        if not log_now and now - self._last_publish < self._min_interval:
            return  # the steps are in the window; the next message will include them
        self._last_publish = now
        values = self.compute()
        self._add_overhead(values, now)
        gstep, epoch = trainer.global_step, trainer.current_epoch
        self._emit.metrics(publisher_of(trainer), values, step=gstep, epoch=epoch)
        if log_now:
            self._emit.log_metrics(trainer, values, step=gstep)

    def _drain(self) -> int:
        """Move the clock's new records into the window; how many there were."""
        sink = self._sink
        if not sink:
            return 0
        n = 0
        while sink:
            rec = sink.popleft()
            timing = rec.timing
            if timing is not None:
                self._has_timing = True
                step = _Step(
                    rec.wait_ms,
                    rec.compute_ms,
                    rec.size,
                    rec.instances or 0,
                    timing.get("load_ms", 0.0),
                    timing.get("transform_ms", 0.0),
                    timing.get("target_ms", 0.0),
                )
            else:
                step = _Step(rec.wait_ms, rec.compute_ms, rec.size, rec.instances or 0, 0, 0, 0)
            self._has_instances = rec.instances is not None
            self._push(step)
            self._epoch_samples += rec.size
            self._epoch_seconds += (rec.wait_ms + rec.compute_ms) / 1e3
            self._overhead_seconds += (rec.wait_ms + rec.compute_ms) / 1e3
            self._last = rec
            n += 1
        return n

    def compute(self) -> dict[str, float]:
        """Window metrics as of the last closed step (also kept for :meth:`latest_values`)."""
        if not self._window or self._last is None:
            return {}
        values = self._window_metrics(self._last, has_instances=self._has_instances)
        if self._has_timing:
            n = len(self._window)
            values[names.LOAD_MS] = self._sums[4] / n
            values[names.TRANSFORM_MS] = self._sums[5] / n
            values[names.TARGET_MS] = self._sums[6] / n
        gpu_ms = self.clock.gpu_ms if self.clock is not None else None
        if gpu_ms is not None:
            values[names.GPU_COMPUTE_MS] = gpu_ms
        self._latest.update(values)
        return values

    def _add_overhead(self, values: dict[str, float], now: float) -> None:
        """``perf/monitor_overhead_pct`` about once a second (``ocr.callbacks.timing.overhead``)."""
        if self.clock is None or now - self._overhead_at < OVERHEAD_EVERY_S:
            return
        self._overhead_at = now
        pct = self.clock.meter.overhead_pct(self._overhead_seconds)
        self._overhead_seconds = 0.0
        if pct is not None:
            values[names.MONITOR_OVERHEAD_PCT] = pct
            self._latest[names.MONITOR_OVERHEAD_PCT] = pct

    def _push(self, step: _Step) -> None:
        """Append to the window keeping per-field running sums (O(1) per step)."""
        win, sums = self._window, self._sums
        if len(win) == win.maxlen:
            for i, old in enumerate(win[0]):
                sums[i] -= old
        win.append(step)
        for i, new in enumerate(step):
            sums[i] += new
        self._pushes += 1
        if self._pushes % (100 * self.window_steps) == 0:  # wipe float drift now and then
            self._sums = [float(sum(col)) for col in zip(*win, strict=True)]

    def _window_metrics(self, last: StepRecord, has_instances: bool) -> dict[str, float]:
        win = self._window
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
            if has_instances:
                values[names.INSTANCES_PER_SECOND] = instances / seconds
            efficiency = compute_total / (compute_total + wait_total)
            values[names.THROUGHPUT_EFFICIENCY] = efficiency
            values[names.DATA_BOUND] = float(1.0 - efficiency > self.data_bound_share)
            values[names.DATA_BOUND_THRESHOLD] = self.data_bound_share
        return values

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.clock is None:
            return
        self._drain()  # the clock closed the epoch's last step before this hook
        values = self.compute()  # the epoch's last steps, even if not yet published
        if self._epoch_seconds > 0:
            values[names.EPOCH_SAMPLES_PER_SECOND] = self._epoch_samples / self._epoch_seconds
        cache = self.clock.cache_bytes()
        if cache is None:  # no worker reported: the loader runs in this process
            cache = _dataset_cache_bytes(trainer)
        if cache is not None:
            values[names.DATASET_CACHE_BYTES] = float(cache)
        if not _has_resource_monitor(trainer):
            try:  # once per epoch, off the per-batch hot path
                rss, _ = process_tree_memory()
                self._peak_rss = max(self._peak_rss, rss)
                values[names.PROC_RSS_BYTES] = float(rss)
                values[names.PROC_RSS_PEAK_BYTES] = float(self._peak_rss)
            except Exception as exc:
                self._emit.failed("read process memory", exc)
        self._latest.update(values)
        gstep, epoch = trainer.global_step, trainer.current_epoch
        self._emit.metrics(publisher_of(trainer), values, step=gstep, epoch=epoch)
        self._emit.log_metrics(trainer, values, step=gstep)


def _dataset_cache_bytes(trainer: pl.Trainer) -> int | None:
    loader = getattr(trainer, "train_dataloader", None)
    dataset = getattr(loader, "dataset", None)
    value = getattr(dataset, "cache_nbytes", None)
    return int(value) if isinstance(value, int | float) else None


def _has_resource_monitor(trainer: pl.Trainer) -> bool:
    from ocr.callbacks.resource_monitor import ResourceMonitorCallback

    return any(isinstance(cb, ResourceMonitorCallback) for cb in getattr(trainer, "callbacks", ()))
