"""ocrtop.compat: callbacks of either Lightning namespace, and auto copies that stand aside."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl

from ocrtop.compat import adapt
from ocrtop.ocr.callbacks.throughput_monitor import ThroughputMonitorCallback

L = pytest.importorskip("lightning.pytorch", reason="the lightning package is not installed")


def test_adapted_class_is_a_callback_of_both_namespaces_and_keeps_its_identity() -> None:
    assert adapt(ThroughputMonitorCallback) is ThroughputMonitorCallback  # nothing to add
    cls = adapt(ThroughputMonitorCallback, ("lightning.pytorch",))
    assert cls is adapt(ThroughputMonitorCallback, ("lightning.pytorch",))  # built once
    cb = cls(window_steps=7)
    assert isinstance(cb, L.Callback) and isinstance(cb, pl.Callback)
    assert isinstance(cb, ThroughputMonitorCallback)
    assert cb.state_key == ThroughputMonitorCallback().state_key  # checkpoints agree
    back = pickle.loads(pickle.dumps(cb))  # ddp_spawn pickles the trainer's callbacks
    assert type(back) is cls and back.window_steps == 7


def test_an_auto_copy_stands_aside_when_the_trainer_has_its_own_monitor() -> None:
    auto_cls = adapt(ThroughputMonitorCallback, auto=True)
    auto, own = auto_cls(), ThroughputMonitorCallback()
    trainer = SimpleNamespace(callbacks=[own, auto])
    auto.setup(trainer, None, "fit")
    assert auto._ocrtop_inert and auto.clock is None  # setup returned at once

    alone = auto_cls()
    trainer = SimpleNamespace(callbacks=[alone])
    alone.setup(trainer, None, "fit")
    assert not alone._ocrtop_inert and alone.clock is not None  # it reads the step clock


def test_a_second_auto_copy_of_the_same_monitor_stands_aside() -> None:
    auto_cls = adapt(ThroughputMonitorCallback, auto=True)
    first, second = auto_cls(), auto_cls()
    trainer = SimpleNamespace(callbacks=[first, second])
    first.setup(trainer, None, "fit")
    second.setup(trainer, None, "fit")
    assert not first._ocrtop_inert and second._ocrtop_inert


def test_the_step_clock_a_first_auto_copy_creates_does_not_make_the_others_stand_aside() -> None:
    from ocrtop.ocr.callbacks.alerts import AlertsCallback

    monitor = adapt(ThroughputMonitorCallback, auto=True)()
    alerts = adapt(AlertsCallback, auto=True)()
    trainer = SimpleNamespace(callbacks=[monitor, alerts])
    monitor.setup(trainer, None, "fit")  # puts a StepClock first in trainer.callbacks
    assert type(trainer.callbacks[0]).__name__ == "StepClock"
    alerts.setup(trainer, None, "fit")
    assert not monitor._ocrtop_inert and not alerts._ocrtop_inert
