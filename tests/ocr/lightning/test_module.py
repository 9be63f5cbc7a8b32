"""DetectionModule's optimiser wiring (no training: a stand-in trainer gives the run length)."""

from __future__ import annotations

import functools
from types import SimpleNamespace

import pytest
import torch

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.timing.step_clock import StepClock
from ocrtop.ocr.lightning.module import DetectionModule
from ocrtop.ocr.lightning.schedulers import constant, poly_with_warmup


def _module(scheduler=None, interval: str = "step") -> DetectionModule:
    return DetectionModule(
        net=torch.nn.Linear(2, 2),
        loss=torch.nn.Identity(),
        postprocess=lambda output, metas: [[] for _ in metas],
        optimizer=functools.partial(torch.optim.SGD, lr=1.0),
        scheduler=scheduler,
        scheduler_interval=interval,
    )


def _attach(module: DetectionModule, steps: float) -> None:
    module._trainer = SimpleNamespace(estimated_stepping_batches=steps)  # type: ignore[assignment]


def test_schedule_gets_the_trainers_run_length() -> None:
    module = _module(functools.partial(poly_with_warmup, power=1.0))
    _attach(module, 4)
    config = module.configure_optimizers()
    scheduler = config["lr_scheduler"]["scheduler"]
    assert config["lr_scheduler"]["interval"] == "step"
    assert config["lr_scheduler"]["name"] == names.LR
    lrs = []
    for _ in range(5):
        lrs.append(config["optimizer"].param_groups[0]["lr"])
        config["optimizer"].step()
        scheduler.step()
    assert lrs == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])  # decays to 0 at step 4


def test_schedule_without_total_steps_is_called_with_the_optimizer_only() -> None:
    module = _module(constant)
    _attach(module, float("inf"))  # never consulted
    assert module.configure_optimizers()["lr_scheduler"]["scheduler"].get_last_lr() == [1.0]


def test_unbounded_run_with_a_length_dependent_schedule_is_an_actionable_error() -> None:
    module = _module(poly_with_warmup)
    _attach(module, float("inf"))
    with pytest.raises(ValueError, match=r"trainer\.max_epochs or trainer\.max_steps"):
        module.configure_optimizers()


def test_no_scheduler_returns_the_optimizer() -> None:
    module = _module(None)
    assert isinstance(module.configure_optimizers(), torch.optim.SGD)
    assert module.train_samples_per_second is None  # nothing trained yet


def test_bad_interval() -> None:
    with pytest.raises(ValueError, match="scheduler_interval"):
        _module(None, interval="batch")


def test_throughput_counts_training_time_only() -> None:
    """Samples/s comes from the step clock: fetch and step count, validation does not."""
    module = _module(None)
    clock = StepClock()
    module._clock = clock
    module.train_samples = 12
    clock.record_fetch(0.0, 0.5, {"batch_size": 6})  # 0.5 s blocked on the loader
    clock.close(2.0)
    clock.record_fetch(2.0, 2.0, {"batch_size": 6})
    clock.on_train_batch_end(None)  # type: ignore[arg-type]
    clock.close(4.0)  # validation starts: 100 s that are not training
    clock.record_fetch(104.0, 104.0, {"batch_size": 6})
    clock.close(106.0)
    assert module.train_seconds == pytest.approx(6.0)
    assert module.train_samples_per_second == pytest.approx(2.0)
