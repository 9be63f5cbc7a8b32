"""AlertsCallback: turn the monitors' numbers into alerts a human acts on.

It reads the latest values of every callback that offers ``latest_values()`` (the
throughput and resource monitors) plus the training loss, at most every
``eval_interval_s`` seconds on the training thread, and runs the rule engine. A
watchdog thread evaluates the stall rule, since a stalled loop calls no hook: progress is
the step clock's last fetch start or end (:mod:`ocrtop.ocr.callbacks.timing.step_clock`), so a
loader that hangs inside ``next()`` and a step that hangs in compute both stop it, or a
validation batch, or an epoch or validation boundary. Changes
are published as ``alert`` messages and logged (firing as a warning or error, cleared
as info).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.alerting.engine import Alert, AlertEngine, RollingBaseline
from ocrtop.ocr.callbacks.alerting.report import report_alert
from ocrtop.ocr.callbacks.alerting.rules import (
    BASELINE_KEY,
    LOSS_KEY,
    SINCE_STEP_KEY,
    AlertThresholds,
    default_rules,
    stall_rule,
)
from ocrtop.ocr.callbacks.link.emit import Emitter
from ocrtop.ocr.callbacks.timing.step_clock import StepClock

log = logging.getLogger(__name__)
_now = time.perf_counter  # the step clock's time base: progress stamps are compared with it


def is_own_job(pl_module: Any) -> bool:
    """The module is ocrtop's own detector (``runners/train.py``), not a user's model."""
    return type(pl_module).__module__.startswith("ocrtop.ocr.lightning")


class AlertsCallback(Callback):
    """Evaluate the default alert rules during training.

    Args:
        eval_interval_s: Minimum seconds between rule evaluations (reading the loss
            synchronises a GPU, so this is also how often that happens).
        baseline_window_s: History for the rolling throughput baseline.
        baseline_min_span_s: History needed before the baseline is trusted.
        **thresholds**: Every field of :class:`~ocrtop.ocr.callbacks.alerting.rules.AlertThresholds`
            (``sustain_s``, ``data_bound_share``, ``stall_s``...), as explicit arguments.
            ``data_bound_share`` None is the throughput monitor's share (the config
            interpolates ``callbacks.throughput_monitor.data_bound_share``), else
            :data:`ocrtop.bridge.names.DATA_BOUND_SHARE`.
    """

    def __init__(
        self,
        eval_interval_s: float = 1.0,
        baseline_window_s: float = 300.0,
        baseline_min_span_s: float = 30.0,
        sustain_s: float = 30.0,
        clear_s: float = 15.0,
        hysteresis: float = 0.1,
        data_bound_share: float | None = None,
        gpu_util_low: float = 50.0,
        ram_percent_high: float = 90.0,
        process_ram_fraction_high: float = 0.8,
        iowait_percent_high: float = 20.0,
        gpu_temp_c_high: float = 85.0,
        throughput_drop_fraction: float = 0.3,
        stall_s: float = 300.0,
    ) -> None:
        if eval_interval_s < 0:
            raise ValueError(f"eval_interval_s must be >= 0, got {eval_interval_s}")
        if not 0.0 <= hysteresis < 1.0:
            raise ValueError(f"hysteresis is a fraction in [0, 1), got {hysteresis}")
        self.thresholds = AlertThresholds(
            sustain_s=sustain_s,
            clear_s=clear_s,
            hysteresis=hysteresis,
            data_bound_share=names.DATA_BOUND_SHARE
            if data_bound_share is None
            else data_bound_share,
            gpu_util_low=gpu_util_low,
            ram_percent_high=ram_percent_high,
            process_ram_fraction_high=process_ram_fraction_high,
            iowait_percent_high=iowait_percent_high,
            gpu_temp_c_high=gpu_temp_c_high,
            throughput_drop_fraction=throughput_drop_fraction,
            stall_s=stall_s,
        )
        self.eval_interval_s = eval_interval_s
        self._own_job = False
        self.engine = AlertEngine(default_rules(self.thresholds))
        self.stall_engine = AlertEngine([stall_rule(self.thresholds)])
        self.baseline = RollingBaseline(baseline_window_s, baseline_min_span_s)
        self.history: list[Alert] = []
        self._emit = Emitter("alerts")
        self._trainer: pl.Trainer | None = None
        self._last_eval = 0.0
        self._clock: StepClock | None = None
        self._last_progress = _now()
        self._loss: Any = None
        self._watchdog: threading.Thread | None = None
        self._stop = threading.Event()

    # --- training-thread hooks ---
    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit":
            self._clock = StepClock.of(trainer)

    def progress_age(self, now: float) -> float:
        """Seconds since the loop last showed progress (fetch, validation batch, boundary)."""
        last = self._last_progress
        if self._clock is not None:
            last = max(last, self._clock.last_activity)
        return now - last

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._trainer = trainer
        if is_own_job(pl_module) != self._own_job:  # hints also name our config keys
            self._own_job = not self._own_job
            self.engine = AlertEngine(default_rules(self.thresholds, self._own_job))
        self._last_progress = _now()
        self._stop.clear()
        self._watchdog = threading.Thread(
            target=self._watch, name="ocrtop-stall-watchdog", daemon=True
        )
        self._watchdog.start()

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        now = _now()
        if self._clock is None:  # driven without a clock (tests, custom loops)
            self._last_progress = now
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if loss is not None:
            self._loss = loss  # kept as a tensor: reading it would sync a GPU every step
        if now - self._last_eval >= self.eval_interval_s:
            self._last_eval = now
            self.evaluate(trainer, now)

    def on_validation_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        self._last_progress = _now()  # a long validation is progress, not a stall

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._last_progress = _now()

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._last_progress = _now()

    def evaluate(self, trainer: pl.Trainer, now: float) -> list[Alert]:
        """Gather values from the monitors and advance the rules (training thread)."""
        values: dict[str, float] = {}
        for cb in getattr(trainer, "callbacks", ()):
            latest = getattr(cb, "latest_values", None)
            if cb is not self and callable(latest):
                values.update(latest())
        if self._loss is not None:
            with contextlib.suppress(TypeError, ValueError, RuntimeError):
                values[LOSS_KEY] = float(self._loss)
        sps = values.get(names.SAMPLES_PER_SECOND)
        if sps is not None:
            self.baseline.add(now, sps)
        base = self.baseline.value()
        if base is not None:
            values[BASELINE_KEY] = base
        changes = self.engine.evaluate(values, now)
        self.baseline.frozen = names.ALERT_THROUGHPUT_DROP in self.engine.active()
        self._report(trainer, changes)
        return changes

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._stop_watchdog()

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self._stop_watchdog()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._stop_watchdog()

    # --- watchdog thread ---
    def _watch(self) -> None:
        period = min(5.0, max(0.05, self.thresholds.stall_s / 4.0))
        while not self._stop.wait(period):
            now = _now()
            values = {SINCE_STEP_KEY: self.progress_age(now)}
            if self._trainer is not None:
                self._report(self._trainer, self.stall_engine.evaluate(values, now))

    def _stop_watchdog(self) -> None:
        self._stop.set()
        if self._watchdog is not None and self._watchdog is not threading.current_thread():
            self._watchdog.join(timeout=10.0)
        self._watchdog = None

    def _report(self, trainer: pl.Trainer, changes: list[Alert]) -> None:
        for alert in changes:
            self.history.append(alert)
            report_alert(trainer, self._emit, alert)
