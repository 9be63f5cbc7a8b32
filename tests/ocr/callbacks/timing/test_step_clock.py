"""The step clock: data wait is the fetch itself, in a real Lightning loop and by hand."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.alerts import AlertsCallback
from ocrtop.ocr.callbacks.throughput_monitor import ThroughputMonitorCallback
from ocrtop.ocr.callbacks.timing import step_clock as sc
from ocrtop.ocr.callbacks.timing.step_clock import StepClock, StepRecord, find_clock
from tests.helpers.step_clock import SlowCallback, collate_with_cache_reference
from tests.helpers.toy_training import SleepyDataset, ToyModule, collate, loader, make_trainer

SLEEP_MS = 30.0


class Records(pl.Callback):
    """Keeps every record of the trainer's clock."""

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.sink = StepClock.of(trainer).subscribe()


def fit(tmp: Path, callbacks: list[Any], data: DataLoader, **kwargs: Any) -> Any:
    trainer = make_trainer(tmp, [*callbacks, Records()], **kwargs)
    trainer.fit(ToyModule(width=4), train_dataloaders=data)
    return trainer


def records_of(trainer: Any) -> list[StepRecord]:
    (rec,) = [cb for cb in trainer.callbacks if isinstance(cb, Records)]
    return list(rec.sink)


def median(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def test_a_slow_later_callback_is_compute_not_data_wait(tmp_path: Path) -> None:
    """The seed read a 30 ms callback after the monitor as 30 ms of data wait."""
    tp = ThroughputMonitorCallback(window_steps=100)
    alerts = AlertsCallback(eval_interval_s=0.0, sustain_s=0.0, clear_s=0.0)
    data = loader(n=4 * 12, batch_size=4, size=16)  # in memory: an instant loader
    trainer = fit(tmp_path, [tp, alerts, SlowCallback(SLEEP_MS)], data)
    v = tp.latest_values()
    assert v[names.DATA_WAIT_MS_P50] < 3.0, v
    assert v[names.COMPUTE_MS_P50] >= SLEEP_MS
    assert v[names.DATA_BOUND] == 0.0 and v[names.THROUGHPUT_EFFICIENCY] > 0.9
    assert not any(a.code == "data_bound" for a in alerts.history)
    after = median([r.after_ms for r in records_of(trainer)])
    assert SLEEP_MS <= after < 3 * SLEEP_MS  # the sleep sits after the batch-end hooks began


@pytest.mark.parametrize("workers", [0, 2])
def test_a_slow_loader_shows_its_sleep(tmp_path: Path, workers: int) -> None:
    """Loader sleep per batch: all of it with no workers, half of it with two in parallel.

    The reference is the batch's own load time, measured around the sleep where it ran
    (in the worker or here): on a loaded machine a 30 ms sleep can take 40.
    """
    tp = ThroughputMonitorCallback(window_steps=100)
    sleep = 2 * SLEEP_MS if workers else SLEEP_MS

    def sleepy(items: list[dict[str, Any]]) -> dict[str, Any]:
        t0 = time.perf_counter()
        time.sleep(sleep / 1e3)
        batch = collate(items)
        batch["timing"]["load_ms"] += (time.perf_counter() - t0) * 1e3
        return batch

    steps = 24 if workers else 12
    data = DataLoader(
        SleepyDataset(4 * steps, 16), batch_size=4, collate_fn=sleepy, num_workers=workers
    )
    trainer = fit(tmp_path, [tp], data)
    # Skip the steps whose batches the workers prepared while starting up (prefetch).
    recs = records_of(trainer)[2 * workers + 1 :]
    own = median([r.timing["load_ms"] for r in recs if r.timing])
    assert own >= sleep
    if workers == 0:  # the loop does the loading itself: it waits all of it
        wait = median([r.wait_ms for r in recs])
        assert wait == pytest.approx(own, rel=0.15, abs=2.0)
    else:  # a batch is ready every own/2 ms; the loop computes for part of that
        # The mean, not the median: two workers started together hand over their batches
        # in pairs, so the waits alternate (~own - compute, then ~0) and a median picks
        # either cluster.
        wait = sum(r.wait_ms for r in recs) / len(recs)
        compute = median([r.compute_ms for r in recs])
        # Wide: two starved worker processes on a loaded machine drift from own/2 both ways.
        assert 0.3 * (own / 2 - compute) <= wait <= own + 5.0, (wait, own, compute)
    assert tp.latest_values()[names.DATA_BOUND] == 1.0


def test_validation_and_epoch_boundaries_are_neither_data_nor_compute(tmp_path: Path) -> None:
    tp = ThroughputMonitorCallback(window_steps=100)
    slow_val = loader(n=8, batch_size=4, size=16, batch_sleep_ms=200.0)  # 400 ms validation
    trainer = make_trainer(tmp_path, [tp, Records()], max_epochs=2, val_check_interval=3)
    start = time.perf_counter()
    trainer.fit(ToyModule(width=4), loader(n=4 * 6, batch_size=4, size=16), slow_val)
    wall = time.perf_counter() - start
    recs = records_of(trainer)
    assert len(recs) == 12
    assert max(r.wait_ms + r.compute_ms for r in recs) < 150.0, recs  # no 200 ms val batch
    clock = find_clock(trainer)
    assert clock is not None and clock.seconds < wall - 4 * 0.4  # four validations left out
    assert type(trainer.fit_loop._data_fetcher).__name__ != "Timed_PrefetchDataFetcher"


def test_cache_bytes_are_summed_over_the_workers(tmp_path: Path) -> None:
    from ocrtop.ocr.data.dataset import TextDetectionDataset
    from ocrtop.ocr.data.synthetic import SyntheticPages
    from ocrtop.ocr.data.transforms import eval_transforms

    dataset = TextDetectionDataset(
        SyntheticPages(num=8, width=64, height=64), eval_transforms(64), cache_images=True
    )
    reference: dict[int, int] = {}

    class Reference(ThroughputMonitorCallback):
        def on_train_batch_end(self, trainer: Any, module: Any, out: Any, b: Any, i: int) -> None:
            reference[b["reference_cache"][0]] = b["reference_cache"][1]
            super().on_train_batch_end(trainer, module, out, b, i)

    tp = Reference()
    data = DataLoader(
        dataset,
        batch_size=2,
        num_workers=2,
        persistent_workers=True,
        collate_fn=collate_with_cache_reference,
    )
    fit(tmp_path, [tp], data, max_epochs=2)
    assert dataset.cache_nbytes == 0  # the main process's copy: what the seed reported
    assert set(reference) == {0, 1} and all(reference.values())
    assert tp.latest_values()[names.DATASET_CACHE_BYTES] == sum(reference.values())


# --- by hand -------------------------------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.t = 10.0

    def __call__(self) -> float:
        return self.t


def test_records_split_the_step_at_the_optimizer_and_the_batch_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = FakeTime()
    monkeypatch.setattr(sc, "_now", now)
    clock = StepClock()
    sink = clock.subscribe()
    clock.record_fetch(10.0, 10.004, {"image": torch.zeros(3, 1), "batch_size": 3})
    now.t = 10.010
    clock.on_before_optimizer_step(None, None, None)  # type: ignore[arg-type]
    now.t = 10.012
    clock.on_train_batch_end(None)  # type: ignore[arg-type]
    now.t = 10.042
    clock.on_validation_start(None, None)  # type: ignore[arg-type]
    (rec,) = sink
    assert rec.wait_ms == pytest.approx(4.0) and rec.compute_ms == pytest.approx(38.0)
    assert rec.forward_backward_ms == pytest.approx(6.0)
    assert rec.optimizer_ms == pytest.approx(2.0) and rec.after_ms == pytest.approx(30.0)
    assert (clock.steps, clock.samples) == (1, 3)
    assert clock.seconds == pytest.approx(0.042)
    now.t = 12.0
    clock.on_train_epoch_end(None, None)  # type: ignore[arg-type]  # nothing open: no record
    assert len(sink) == 1


def test_a_guessed_batch_size_warns_once(caplog: pytest.LogCaptureFixture) -> None:
    clock = StepClock()
    with caplog.at_level(logging.WARNING, logger=sc.__name__):
        for _ in range(3):
            clock.record_fetch(0.0, 0.0, torch.zeros(7, 2))  # could be time-major
            clock.close(0.1)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "leading dimension of batch (7, 2)" in warnings[0] and "batch_size_fn" in warnings[0]
    assert clock.samples == 21


class FakeEvent:
    def __init__(self, log: list[str]) -> None:
        self.log, self.done, self.t = log, False, 0.0

    def record(self) -> None:
        self.t = FakeEvent.clock
        self.log.append("record")

    def query(self) -> bool:
        return self.done

    def elapsed_time(self, other: FakeEvent) -> float:
        return (other.t - self.t) * 1e3

    def synchronize(self) -> None:  # pragma: no cover - must never be called
        raise AssertionError("the clock synchronised with the GPU")

    clock = 0.0


def test_gpu_time_is_read_back_later_without_synchronising() -> None:
    from ocrtop.ocr.callbacks.timing.cuda_timing import LazyCudaStepTimer

    log: list[str] = []
    events: list[FakeEvent] = []

    def factory() -> FakeEvent:
        events.append(FakeEvent(log))
        return events[-1]

    clock = StepClock()
    clock._gpu = LazyCudaStepTimer(factory)
    FakeEvent.clock = 1.0
    clock.record_fetch(0.0, 0.0, {"batch_size": 1})
    FakeEvent.clock = 1.025
    clock.close(0.1)
    assert clock.gpu_ms is None  # the GPU has not reached the end event yet
    for e in events:
        e.done = True
    clock.record_fetch(0.2, 0.2, {"batch_size": 1})
    clock.close(0.3)
    assert clock.gpu_ms == pytest.approx(25.0)  # step 1, read once the GPU had passed it
    assert log.count("record") == 4


class IterModule(ToyModule):
    """``training_step(dataloader_iter)``: the step fetches ``per_step`` batches itself and
    sleeps ``compute_ms`` between the fetch and the loss (known compute)."""

    def __init__(self, per_step: int = 1, compute_ms: float = 0.0) -> None:
        super().__init__(width=4)
        self.per_step, self.compute_ms = per_step, compute_ms

    def training_step(self, dataloader_iter: Any) -> torch.Tensor:  # type: ignore[override]
        batches = [next(dataloader_iter)[0] for _ in range(self.per_step)]
        time.sleep(self.compute_ms / 1e3)
        return sum(self._loss(b) for b in batches)  # type: ignore[return-value]


@pytest.mark.parametrize("per_step", [1, 2])
def test_a_dataloader_iter_step_times_its_own_fetches(tmp_path: Path, per_step: int) -> None:
    """A step that pulls its batches itself: the pulls are data wait, the rest compute.

    References: the batches' own load time (measured around the sleep in collate), the
    injected compute sleep, and the samples the loader holds.
    """
    tp = ThroughputMonitorCallback(window_steps=100)
    steps = 8
    data = loader(n=4 * per_step * steps, batch_size=4, size=16, batch_sleep_ms=SLEEP_MS)
    trainer = make_trainer(tmp_path, [tp, Records(), GrabFetcher()])
    trainer.fit(IterModule(per_step, compute_ms=SLEEP_MS / 2), train_dataloaders=data)
    recs = records_of(trainer)
    assert len(recs) == steps
    assert all(r.size == 4 * per_step for r in recs), [r.size for r in recs]
    own = median([r.timing["load_ms"] for r in recs if r.timing])  # summed over the pulls
    assert own >= per_step * SLEEP_MS
    assert median([r.wait_ms for r in recs]) == pytest.approx(own, rel=0.15, abs=2.0)
    compute = median([r.compute_ms for r in recs])
    assert SLEEP_MS / 2 <= compute < SLEEP_MS / 2 + own, (compute, own)
    assert median([r.forward_backward_ms for r in recs]) >= SLEEP_MS / 2
    assert tp.latest_values()[names.DATA_BOUND] == 1.0
    clock = find_clock(trainer)
    assert clock is not None and clock.samples == 4 * per_step * steps
    (grab,) = [cb for cb in trainer.callbacks if isinstance(cb, GrabFetcher)]
    assert all(name.startswith("Timed") for name in grab.classes)  # during the fit
    assert not any(type(obj).__name__.startswith("Timed") for obj in grab.seen)  # restored


class GrabFetcher(pl.Callback):
    """Keeps the fetcher and the iterator the steps pulled from, and their classes then."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.classes: list[str] = []

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        fetcher = trainer.fit_loop._data_fetcher
        self.seen = [fetcher, fetcher.__dict__["iterator_wrapper"]]
        self.classes = [type(obj).__name__ for obj in self.seen]
