"""ThroughputMonitorCallback fed step records by hand, on a fake time line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from ocrtop.bridge import names
from ocrtop.ocr.callbacks import throughput_monitor as tm
from ocrtop.ocr.callbacks.bridge import BridgeCallback
from ocrtop.ocr.callbacks.throughput_monitor import ThroughputMonitorCallback
from ocrtop.ocr.callbacks.timing.step_clock import StepClock
from ocrtop.tui.core import derive
from ocrtop.tui.core.state import AppState
from tests.helpers.toy_training import ToyModule, loader, make_trainer


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


class Driver:
    """Feeds a monitor the way Lightning and the step clock would, on a fake time line."""

    def __init__(self, cb: ThroughputMonitorCallback, trainer: Any, clock: Clock) -> None:
        self.cb, self.trainer, self.time = cb, trainer, clock
        self.step_clock = StepClock()
        cb.attach(self.step_clock)
        self.module = SimpleNamespace(device=torch.device("cpu"))

    def step(self, wait: float, compute: float, n: int, b: Any = None) -> None:
        b = batch(n) if b is None else b
        t0 = self.time()
        self.time.advance(wait)
        self.step_clock.record_fetch(t0, self.time(), b)
        self.time.advance(compute)
        self.step_clock.close(self.time())  # the next fetch starts
        self.cb.on_train_batch_end(self.trainer, self.module, None, b, self.trainer.global_step)  # type: ignore[arg-type]
        self.trainer.global_step += 1

    def epoch_start(self) -> None:
        self.cb.on_train_epoch_start(self.trainer, self.module)  # type: ignore[arg-type]

    def epoch_end(self) -> None:
        self.cb.on_train_epoch_end(self.trainer, self.module)  # type: ignore[arg-type]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(tm, "_now", c)
    return c


def test_wait_compute_rates_and_efficiency(clock: Clock) -> None:
    rec = Recorder()
    trainer = fake_trainer(rec)
    cb = ThroughputMonitorCallback(window_steps=10, data_bound_share=0.3)
    d = Driver(cb, trainer, clock)
    d.epoch_start()
    for n in (4, 4, 2, 4):  # variable batch sizes: the last batch of an epoch is smaller
        d.step(wait=10.0, compute=30.0, n=n)
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
    d.epoch_end()
    v = cb.latest_values()
    assert v[names.EPOCH_SAMPLES_PER_SECOND] == pytest.approx(14 / 0.160)
    assert v[names.DATASET_CACHE_BYTES] == 4096.0  # no worker reports: the main process's
    assert v[names.PROC_RSS_BYTES] > 0 and v[names.PROC_RSS_PEAK_BYTES] >= v[names.PROC_RSS_BYTES]


def test_data_bound_verdict_and_percentiles(clock: Clock) -> None:
    trainer = fake_trainer(Recorder())
    cb = ThroughputMonitorCallback(window_steps=100, data_bound_share=0.3)
    d = Driver(cb, trainer, clock)
    d.epoch_start()
    for i in range(100):
        d.step(wait=float(i + 1), compute=20.0, n=2)
    v = cb.latest_values()
    assert v[names.DATA_WAIT_MS_P50] == pytest.approx(50.5)
    assert v[names.DATA_WAIT_MS_P95] == pytest.approx(95.05)
    assert v[names.DATA_WAIT_MS_P99] == pytest.approx(99.01)
    assert v[names.DATA_WAIT_MS_AVG] == pytest.approx(50.5)
    assert v[names.DATA_BOUND] == 1.0


@pytest.mark.parametrize(
    ("body", "last", "efficiency", "bound"),
    [
        # nine compute-heavy steps, then one slow fetch: the window is not data-bound
        ((1.0, 99.0), (90.0, 10.0), (9 * 99 + 10) / 1000, 0.0),
        # nine data-heavy steps, then one instant fetch: the window still is
        ((60.0, 40.0), (0.0, 100.0), (9 * 40 + 100) / 1000, 1.0),
    ],
)
def test_efficiency_and_verdict_cover_the_window_not_the_last_step(
    clock: Clock,
    body: tuple[float, float],
    last: tuple[float, float],
    efficiency: float,
    bound: float,
) -> None:
    trainer = fake_trainer(Recorder())
    trainer.log_every_n_steps = 10
    cb = ThroughputMonitorCallback(window_steps=10, data_bound_share=0.3, publish_max_hz=None)
    d = Driver(cb, trainer, clock)
    d.epoch_start()
    for _ in range(9):
        d.step(*body, n=2)
    d.step(*last, n=2)
    v = cb.latest_values()
    assert v[names.DATA_WAIT_MS] == pytest.approx(last[0])  # the last step is reported too
    assert v[names.THROUGHPUT_EFFICIENCY] == pytest.approx(efficiency)
    assert v[names.DATA_BOUND] == bound


def test_the_window_slides_so_old_steps_leave_the_running_sums(clock: Clock) -> None:
    trainer = fake_trainer(Recorder())
    cb = ThroughputMonitorCallback(window_steps=3, publish_max_hz=None)
    d = Driver(cb, trainer, clock)
    d.epoch_start()
    for wait, n in ((100.0, 8), (100.0, 8), (10.0, 2), (20.0, 2), (30.0, 2)):
        d.step(wait=wait, compute=10.0, n=n)
    v = cb.latest_values()
    assert v[names.DATA_WAIT_MS_AVG] == pytest.approx(20.0)  # the last three steps only
    assert v[names.SAMPLES_PER_SECOND] == pytest.approx(6 / 0.090)
    assert v[names.LOAD_MS] == pytest.approx(4.0)


def test_plain_tensor_batches_and_no_dataset_accounting(clock: Clock) -> None:
    trainer = fake_trainer(Recorder(), cache=None)
    cb = ThroughputMonitorCallback(window_steps=5)
    d = Driver(cb, trainer, clock)
    d.epoch_start()
    d.step(wait=1.0, compute=9.0, n=0, b=(torch.zeros(8, 2), torch.zeros(8)))
    d.epoch_end()
    v = cb.latest_values()
    assert v[names.SAMPLES_PER_SECOND] == pytest.approx(800.0)
    assert names.INSTANCES_PER_SECOND not in v and names.LOAD_MS not in v
    assert names.DATASET_CACHE_BYTES not in v


def test_cache_bytes_sum_the_latest_report_of_each_worker(clock: Clock) -> None:
    trainer = fake_trainer(Recorder(), cache=7)  # the main process's copy: not counted
    cb = ThroughputMonitorCallback(window_steps=5)
    d = Driver(cb, trainer, clock)
    d.epoch_start()
    for wid, cache in ((0, 100), (1, 50), (0, 300), (1, 60)):
        b = {**batch(2), "worker": {"id": wid, "cache_bytes": cache}}
        d.step(wait=1.0, compute=1.0, n=2, b=b)
    d.epoch_end()
    assert cb.latest_values()[names.DATASET_CACHE_BYTES] == 360.0


def test_batch_size_fn_counts_samples(clock: Clock) -> None:
    trainer = fake_trainer(Recorder(), cache=None)
    cb = ThroughputMonitorCallback(window_steps=5, batch_size_fn=lambda b: b["n"])
    d = Driver(cb, trainer, clock)
    d.epoch_start()
    d.step(wait=0.0, compute=10.0, n=0, b={"n": 5, "x": torch.zeros(3, 7)})
    d.epoch_end()
    assert cb.latest_values()[names.SAMPLES_PER_SECOND] == pytest.approx(500.0)
    dotted = ThroughputMonitorCallback(batch_size_fn="operator.length_hint")
    assert dotted.batch_size_fn is not None and dotted.batch_size_fn([1, 2, 3]) == 3
    with pytest.raises(ValueError, match="does not import"):
        ThroughputMonitorCallback(batch_size_fn="no_such_module_xyz.fn")


def test_publish_rate_is_capped_while_every_step_counts(clock: Clock) -> None:
    published: list[dict[str, float]] = []
    bridge = BridgeCallback()
    bridge.publisher = SimpleNamespace(  # type: ignore[assignment]
        metrics=lambda values, step, epoch: published.append(values)
    )
    trainer = fake_trainer(Recorder())
    trainer.callbacks, trainer.log_every_n_steps = [bridge], 1000
    cb = ThroughputMonitorCallback(window_steps=100, publish_max_hz=10.0)
    d = Driver(cb, trainer, clock)
    d.epoch_start()
    for i in range(30):  # 30 steps of 20 ms = 0.6 s -> at most 7 messages at 10 Hz
        d.step(wait=5.0 if i < 29 else 105.0, compute=15.0, n=2)
    assert 5 <= len(published) <= 7
    d.epoch_end()
    final = published[-1]
    # The unpublished last step (100 ms extra wait) is in the epoch-end figures.
    assert final[names.DATA_WAIT_MS] == pytest.approx(105.0)
    assert final[names.DATA_WAIT_MS_AVG] == pytest.approx((29 * 5.0 + 105.0) / 30)


def test_invalid_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="data_bound_share"):
        ThroughputMonitorCallback(data_bound_share=1.5)
    with pytest.raises(ValueError, match="window_steps"):
        ThroughputMonitorCallback(window_steps=0)
    with pytest.raises(ValueError, match="publish_max_hz"):
        ThroughputMonitorCallback(publish_max_hz=0.0)


@pytest.mark.slow
def test_a_slow_loader_reads_data_bound_against_the_configured_threshold(tmp_path: Path) -> None:
    cb = ThroughputMonitorCallback(window_steps=8, data_bound_share=0.25)
    trainer = make_trainer(tmp_path, [cb], max_steps=10)
    trainer.fit(ToyModule(), train_dataloaders=loader(n=40, batch_size=4, batch_sleep_ms=40.0))
    values = cb.latest_values()
    assert values[names.DATA_BOUND_THRESHOLD] == 0.25
    assert "perf/images_per_second" not in values  # it only repeated samples/s
    share = 1.0 - values[names.THROUGHPUT_EFFICIENCY]
    assert values[names.DATA_BOUND] == float(share > 0.25) == 1.0
    state = AppState()
    hello = {"protocol": 1, "job_id": "j", "rank": 0, "world_size": 1, "pid": 1}
    state.ingest({"type": "hello", "t": 1.0, "seq": 1, "payload": hello}, "s0")
    state.ingest(
        {"type": "metrics", "t": 2.0, "seq": 2, "step": 10, "payload": {"values": values}}, "s0"
    )
    assert state.rank is not None
    verdict = derive.verdict(state.rank)
    assert verdict is not None and verdict.label == "data-bound"
    assert verdict.reason == f"data wait {share:.0%} of step time (> 25% threshold)"
