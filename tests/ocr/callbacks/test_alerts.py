"""AlertsCallback wiring: values from monitors, the loss, and the stall watchdog thread."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import torch

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.alerts import AlertsCallback
from ocrtop.ocr.callbacks.timing.step_clock import StepClock


class Monitor:
    def __init__(self, values: dict[str, float]) -> None:
        self.values = values

    def latest_values(self) -> dict[str, float]:
        return dict(self.values)


def fake_trainer(*callbacks: Any) -> Any:
    return SimpleNamespace(callbacks=list(callbacks), global_step=0, current_epoch=0)


def wait_for(cond: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return False


def test_stall_watchdog_fires_without_steps_and_clears_on_progress() -> None:
    cb = AlertsCallback(stall_s=0.2, eval_interval_s=1e9)
    trainer = fake_trainer(cb)
    cb.on_train_start(trainer, None)  # type: ignore[arg-type]
    try:
        assert wait_for(lambda: [a.code for a in cb.history] == ["stalled"])
        assert cb.history[0].severity == "critical" and cb.history[0].values["seconds"] > 0.2
        cb.on_train_batch_end(trainer, None, torch.tensor(1.0), None, 0)  # type: ignore[arg-type]
        assert wait_for(lambda: [a.state for a in cb.history] == ["firing", "cleared"])
    finally:
        cb.on_train_end(trainer, None)  # type: ignore[arg-type]
    assert cb._watchdog is None


def test_reads_monitors_and_loss_at_the_evaluation_interval() -> None:
    monitor = Monitor({names.THROUGHPUT_EFFICIENCY: 0.2, names.DATA_WAIT_MS_P50: 80.0})
    cb = AlertsCallback(eval_interval_s=0.0, sustain_s=0.0, clear_s=0.0)
    trainer = fake_trainer(monitor, cb)
    cb.on_train_batch_end(trainer, None, {"loss": torch.tensor(float("nan"))}, None, 0)  # type: ignore[arg-type]
    assert {(a.code, a.state) for a in cb.history} == {
        ("data_bound", "firing"),
        ("nonfinite_loss", "firing"),
    }
    monitor.values[names.THROUGHPUT_EFFICIENCY] = 0.99
    cb.on_train_batch_end(trainer, None, {"loss": torch.tensor(0.5)}, None, 1)  # type: ignore[arg-type]
    assert {(a.code, a.state) for a in cb.history[2:]} == {
        ("data_bound", "cleared"),
        ("nonfinite_loss", "cleared"),
    }


def test_validation_batches_keep_the_stall_watchdog_quiet() -> None:
    """A validation run longer than stall_s is progress as long as its batches come."""
    cb = AlertsCallback(stall_s=0.3, eval_interval_s=1e9)
    trainer = fake_trainer(cb)
    cb.on_train_start(trainer, None)  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 1.2  # four stall_s without a training step
        while time.monotonic() < deadline:
            cb.on_validation_batch_end(trainer, None, None, None, 0)
            time.sleep(0.05)
        assert [a.code for a in cb.history] == []
        assert wait_for(lambda: [a.code for a in cb.history] == ["stalled"])  # then it stops
    finally:
        cb.on_train_end(trainer, None)  # type: ignore[arg-type]


def test_the_step_clocks_fetches_are_progress() -> None:
    """A loop that keeps fetching is not stalled, though no hook of the callback runs."""
    cb = AlertsCallback(stall_s=0.3, eval_interval_s=1e9)
    trainer = fake_trainer(cb)
    cb.setup(trainer, None, "fit")  # type: ignore[arg-type]
    clock = StepClock.of(trainer)
    cb.on_train_start(trainer, None)  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            clock._after_fetch(clock._before_fetch(), {"batch_size": 1})
            time.sleep(0.05)
        assert [a.code for a in cb.history] == []
    finally:
        cb.on_train_end(trainer, None)  # type: ignore[arg-type]


def test_the_callback_tells_our_detector_from_a_users_module() -> None:
    from ocrtop.ocr.lightning.module import DetectionModule

    cb = AlertsCallback()
    trainer = SimpleNamespace()
    cb.on_train_start(trainer, object.__new__(DetectionModule))  # type: ignore[arg-type]
    assert "ocrtop config" in {r.code: r.hint for r in cb.engine.rules}["data_bound"]
    cb.on_train_start(trainer, SimpleNamespace())  # type: ignore[arg-type]
    assert "ocrtop config" not in {r.code: r.hint for r in cb.engine.rules}["data_bound"]
    cb._stop_watchdog()
