"""ThroughputMonitorCallback driven hook by hook with a fake clock."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import torch

from bridge import names
from ocr.callbacks import throughput_monitor as tm
from ocr.callbacks.bridge import BridgeCallback
from ocr.callbacks.throughput_monitor import ThroughputMonitorCallback


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t

    def advance(self, ms: float) -> None:
        self.t += ms / 1e3


class Recorder:
    """A publisher and a Lightning logger in one."""

    def __init__(self) -> None:
        self.metrics: list[dict[str, float]] = []
        self.logged: list[tuple[int, dict[str, float]]] = []

    def log_metrics(self, values: dict[str, float], step: int) -> None:
        self.logged.append((step, values))


def fake_trainer(rec: Recorder, cache: int | None = 4096) -> Any:
    return SimpleNamespace(
        global_step=0,
        current_epoch=0,
        callbacks=[],
        loggers=[rec],
        log_every_n_steps=2,
        sanity_checking=False,
        train_dataloader=SimpleNamespace(dataset=SimpleNamespace(cache_nbytes=cache)),
    )


def batch(n: int) -> dict[str, Any]:
    return {
        "image": torch.zeros(n, 1),
        "batch_size": n,
        "num_instances": 3 * n,
        "timing": {"load_ms": 2.0 * n, "transform_ms": 1.0 * n, "target_ms": 0.5 * n},
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(tm, "_now", c)
    return c


def run_step(
    cb: ThroughputMonitorCallback, trainer: Any, clock: Clock, wait: float, compute: float, n: int
) -> None:
    module = SimpleNamespace(device=torch.device("cpu"))
    clock.advance(wait)
    cb.on_train_batch_start(trainer, module, batch(n), trainer.global_step)  # type: ignore[arg-type]
    clock.advance(compute)
    cb.on_train_batch_end(trainer, module, None, batch(n), trainer.global_step)  # type: ignore[arg-type]
    trainer.global_step += 1


def test_wait_compute_rates_and_efficiency(clock: Clock) -> None:
    rec = Recorder()
    trainer = fake_trainer(rec)
    cb = ThroughputMonitorCallback(window_steps=10, data_bound_threshold=0.3)
    module = SimpleNamespace(device=torch.device("cpu"))
    cb.on_train_start(trainer, module)  # type: ignore[arg-type]
    cb.on_train_epoch_start(trainer, module)  # type: ignore[arg-type]
    for n in (4, 4, 2, 4):  # variable batch sizes: the last batch of an epoch is smaller
        run_step(cb, trainer, clock, wait=10.0, compute=30.0, n=n)
    v = cb.latest_values()
    assert v[names.DATA_WAIT_MS] == pytest.approx(10.0)
    assert v[names.DATA_WAIT_MS_P50] == pytest.approx(10.0)
    assert v[names.COMPUTE_MS_P50] == pytest.approx(30.0)
    assert v[names.STEP_MS] == pytest.approx(40.0)
    assert v[names.THROUGHPUT_EFFICIENCY] == pytest.approx(0.75)
    assert v[names.DATA_BOUND] == 0.0
    assert v[names.SAMPLES_PER_SECOND] == pytest.approx(14 / 0.160)
    assert v[names.BATCHES_PER_SECOND] == pytest.approx(4 / 0.160)
    assert v[names.INSTANCES_PER_SECOND] == pytest.approx(42 / 0.160)
    assert v[names.LOAD_MS] == pytest.approx(2.0 * 14 / 4)
    # Lightning logger gets every log_every_n_steps-th step, under perf/ names.
    assert [step for step, _ in rec.logged] == [1, 3]
    assert all(k.startswith("perf/") for _, values in rec.logged for k in values)
    cb.on_train_epoch_end(trainer, module)  # type: ignore[arg-type]
    v = cb.latest_values()
    assert v[names.EPOCH_SAMPLES_PER_SECOND] == pytest.approx(14 / 0.160)
    assert v[names.DATASET_CACHE_BYTES] == 4096.0
    assert v[names.PROC_RSS_BYTES] > 0 and v[names.PROC_RSS_PEAK_BYTES] >= v[names.PROC_RSS_BYTES]


def test_data_bound_verdict_and_percentiles(clock: Clock) -> None:
    trainer = fake_trainer(Recorder())
    cb = ThroughputMonitorCallback(window_steps=100, data_bound_threshold=0.3)
    module = SimpleNamespace(device=torch.device("cpu"))
    cb.on_train_epoch_start(trainer, module)  # type: ignore[arg-type]
    for i in range(100):
        run_step(cb, trainer, clock, wait=float(i + 1), compute=20.0, n=2)
    v = cb.latest_values()
    assert v[names.DATA_WAIT_MS_P50] == pytest.approx(50.5)
    assert v[names.DATA_WAIT_MS_P95] == pytest.approx(95.05)
    assert v[names.DATA_WAIT_MS_P99] == pytest.approx(99.01)
    assert v[names.DATA_WAIT_MS_AVG] == pytest.approx(50.5)
    assert v[names.DATA_BOUND] == 1.0


def test_the_window_slides_so_old_steps_leave_the_running_sums(clock: Clock) -> None:
    trainer = fake_trainer(Recorder())
    cb = ThroughputMonitorCallback(window_steps=3, publish_max_hz=None)
    module = SimpleNamespace(device=torch.device("cpu"))
    cb.on_train_epoch_start(trainer, module)  # type: ignore[arg-type]
    for wait, n in ((100.0, 8), (100.0, 8), (10.0, 2), (20.0, 2), (30.0, 2)):
        run_step(cb, trainer, clock, wait=wait, compute=10.0, n=n)
    v = cb.latest_values()
    assert v[names.DATA_WAIT_MS_AVG] == pytest.approx(20.0)  # the last three steps only
    assert v[names.SAMPLES_PER_SECOND] == pytest.approx(6 / 0.090)
    assert v[names.LOAD_MS] == pytest.approx(4.0)


def test_validation_and_epoch_start_are_not_data_wait(clock: Clock) -> None:
    trainer = fake_trainer(Recorder())
    cb = ThroughputMonitorCallback()
    module = SimpleNamespace(device=torch.device("cpu"))
    clock.advance(5000)  # setup time before the epoch: not data wait
    cb.on_train_epoch_start(trainer, module)  # type: ignore[arg-type]
    run_step(cb, trainer, clock, wait=7.0, compute=10.0, n=1)
    assert cb.latest_values()[names.DATA_WAIT_MS] == pytest.approx(7.0)
    clock.advance(3000)  # a validation run
    cb.on_validation_end(trainer, module)  # type: ignore[arg-type]
    run_step(cb, trainer, clock, wait=3.0, compute=10.0, n=1)
    assert cb.latest_values()[names.DATA_WAIT_MS] == pytest.approx(3.0)


def test_plain_tensor_batches_and_no_dataset_accounting(clock: Clock) -> None:
    trainer = fake_trainer(Recorder(), cache=None)
    cb = ThroughputMonitorCallback(window_steps=5)
    module = SimpleNamespace(device=torch.device("cpu"))
    cb.on_train_epoch_start(trainer, module)  # type: ignore[arg-type]
    clock.advance(1.0)
    cb.on_train_batch_start(trainer, module, torch.zeros(8, 2), 0)  # type: ignore[arg-type]
    clock.advance(9.0)
    cb.on_train_batch_end(trainer, module, None, (torch.zeros(8, 2),), 0)  # type: ignore[arg-type]
    cb.on_train_epoch_end(trainer, module)  # type: ignore[arg-type]
    v = cb.latest_values()
    assert v[names.SAMPLES_PER_SECOND] == pytest.approx(800.0)
    assert names.INSTANCES_PER_SECOND not in v and names.LOAD_MS not in v
    assert names.DATASET_CACHE_BYTES not in v


def test_publish_rate_is_capped_while_every_step_counts(clock: Clock) -> None:
    published: list[dict[str, float]] = []
    bridge = BridgeCallback()
    bridge.publisher = SimpleNamespace(  # type: ignore[assignment]
        metrics=lambda values, step, epoch: published.append(values)
    )
    trainer = fake_trainer(Recorder())
    trainer.callbacks, trainer.log_every_n_steps = [bridge], 1000
    cb = ThroughputMonitorCallback(window_steps=100, publish_max_hz=10.0)
    module = SimpleNamespace(device=torch.device("cpu"))
    cb.on_train_epoch_start(trainer, module)  # type: ignore[arg-type]
    for i in range(30):  # 30 steps of 20 ms = 0.6 s -> at most 7 messages at 10 Hz
        run_step(cb, trainer, clock, wait=5.0 if i < 29 else 105.0, compute=15.0, n=2)
    assert 5 <= len(published) <= 7
    cb.on_train_epoch_end(trainer, module)  # type: ignore[arg-type]
    final = published[-1]
    # The unpublished last step (100 ms extra wait) is in the epoch-end figures.
    assert final[names.DATA_WAIT_MS] == pytest.approx(105.0)
    assert final[names.DATA_WAIT_MS_AVG] == pytest.approx((29 * 5.0 + 105.0) / 30)


def test_invalid_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="data_bound_threshold"):
        ThroughputMonitorCallback(data_bound_threshold=1.5)
    with pytest.raises(ValueError, match="window_steps"):
        ThroughputMonitorCallback(window_steps=0)
    with pytest.raises(ValueError, match="publish_max_hz"):
        ThroughputMonitorCallback(publish_max_hz=0.0)
