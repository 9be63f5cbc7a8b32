"""ThroughputMonitorCallback: where a training step's time goes, data or compute.

It keeps no timer of its own: every step it takes the records the step clock
(:mod:`ocrtop.ocr.callbacks.timing.step_clock`) has closed since the last call and appends them to a
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
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.link import publisher_of
from ocrtop.ocr.callbacks.link.emit import Emitter
from ocrtop.ocr.callbacks.options import (
    accepts_renamed,
    check_every_n_steps,
    check_publish_max_hz,
    check_share,
    step_cadence,
)
from ocrtop.ocr.callbacks.sampling.process_tree import process_tree_memory
from ocrtop.ocr.callbacks.timing.batch_info import BatchSizeFn, resolve_batch_size_fn
from ocrtop.ocr.callbacks.timing.step_clock import StepClock, StepRecord
from ocrtop.ocr.callbacks.timing.window import StepWindow

log = logging.getLogger(__name__)
_now = time.perf_counter  # publish cadence only; step times come from the clock
OVERHEAD_EVERY_S = 1.0
"""Seconds between two ``perf/monitor_overhead_pct`` figures (each reads a few clocks)."""


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
        self.enabled = enabled
        self.window_steps = window_steps
        self.every_n_steps = check_every_n_steps(every_n_steps)
        self.batch_size_fn: Callable[[Any], int] | None = resolve_batch_size_fn(batch_size_fn)
        self._min_interval = check_publish_max_hz(publish_max_hz)
        self._last_publish = -float("inf")
        self.data_bound_share = check_share("data_bound_share", data_bound_share)
        self.window = StepWindow(window_steps, data_bound_share)
        self._emit = Emitter("throughput")
        self._latest: dict[str, float] = {}
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
            self.window.add(rec)
            step_s = (rec.wait_ms + rec.compute_ms) / 1e3
            self._epoch_samples += rec.size
            self._epoch_seconds += step_s
            self._overhead_seconds += step_s
            n += 1
        return n

    def compute(self) -> dict[str, float]:
        """Window metrics as of the last closed step (also kept for :meth:`latest_values`)."""
        values = self.window.metrics()
        if not values:
            return {}
        gpu_ms = self.clock.gpu_ms if self.clock is not None else None
        if gpu_ms is not None:
            values[names.GPU_COMPUTE_MS] = gpu_ms
        self._latest.update(values)
        return values

    def _add_overhead(self, values: dict[str, float], now: float) -> None:
        """``perf/monitor_overhead_pct`` about once a second
        (``ocrtop.ocr.callbacks.timing.overhead``)."""
        if self.clock is None or now - self._overhead_at < OVERHEAD_EVERY_S:
            return
        self._overhead_at = now
        pct = self.clock.meter.overhead_pct(self._overhead_seconds)
        self._overhead_seconds = 0.0
        if pct is not None:
            values[names.MONITOR_OVERHEAD_PCT] = pct
            self._latest[names.MONITOR_OVERHEAD_PCT] = pct

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
    from ocrtop.ocr.callbacks.resource_monitor import ResourceMonitorCallback

    return any(isinstance(cb, ResourceMonitorCallback) for cb in getattr(trainer, "callbacks", ()))
