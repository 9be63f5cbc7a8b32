"""DetectionModule's optimiser wiring (no training: a stand-in trainer gives the run length)."""

from __future__ import annotations

import functools
from types import SimpleNamespace

import pytest
import torch

from ocr.lightning.module import DetectionModule
from ocr.lightning.schedulers import constant, poly_with_warmup


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
    assert config["lr_scheduler"]["name"] == "lr"
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


def test_throughput_counts_training_time_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Samples/s excludes validation, also mid-epoch validation (val_check_interval)."""
    clock = iter([0.0, 2.0, 4.0, 104.0, 106.0])  # epoch start, 2 batches, val end, batch
    monkeypatch.setattr("ocr.lightning.module.time.perf_counter", lambda: next(clock))
    module = _module(None)
    module.on_train_epoch_start()  # t=0
    module.train_samples = 12
    module.on_train_batch_end(None, None, 0)  # t=2
    module.on_train_batch_end(None, None, 1)  # t=4; then validation runs for 100 s
    module.on_validation_end()  # t=104
    module.on_train_batch_end(None, None, 2)  # t=106
    assert module.train_seconds == pytest.approx(6.0)
    assert module.train_samples_per_second == pytest.approx(2.0)
