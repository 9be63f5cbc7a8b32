"""RankStatsCallback: cross-rank figures, the straggler rule, and the callback driven hook
by hook with fake clocks and a fake all-gather (the real collective runs in tests/e2e)."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from ocrtop.bridge import names
from ocrtop.ocr.callbacks import rank_stats as rs
from ocrtop.ocr.callbacks.alerting.engine import AlertEngine
from ocrtop.ocr.callbacks.bridge import BridgeCallback
from ocrtop.ocr.callbacks.rank_stats import (
    RankStatsCallback,
    job_metrics,
    rank_figures,
    rank_memory,
    straggler_rule,
    straggler_values,
)
from ocrtop.ocr.callbacks.timing import step_clock as sc
from ocrtop.ocr.callbacks.timing.step_clock import StepClock

T0 = 1_800_000_000.0


def row(steps: float, samples: float, step_sum: float, p95: float, ready: float) -> list[float]:
    return [steps, samples, step_sum, p95, ready, 1e9, 0.0]


def test_lateness_is_subtracted_from_the_waiting_ranks_step_time() -> None:
    # both ranks see 400 ms steps (lockstep); rank 1 has its batches 100 ms later
    figs = rank_figures([row(10, 40, 4000, 20, T0), row(10, 40, 4000, 130, T0 + 0.1)])
    assert figs[0]["lateness_ms"] == pytest.approx(0.0)
    assert figs[1]["lateness_ms"] == pytest.approx(100.0, abs=1e-3)
    assert figs[0]["own_step_ms"] == pytest.approx(300.0, abs=1e-3)  # waited 100 ms for rank 1
    assert figs[1]["own_step_ms"] == pytest.approx(400.0)
    assert figs[0]["samples_per_second"] == pytest.approx(10.0)
    assert figs[1]["data_wait_ms_p95"] == 130


def test_a_rank_without_steps_has_no_figures() -> None:
    figs = rank_figures([row(10, 40, 4000, 20, T0), row(0, 0, 0, 0, 0)])
    assert figs[1] == {}
    assert figs[0]["own_step_ms"] == pytest.approx(400.0)


def test_job_metrics_name_the_slowest_rank_and_keep_every_row() -> None:
    figs = rank_figures(
        [row(10, 40, 4000, 20, T0), row(10, 40, 4000, 130, T0 + 0.1), row(10, 40, 4000, 25, T0)]
    )
    out = job_metrics(figs)
    assert out[names.DDP_SLOWEST_RANK] == 1.0
    assert out[names.ddp_stat("own_step_ms", "max")] == pytest.approx(400.0)
    assert out[names.ddp_stat("own_step_ms", "min")] == pytest.approx(300.0, abs=1e-3)
    assert out[names.ddp_stat("lateness_ms", "mean")] == pytest.approx(100.0 / 3, abs=1e-3)
    assert out[names.DDP_SAMPLES_PER_SECOND_TOTAL] == pytest.approx(30.0)
    assert out[names.ddp_rank(2, "data_wait_ms_p95")] == 25


def test_straggler_fires_after_the_sustain_window_and_clears_with_hysteresis() -> None:
    engine = AlertEngine([straggler_rule(margin=0.2, min_ms=5, sustain_s=10, clear_s=5)])
    slow = rank_figures([row(10, 40, 4000, 20, T0), row(10, 40, 4000, 130, T0 + 0.1)])
    values = straggler_values(slow, rank=1)
    assert values is not None and values["excess_pct"] == pytest.approx(33.3, abs=0.1)
    assert engine.evaluate(values, 0.0) == []
    assert engine.evaluate(values, 9.0) == []  # not sustained yet
    (fired,) = engine.evaluate(values, 10.0)
    assert fired.state == "firing" and fired.values["rank"] == 1.0
    assert fired.message.startswith("rank 1 is a straggler: 400 ms")
    # 15% over: below the margin, but not below half of it: still firing
    edge = {**values, "own_step_ms": 345.0, "excess_pct": 15.0}
    assert engine.evaluate(edge, 20.0) == [] and engine.evaluate(edge, 30.0) == []
    fine = {**values, "own_step_ms": 310.0, "excess_pct": 3.0}
    assert engine.evaluate(fine, 31.0) == []
    (cleared,) = engine.evaluate(fine, 36.0)
    assert cleared.state == "cleared"


def test_the_rank_everybody_waits_for_is_not_a_straggler_candidate_for_the_others() -> None:
    figs = rank_figures([row(10, 40, 4000, 20, T0), row(10, 40, 4000, 130, T0 + 0.1)])
    values = straggler_values(figs, rank=0)
    assert values is not None and values["excess_pct"] < 0
    engine = AlertEngine([straggler_rule(0.2, 5, 0, 0)])
    assert engine.evaluate(values, 0.0) == []


def test_tiny_steps_do_not_alert_on_noise() -> None:
    figs = rank_figures([row(10, 40, 20, 1, T0), row(10, 40, 30, 2, T0 + 0.001)])
    values = straggler_values(figs, rank=1)
    assert values is not None and values["excess_pct"] > 20  # large in relative terms...
    engine = AlertEngine([straggler_rule(0.2, min_ms=5, sustain_s=0, clear_s=0)])
    assert engine.evaluate(values, 0.0) == []  # ...but 1 ms is below straggler_min_ms


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="every_n_steps"):
        RankStatsCallback(every_n_steps=0)
    with pytest.raises(ValueError, match="straggler_margin"):
        RankStatsCallback(straggler_margin=0)


# --- the callback, hook by hook ---


class Sink:
    """A bridge publisher and a Lightning logger in one."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.logged: list[dict[str, float]] = []

    def publish(self, type_: str, payload: dict[str, Any], **_: Any) -> None:
        self.events.append((type_, payload))

    def metrics(self, values: dict[str, float], **_: Any) -> None:
        self.events.append(("metrics", {"values": values}))

    def log_metrics(self, values: dict[str, float], step: int) -> None:
        self.logged.append(values)


class FakeStrategy:
    """all_gather returns the other ranks' fixed rows around this rank's own row."""

    def __init__(self, rank: int, others: dict[int, list[float]]) -> None:
        self.rank, self.others, self.calls = rank, others, 0

    def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        rows = {**{r: torch.tensor(v, dtype=torch.float64) for r, v in self.others.items()}}
        rows[self.rank] = tensor
        return torch.stack([rows[r] for r in sorted(rows)])


def fake_trainer(rank: int, world: int, strategy: Any, sink: Sink) -> Any:
    bridge = BridgeCallback()
    bridge.publisher = sink  # type: ignore[assignment]
    return SimpleNamespace(
        global_rank=rank,
        world_size=world,
        global_step=0,
        current_epoch=0,
        sanity_checking=False,
        strategy=strategy,
        callbacks=[bridge],
        loggers=[sink],
    )


@pytest.fixture
def clocks(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    c = SimpleNamespace(perf=100.0, wall=T0)
    monkeypatch.setattr(sc, "_wall", lambda: c.wall)
    monkeypatch.setattr(rs, "_wall", lambda: c.wall)
    return c


def run_steps(cb: RankStatsCallback, trainer: Any, clocks: Any, n: int, wait_ms: float) -> None:
    """Steps as the step clock records them: a fetch of ``wait_ms``, then 300 ms of compute."""
    module = SimpleNamespace(device=torch.device("cpu"))
    batch = {"image": torch.zeros(4, 1), "batch_size": 4}
    cb.setup(trainer, module, "fit")  # type: ignore[arg-type]
    clock = StepClock.of(trainer)
    for i in range(n):
        t0 = clocks.perf
        clocks.perf += wait_ms / 1e3
        clocks.wall += wait_ms / 1e3
        clock.record_fetch(t0, clocks.perf, batch)
        clocks.perf += 0.3
        clocks.wall += 0.3
        clock.close(clocks.perf)
        trainer.global_step += 1
        cb.on_train_batch_end(trainer, module, None, batch, i)  # type: ignore[arg-type]


def test_the_slow_rank_publishes_the_straggler_alert_on_its_own_stream(clocks: Any) -> None:
    sink = Sink()
    # rank 0 had its batches 150 ms earlier, on average, than this rank will
    rank0 = row(4, 16, 4 * 600, 10, T0 + 1.2 - 0.15)
    strategy = FakeStrategy(1, {0: rank0})
    cb = RankStatsCallback(every_n_steps=4, straggler_sustain_s=0)
    trainer = fake_trainer(1, 2, strategy, sink)
    run_steps(cb, trainer, clocks, n=4, wait_ms=300)
    assert strategy.calls == 1
    alerts = [p for t, p in sink.events if t == "alert"]
    assert [(a["code"], a["state"], a["values"]["rank"]) for a in alerts] == [
        ("straggler", "firing", 1.0)
    ]
    assert "rank 1 is a straggler" in alerts[0]["message"]
    assert sink.logged == []  # only rank 0 logs the job's figures


def test_rank0_publishes_and_logs_cross_rank_figures(clocks: Any) -> None:
    sink = Sink()
    rank1 = row(4, 16, 4 * 350, 250, T0 + 10.0)  # later than rank 0: rank 0 waited for it
    strategy = FakeStrategy(0, {1: rank1})
    cb = RankStatsCallback(every_n_steps=2)
    trainer = fake_trainer(0, 2, strategy, sink)
    run_steps(cb, trainer, clocks, n=4, wait_ms=50)
    assert strategy.calls == 2
    published = [p["values"] for t, p in sink.events if t == "metrics"]
    assert published[-1][names.DDP_SLOWEST_RANK] == 1.0
    assert names.ddp_rank(1, "step_ms") in published[-1]
    logged = sink.logged[-1]
    assert logged[names.ddp_stat("samples_per_second", "min")] == pytest.approx(16 / 1.4)
    assert not any("/rank" in k for k in logged)  # per-rank rows stay on the bridge
    assert not [t for t, _ in sink.events if t == "alert"]


def test_a_single_process_never_gathers(clocks: Any) -> None:
    class NoCollective:
        def all_gather(self, tensor: torch.Tensor) -> torch.Tensor:
            raise AssertionError("a single process must not call a collective")

    sink = Sink()
    cb = RankStatsCallback(every_n_steps=1)
    run_steps(cb, fake_trainer(0, 1, NoCollective(), sink), clocks, n=3, wait_ms=10)
    assert sink.events == [] and sink.logged == []
    assert cb._steps == 0 and cb._waits == []  # nothing piles up between gathers that never come


@pytest.mark.slow
@pytest.mark.e2e
def test_rank_memory_leaves_out_other_ranks_but_counts_workers() -> None:
    # Each child says when its 150 MB are written, so the reading waits for the memory to
    # exist rather than for a sleep long enough on a quiet machine (flaky under load).
    hog = "b = b'x' * 150_000_000; print('ready', flush=True); import time; time.sleep(30)"
    env = {k: v for k, v in os.environ.items() if k != "LOCAL_RANK"}
    baseline = rank_memory()
    spawn = functools.partial(
        subprocess.Popen, [sys.executable, "-c", hog], stdout=subprocess.PIPE, text=True
    )
    other_rank = spawn(env={**env, "LOCAL_RANK": "7"})
    worker = spawn(env=env)
    try:
        for child in (other_rank, worker):
            assert child.stdout is not None and child.stdout.readline() == "ready\n"
        grown = rank_memory() - baseline
    finally:
        other_rank.kill()
        worker.kill()
        other_rank.wait()
        worker.wait()
    assert 140e6 < grown < 250e6, f"counted {grown / 1e6:.0f} MB of children"


def test_rank_stats_takes_the_samplers_pss_instead_of_walking_proc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ocrtop.ocr.callbacks.resource_monitor import ResourceMonitorCallback

    monitor = ResourceMonitorCallback(write_csv=False, gpu=False)
    monkeypatch.setattr(monitor, "latest_values", lambda: {names.PROC_PSS_BYTES: 123.0})
    trainer = SimpleNamespace(callbacks=[monitor])

    def walk(pid: int | None = None) -> float:
        raise AssertionError("walked /proc on the training thread")

    monkeypatch.setattr(rs, "rank_memory", walk)
    cb = rs.RankStatsCallback()
    row = cb._row(torch.device("cpu"), trainer)  # type: ignore[arg-type]
    assert row[rs.ROW.index("pss_bytes")] == 123.0
    assert rs.sampled_memory(SimpleNamespace(callbacks=[])) is None  # type: ignore[arg-type]
