"""Data wait against an injected delay: a slow later callback vs a slow loader.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_data_wait.py   (--quick: smoke)

Three short ``Trainer.fit`` runs of the toy conv net of ``bench_monitor_overhead.py``:

- *slow callback*: an in-memory loader (fetching costs microseconds) and a callback,
  registered after the throughput monitor, that sleeps ``--sleep-ms`` after every batch;
- *slow loader, 0 workers*: the collate function sleeps ``--sleep-ms`` per batch;
- *slow loader, 2 workers*: it sleeps ``2 x --sleep-ms`` per batch in two workers, so a
  batch is ready every ``--sleep-ms`` and the loop waits that minus its compute.

For each: data wait p50 as ocrtop measures it (the fetch itself), compute p50, the
verdict, and what the seed's method (the gap between the monitor's batch-end hook and the
next batch start) would have read, rebuilt from the same steps as the step clock's
``after_ms`` (the batch-end hooks onwards) plus the fetch. The reference is the injected
sleep. The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytorch_lightning as pl
from bench_monitor_overhead import InMemoryImages, StepTimed, collate
from torch.utils.data import DataLoader

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.throughput_monitor import ThroughputMonitorCallback
from ocrtop.ocr.callbacks.timing.step_clock import StepClock, StepRecord


class Sleeper(pl.Callback):
    """Sleeps after every batch: work done after the step, not data wait."""

    def __init__(self, ms: float) -> None:
        self.ms = ms

    def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
        time.sleep(self.ms / 1e3)


class Records(pl.Callback):
    """Keeps the step clock's records."""

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.sink = StepClock.of(trainer).subscribe()


class SleepyCollate:
    """Collate that sleeps ``ms`` per batch (picklable, for worker processes)."""

    def __init__(self, ms: float) -> None:
        self.ms = ms

    def __call__(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        time.sleep(self.ms / 1e3)
        return collate(items)


def run(args: argparse.Namespace, callback_ms: float, loader_ms: float, workers: int) -> dict:
    tp, rec = ThroughputMonitorCallback(window_steps=args.steps), Records()
    cbs: list[pl.Callback] = [tp, rec] + ([Sleeper(callback_ms)] if callback_ms else [])
    data = DataLoader(
        InMemoryImages(args.batch * args.steps, args.size),
        batch_size=args.batch,
        collate_fn=SleepyCollate(loader_ms),
        num_workers=workers,
    )
    with tempfile.TemporaryDirectory() as tmp:
        trainer = pl.Trainer(
            accelerator="cpu",
            devices=1,
            max_epochs=1,
            callbacks=cbs,
            logger=False,
            default_root_dir=tmp,
            enable_progress_bar=False,
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        trainer.fit(StepTimed(args.width), data)
    recs: list[StepRecord] = list(rec.sink)[1:]  # the first fetch also starts workers
    v = tp.latest_values()
    gap = [a.after_ms + b.wait_ms for a, b in itertools.pairwise(recs)]
    return {
        "data_wait_ms_p50": round(statistics.median(r.wait_ms for r in recs), 2),
        "compute_ms_p50": round(statistics.median(r.compute_ms for r in recs), 2),
        "verdict": "data-bound" if v.get(names.DATA_BOUND) else "compute-bound",
        "efficiency": round(v[names.THROUGHPUT_EFFICIENCY], 3),
        "seed_hook_gap_ms_p50": round(statistics.median(gap), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep-ms", type=float, default=30.0)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="10 steps each")
    args = parser.parse_args()
    if args.quick:
        args.steps = 10
    ms = args.sleep_ms
    out = {
        "slow_callback": run(args, ms, 0.0, 0),
        "slow_loader_0_workers": run(args, 0.0, ms, 0),
        "slow_loader_2_workers": run(args, 0.0, 2 * ms, 2),
        "injected_ms": ms,
        "config": {k: getattr(args, k) for k in ("steps", "size", "width", "batch")},
    }
    print(f"injected: {ms:.0f} ms per step")
    print(f"{'case':<24} {'data wait p50':>14} {'compute p50':>12} {'seed gap p50':>13}  verdict")
    for case in ("slow_callback", "slow_loader_0_workers", "slow_loader_2_workers"):
        r = out[case]
        print(
            f"{case:<24} {r['data_wait_ms_p50']:>11.2f} ms {r['compute_ms_p50']:>9.2f} ms "
            f"{r['seed_hook_gap_ms_p50']:>10.2f} ms  {r['verdict']}"
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
