"""RankStatsCallback: every DDP rank's throughput side by side, and the straggler named.

DDP keeps ranks in lockstep: a rank that is slow to load its batch makes every other rank
wait inside the gradient all-reduce, so all ranks report about the same step time and
the culprit hides. What differs is *when* each rank has its batch in hand. Every rank
therefore takes from the step clock (:mod:`ocrtop.ocr.callbacks.timing.step_clock`) the wall-clock
time at which each step's fetch ended (batch loaded), its fetch wait and step time, and every
``every_n_steps`` the ranks all-gather one small row of figures (a few floats; DDP already
synchronises every step, so this adds one tiny collective per N steps). From the rows:

- ``lateness_ms``: how long after the earliest rank this rank started its steps (mean);
- ``own_step_ms``: step time minus the time spent waiting for the latest rank, i.e. what
  the step would take if nobody waited for anybody.

A rank whose own step time exceeds the median of the other ranks by ``straggler_margin``
for ``straggler_sustain_s`` raises a ``straggler`` alert on its own stream (so the alert
carries its rank). Rank 0 publishes and logs the cross-rank min/max/mean, the slowest rank
and every rank's row, so one attached viewer (or the CSV log) sees the whole job.

Wall clocks are compared across processes: exact on one host, as good as NTP across nodes.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Any

import psutil
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.alerting.engine import AlertEngine, AlertRule, Values
from ocrtop.ocr.callbacks.alerting.report import report_alert
from ocrtop.ocr.callbacks.link import publisher_of
from ocrtop.ocr.callbacks.link.emit import Emitter
from ocrtop.ocr.callbacks.options import check_every_n_steps
from ocrtop.ocr.callbacks.resource_monitor import ResourceMonitorCallback
from ocrtop.ocr.callbacks.sampling.process_tree import other_ranks, tree_memory
from ocrtop.ocr.callbacks.sampling.stats import median, percentile
from ocrtop.ocr.callbacks.timing.step_clock import StepClock, StepRecord

ROW = ("steps", "samples", "step_ms_sum", "wait_ms_p95", "ready_t_mean", "pss_bytes", "gpu_bytes")
"""Columns of the row every rank contributes to the all-gather (float64)."""
STRAGGLER = names.ALERT_STRAGGLER

_wall = time.time  # module-level so tests can drive a fake clock


def rank_memory(pid: int | None = None) -> float:
    """Memory of this rank: its process and its DataLoader workers, not the other ranks.

    Summed PSS (pages shared with the forked workers count once), summed RSS where the
    OS gives no PSS; other ranks' subtrees are left out (``sampling.other_ranks``).
    Reading PSS costs milliseconds per process, so the callback takes the resource
    monitor's latest reading of the same tree when there is one.
    """
    root = psutil.Process(pid or os.getpid())
    mem = tree_memory(root.pid, prune=other_ranks(root))
    return float(mem.pss if mem.pss is not None else mem.rss)


def sampled_memory(trainer: pl.Trainer) -> float | None:
    """This rank's PSS from the resource monitor's background sampler, if it runs."""
    for cb in getattr(trainer, "callbacks", ()):
        if isinstance(cb, ResourceMonitorCallback):
            value = cb.latest_values().get(names.PROC_PSS_BYTES)
            return float(value) if value is not None else None
    return None


def rank_figures(rows: list[list[float]]) -> list[dict[str, float]]:
    """Per-rank figures (``names.DDP_FIELDS``) from the gathered rows, rank order.

    Rows without steps (a rank that has not trained since the last gather) yield empty dicts.
    """
    valid = [r for r in rows if r[0] > 0]
    if not valid:
        return [{} for _ in rows]
    first = min(r[4] for r in valid)
    last = max(r[4] for r in valid)
    out: list[dict[str, float]] = []
    for steps, samples, step_sum, wait_p95, ready, mem, gpu in rows:
        if steps <= 0:
            out.append({})
            continue
        step_ms = step_sum / steps
        lateness = (ready - first) * 1e3
        waited = (last - ready) * 1e3  # time this rank sat in the collective for the latest one
        out.append(
            {
                "samples_per_second": samples / (step_sum / 1e3) if step_sum > 0 else 0.0,
                "data_wait_ms_p95": wait_p95,
                "step_ms": step_ms,
                "own_step_ms": max(0.0, step_ms - waited),
                "lateness_ms": lateness,
                "pss_bytes": mem,
                "gpu_mem_bytes": gpu,
            }
        )
    return out


def job_metrics(figures: list[dict[str, float]]) -> dict[str, float]:
    """Cross-rank min/max/mean of every field, the slowest rank, and every rank's row."""
    present = [(rank, f) for rank, f in enumerate(figures) if f]
    if not present:
        return {}
    out: dict[str, float] = {}
    for field in names.DDP_FIELDS:
        values = [f[field] for _, f in present]
        out[names.ddp_stat(field, "min")] = min(values)
        out[names.ddp_stat(field, "max")] = max(values)
        out[names.ddp_stat(field, "mean")] = sum(values) / len(values)
    slowest = max(present, key=lambda rf: rf[1]["own_step_ms"])[0]
    out[names.DDP_SLOWEST_RANK] = float(slowest)
    out[names.DDP_SAMPLES_PER_SECOND_TOTAL] = sum(f["samples_per_second"] for _, f in present)
    for rank, f in present:
        out.update({names.ddp_rank(rank, k): v for k, v in f.items()})
    return out


def straggler_values(figures: list[dict[str, float]], rank: int) -> dict[str, float] | None:
    """This rank's own step time against the median of the others; None if not comparable."""
    if rank >= len(figures) or not figures[rank]:
        return None
    others = [f["own_step_ms"] for r, f in enumerate(figures) if f and r != rank]
    if not others:
        return None
    own, med = figures[rank]["own_step_ms"], median(others)
    excess = (own / med - 1.0) * 100.0 if med > 0 else 0.0
    return {
        "rank": float(rank),
        "own_step_ms": own,
        "median_ms": med,
        "excess_pct": excess,
        "lateness_ms": figures[rank]["lateness_ms"],
        "data_wait_ms_p95": figures[rank]["data_wait_ms_p95"],
    }


def straggler_rule(margin: float, min_ms: float, sustain_s: float, clear_s: float) -> AlertRule:
    """Fires while own step time > median of the other ranks by ``margin`` and ``min_ms``.

    It clears once the excess is below half the margin, so a rank at the edge does not flap.
    """

    def fire(v: Values) -> tuple[bool, dict[str, float]] | None:
        if "own_step_ms" not in v:
            return None
        over = v["own_step_ms"] - v["median_ms"]
        return (v["excess_pct"] > margin * 100.0 and over >= min_ms), dict(v)

    def clear(v: Values) -> tuple[bool, dict[str, float]] | None:
        if "own_step_ms" not in v:
            return None
        return v["excess_pct"] < margin * 50.0, dict(v)

    return AlertRule(
        code=STRAGGLER,
        severity="warning",
        fire=fire,
        clear=clear,
        message=(
            "rank {rank:.0f} is a straggler: {own_step_ms:.0f} ms of its own work per step vs "
            "{median_ms:.0f} ms median of the other ranks (+{excess_pct:.0f}%), batches "
            "{lateness_ms:.0f} ms late (data wait p95 {data_wait_ms_p95:.0f} ms)"
        ),
        hint=(
            "every rank waits for this one at each all-reduce: check its data loader "
            "(num_workers, disk, a slow shard), CPU/GPU contention on its node, or its GPU clock"
        ),
        sustain_s=sustain_s,
        clear_s=clear_s,
    )


class RankStatsCallback(Callback):
    """All-gather per-rank throughput every N steps; name and alert the straggler.

    A no-op when the trainer runs a single process.

    Args:
        every_n_steps: Training batches between gathers (every rank must agree: it is a
            collective). Figures cover the batches since the previous gather.
        straggler_margin: Excess of own step time over the other ranks' median (0.2 = 20%).
        straggler_min_ms: ...and at least this many ms, so tiny steps do not alert on noise.
        straggler_sustain_s: How long the excess must hold before the alert fires.
        straggler_clear_s: How long it must stay below half the margin before it clears.
        log_per_rank: Also send every rank's row to the Lightning logger (rank 0 only);
            the cross-rank min/max/mean and the slowest rank are always logged.
    """

    def __init__(
        self,
        every_n_steps: int = 10,
        straggler_margin: float = 0.2,
        straggler_min_ms: float = 5.0,
        straggler_sustain_s: float = 30.0,
        straggler_clear_s: float = 15.0,
        log_per_rank: bool = False,
    ) -> None:
        if check_every_n_steps(every_n_steps) is None:
            raise ValueError("every_n_steps must be a number of batches (every rank agrees)")
        if straggler_margin <= 0:
            raise ValueError(f"straggler_margin is a share > 0 (0.2 = 20%), got {straggler_margin}")
        self.every_n_steps = every_n_steps
        self.log_per_rank = log_per_rank
        self.engine = AlertEngine(
            [
                straggler_rule(
                    straggler_margin, straggler_min_ms, straggler_sustain_s, straggler_clear_s
                )
            ]
        )
        self.latest: dict[str, float] = {}
        self.figures: list[dict[str, float]] = []
        self._emit = Emitter("rank_stats")
        self._batches = 0
        self._sink: deque[StepRecord] | None = None
        self._reset_window()

    def _reset_window(self) -> None:
        self._steps = 0
        self._samples = 0
        self._step_sum = 0.0
        self._ready_sum = 0.0
        self._waits: list[float] = []

    def attach(self, clock: StepClock) -> None:
        """Read steps from ``clock`` (done in ``setup``; tests call it directly)."""
        self._sink = clock.subscribe()

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if stage == "fit" and trainer.world_size > 1:
            self.attach(StepClock.of(trainer))

    # --- per step: a few additions per closed step ---
    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        sink = self._sink
        if sink is None:
            return  # one process: nothing to gather
        while sink:
            rec = sink.popleft()
            self._step_sum += rec.wait_ms + rec.compute_ms
            self._ready_sum += rec.ready_wall
            self._waits.append(rec.wait_ms)
            self._samples += rec.size
            self._steps += 1
        self._batches += 1
        if self._batches % self.every_n_steps == 0:
            self.gather(trainer, pl_module)

    # --- every N steps: one all-gather ---
    def _row(self, device: torch.device, trainer: pl.Trainer | None = None) -> list[float]:
        waits = sorted(self._waits)
        ready = self._ready_sum / self._steps if self._steps else 0.0
        try:  # the sampler's reading when it has one: no /proc walk on the training thread
            mem = sampled_memory(trainer) if trainer is not None else None
            mem = rank_memory() if mem is None else mem
        except Exception as exc:
            self._emit.failed("read process memory", exc)
            mem = 0.0
        p95 = percentile(waits, 95) if waits else 0.0
        gpu = float(torch.cuda.memory_reserved(device)) if device.type == "cuda" else 0.0
        return [float(self._steps), float(self._samples), self._step_sum, p95, ready, mem, gpu]

    def gather(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Exchange rows with every rank (a collective: all ranks call it at the same batch)."""
        device = pl_module.device
        row = torch.tensor(self._row(device, trainer), dtype=torch.float64, device=device)
        self._reset_window()
        gathered = trainer.strategy.all_gather(row)
        rows = gathered.reshape(-1, len(ROW)).cpu().tolist()
        self.figures = rank_figures(rows)
        self.latest = job_metrics(self.figures)
        step, epoch = trainer.global_step, trainer.current_epoch
        if trainer.global_rank == 0 and self.latest:
            self._emit.metrics(publisher_of(trainer), self.latest, step=step, epoch=epoch)
            logged = {k: v for k, v in self.latest.items() if self.log_per_rank or "/rank" not in k}
            self._emit.log_metrics(trainer, logged, step=step)
        values = straggler_values(self.figures, trainer.global_rank) or {}
        for alert in self.engine.evaluate(values, _wall()):
            report_alert(trainer, self._emit, alert)
