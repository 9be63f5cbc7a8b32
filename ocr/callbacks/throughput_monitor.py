"""ThroughputMonitorCallback: where a training step's time goes, data or compute.

Per step it takes two timestamps and appends one tuple; everything else (window sums,
percentiles) is plain arithmetic over at most ``window_steps`` floats. Data wait is the
gap between the previous ``on_train_batch_end`` and this ``on_train_batch_start`` (the
first batch of an epoch is measured from ``on_train_epoch_start``), so it covers the
DataLoader fetch, host-to-device copy and anything else the loop does between steps.
Validation is excluded: the clock restarts when validation ends.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any, NamedTuple

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from bridge import names
from ocr.callbacks.batch_info import inspect_batch
from ocr.callbacks.bridge import find_publisher
from ocr.callbacks.cuda_timing import LazyCudaStepTimer
from ocr.callbacks.emit import Emitter, log_every_n_steps
from ocr.callbacks.sampling import process_tree_memory
from ocr.callbacks.stats import percentile

_now = time.perf_counter  # module-level so tests can drive a fake clock


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
        log_every_n_steps: Lightning-logger cadence; None uses ``trainer.log_every_n_steps``.
        data_bound_threshold: Data wait share of step time above which the window is
            called data-bound (``perf/data_bound`` = 1).
        publish_max_hz: Most bridge ``metrics`` messages per second; None publishes every
            step. Every step still enters the window, so rates and percentiles cover all
            steps; only how often they are recomputed and sent is capped. Each message
            costs the bridge thread tens of microseconds of CPU (JSON, event log, socket),
            which at 50+ steps/s would show in the step time; a dashboard redraws a few
            times a second.
    """

    def __init__(
        self,
        window_steps: int = 50,
        log_every_n_steps: int | None = None,
        data_bound_threshold: float = 0.3,
        publish_max_hz: float | None = 10.0,
    ) -> None:
        if window_steps < 1:
            raise ValueError(f"window_steps must be >= 1, got {window_steps}")
        if not 0.0 < data_bound_threshold < 1.0:
            raise ValueError(
                f"data_bound_threshold is a share in (0, 1), got {data_bound_threshold}"
            )
        if log_every_n_steps is not None and log_every_n_steps < 1:
            raise ValueError(f"log_every_n_steps must be >= 1, got {log_every_n_steps}")
        if publish_max_hz is not None and publish_max_hz <= 0:
            raise ValueError(f"publish_max_hz must be > 0 or null, got {publish_max_hz}")
        self.window_steps = window_steps
        self.log_every_n_steps = log_every_n_steps
        self._min_interval = 1.0 / publish_max_hz if publish_max_hz else 0.0
        self._last_publish = -float("inf")
        self._has_instances = self._has_timing = False
        self._gpu_ms: float | None = None
        self.data_bound_threshold = data_bound_threshold
        self._window: deque[_Step] = deque(maxlen=window_steps)
        self._sums = [0.0] * len(_Step._fields)
        self._pushes = 0
        self._emit = Emitter("throughput")
        self._latest: dict[str, float] = {}
        self._prev_end: float | None = None
        self._start: float | None = None
        self._wait_ms = 0.0
        self._cuda: LazyCudaStepTimer | None = None
        self._epoch_samples = 0
        self._epoch_seconds = 0.0
        self._peak_rss = 0

    def latest_values(self) -> dict[str, float]:
        """The last computed metrics (for alerts and tests)."""
        return dict(self._latest)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._cuda = LazyCudaStepTimer() if pl_module.device.type == "cuda" else None

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._prev_end = _now()
        self._epoch_samples, self._epoch_seconds = 0, 0.0

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        now = _now()
        self._wait_ms = (now - self._prev_end) * 1e3 if self._prev_end is not None else 0.0
        self._start = now
        if self._cuda is not None:
            self._cuda.start()

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        now = _now()
        self._prev_end = now
        if self._start is None:
            return
        compute_ms = (now - self._start) * 1e3
        self._start = None
        info = inspect_batch(batch)
        timing = info.timing or {}
        step = _Step(
            self._wait_ms,
            compute_ms,
            info.size,
            info.instances or 0,
            timing.get("load_ms", 0.0),
            timing.get("transform_ms", 0.0),
            timing.get("target_ms", 0.0),
        )
        self._push(step)
        self._epoch_samples += info.size
        self._epoch_seconds += (step.wait_ms + compute_ms) / 1e3
        self._has_instances = info.instances is not None
        self._has_timing = info.timing is not None
        if self._cuda is not None:
            self._cuda.end()
            gpu_ms = self._cuda.resolve()
            if gpu_ms:
                self._gpu_ms = gpu_ms[-1]
        log_now = (batch_idx + 1) % log_every_n_steps(trainer, self.log_every_n_steps) == 0
        if not log_now and now - self._last_publish < self._min_interval:
            return  # the step is in the window; the next message will include it
        self._last_publish = now
        values = self.compute()
        gstep, epoch = trainer.global_step, trainer.current_epoch
        self._emit.metrics(find_publisher(trainer), values, step=gstep, epoch=epoch)
        if log_now:
            self._emit.log_metrics(trainer, values, step=gstep)

    def compute(self) -> dict[str, float]:
        """Window metrics as of the last step (also stored for :meth:`latest_values`)."""
        if not self._window:
            return {}
        values = self._window_metrics(self._window[-1], has_instances=self._has_instances)
        if self._has_timing:
            n = len(self._window)
            values[names.LOAD_MS] = self._sums[4] / n
            values[names.TRANSFORM_MS] = self._sums[5] / n
            values[names.TARGET_MS] = self._sums[6] / n
        if self._gpu_ms is not None:
            values[names.GPU_COMPUTE_MS] = self._gpu_ms
        self._latest.update(values)
        return values

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

    def _window_metrics(self, step: _Step, has_instances: bool) -> dict[str, float]:
        win = self._window
        waits = sorted(s.wait_ms for s in win)
        computes = sorted(s.compute_ms for s in win)
        wait_total, compute_total, samples, instances = self._sums[:4]
        seconds = (wait_total + compute_total) / 1e3
        values = {
            names.DATA_WAIT_MS: step.wait_ms,
            names.COMPUTE_MS: step.compute_ms,
            names.STEP_MS: step.wait_ms + step.compute_ms,
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
            values[names.DATA_BOUND] = float(1.0 - efficiency > self.data_bound_threshold)
            values[names.DATA_BOUND_THRESHOLD] = self.data_bound_threshold
        return values

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Validation ran between two training batches; it is not data wait.
        if not trainer.sanity_checking:
            self._prev_end = _now()

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        values = self.compute()  # the epoch's last steps, even if not yet published
        if self._epoch_seconds > 0:
            values[names.EPOCH_SAMPLES_PER_SECOND] = self._epoch_samples / self._epoch_seconds
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
        self._emit.metrics(find_publisher(trainer), values, step=gstep, epoch=epoch)
        self._emit.log_metrics(trainer, values, step=gstep)


def _dataset_cache_bytes(trainer: pl.Trainer) -> int | None:
    loader = getattr(trainer, "train_dataloader", None)
    dataset = getattr(loader, "dataset", None)
    value = getattr(dataset, "cache_nbytes", None)
    return int(value) if isinstance(value, int | float) else None


def _has_resource_monitor(trainer: pl.Trainer) -> bool:
    from ocr.callbacks.resource_monitor import ResourceMonitorCallback

    return any(isinstance(cb, ResourceMonitorCallback) for cb in getattr(trainer, "callbacks", ()))
