"""Data wait end to end: ``runners/train.py`` with a slow callback or a slow loader injected.

The two runs differ in where 300 ms per step go. A callback that sleeps after every
batch (registered after the throughput monitor, through a Hydra override) must leave
data wait near zero and the verdict compute-bound; pages that sleep while loading (no
workers) must show up as data wait, matching the loader's own timing of the batch.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "experiment=synthetic_debug",
    "data.train.source.num=8",
    "data.train.source.width=128",
    "data.train.source.height=128",
    "data.val.source.num=2",
    "data.test.source.num=2",
    "data.batch_size=2",
    "data.train.transform.size=128",
    "trainer.max_epochs=1",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "trainer.num_sanity_val_steps=0",
    "model.scheduler.warmup_steps=1",
    "test_after_fit=false",
    "callbacks.bridge.enabled=false",
    "callbacks.resource_monitor.enabled=false",
]
SLEEP_MS = 300.0  # per step, either way

pytestmark = pytest.mark.slow


def train(run_dir: Path, *overrides: str) -> dict[str, float]:
    """Run the trainer; the throughput monitor's epoch-end figures from the CSV log."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "HYDRA_FULL_ERROR": "1",
        "PYTHONPATH": str(ROOT),  # tests/ is a regular package: tests.helpers resolves here
    }
    cmd = [sys.executable, "runners/train.py", *TINY, *overrides, f"hydra.run.dir={run_dir}"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    with (run_dir / "csv" / "metrics.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r.get("perf/epoch_samples_per_second")]
    assert rows, "no epoch-end throughput row in metrics.csv"
    return {k: float(v) for k, v in rows[-1].items() if k.startswith("perf/") and v}


def test_a_slow_callback_is_not_data_wait(tmp_path: Path) -> None:
    v = train(
        tmp_path / "run",
        "data.num_workers=2",  # pages are prepared while the step computes
        "+callbacks.slow._target_=tests.helpers.step_clock.SlowCallback",
        f"+callbacks.slow.sleep_ms={SLEEP_MS}",
    )
    assert v["perf/data_wait_ms_p50"] < 0.15 * SLEEP_MS, v
    assert v["perf/compute_ms_p50"] >= SLEEP_MS
    assert v["perf/data_bound"] == 0.0


def test_a_slow_loader_is_data_wait(tmp_path: Path) -> None:
    v = train(
        tmp_path / "run",
        "data.num_workers=0",
        "data.persistent_workers=false",
        "data.train.source._target_=tests.helpers.step_clock.SleepyPages",
        f"+data.train.source.sleep_ms={SLEEP_MS / 2}",  # two pages per batch
    )
    assert v["perf/data_wait_ms_p50"] >= SLEEP_MS, v
    # The wait is the loader's own work on the batch, timed inside the dataset.
    own = v["perf/load_ms"] + v["perf/transform_ms"] + v["perf/target_ms"]
    assert v["perf/data_wait_ms_avg"] == pytest.approx(own, rel=0.25)
