"""A training budget in CPU time, for benchmarks that promise "N CPU-minutes of training".

Lightning's ``max_time`` counts wall time, which on a shared machine says little about the
work done. This callback sums user+system CPU seconds of the trainer process and all its
live children (DataLoader workers) every ``every_n_steps`` steps and stops training once
``minutes`` are spent. Used as ``+callbacks.cpu_budget._target_=benchmarks.cpu_budget.CpuBudget
+callbacks.cpu_budget.minutes=30`` (see BENCHMARKS.md, peer baseline).
"""

from __future__ import annotations

import logging
from typing import Any

import psutil
import pytorch_lightning as pl

log = logging.getLogger(__name__)


def tree_cpu_seconds(proc: psutil.Process | None = None) -> float:
    """User+system CPU seconds of ``proc``, its reaped children and its live descendants."""
    proc = proc or psutil.Process()
    times = proc.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in proc.children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.Error:  # a worker that just exited
            continue
    return float(total)


class CpuBudget(pl.Callback):
    """Stop fitting when the process tree has used ``minutes`` of CPU time."""

    def __init__(self, minutes: float = 30.0, every_n_steps: int = 10) -> None:
        self.budget_s = float(minutes) * 60.0
        self.every = int(every_n_steps)
        self.used_s = 0.0

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        if trainer.global_step % self.every:
            return
        self.used_s = tree_cpu_seconds()
        if self.used_s >= self.budget_s and not trainer.should_stop:
            log.info(
                "CPU budget spent: %.1f CPU-min at step %d", self.used_s / 60, trainer.global_step
            )
            print(f"cpu_budget: {self.used_s / 60:.1f} CPU-minutes used, stopping", flush=True)
            trainer.should_stop = True
