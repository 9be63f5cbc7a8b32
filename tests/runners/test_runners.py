"""The runners as a user runs them: ``python runners/<x>.py overrides...`` from the repo root.

Slow: each one starts a Python process that imports torch and trains a few tiny steps.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocrtop.ocr.cli import main as ocr_cli

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "data.num_workers=0",
    "data.persistent_workers=false",
    "data.batch_size=2",
    "data.train.transform.size=128",
    "trainer.max_epochs=1",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "model.scheduler.warmup_steps=1",
]
SYNTH_TINY = [
    "experiment=synthetic_debug",
    "data.train.source.num=4",
    "data.train.source.width=128",
    "data.train.source.height=128",
    "data.val.source.num=2",
    "data.test.source.num=2",
    *TINY,
]

pytestmark = pytest.mark.slow


def run(script: str, *overrides: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run(
        [sys.executable, f"runners/{script}.py", *overrides],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny canonical dataset written by ``ocrtop data synth``."""
    out = tmp_path_factory.mktemp("data") / "ds"
    args = ["--out", str(out), "--num", "10", "--seed", "1", "--width", "128", "--height", "128"]
    assert ocr_cli(["data", "synth", *args]) == 0
    return out


def test_train_then_test_then_predict(tmp_path: Path, dataset: Path) -> None:
    run_dir = tmp_path / "run"
    proc = run("train", *SYNTH_TINY, f"hydra.run.dir={run_dir}")
    assert any(
        line.startswith("test/hmean: 0.") or line.startswith("test/hmean: 1.")
        for line in proc.stdout.splitlines()
    ), proc.stdout[-2000:]
    for path in (
        "config_resolved.yaml",
        ".hydra/config.yaml",
        "csv/metrics.csv",
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
        "predictions/test_predictions.json",
        "run_summary.json",
    ):
        assert (run_dir / path).is_file(), path
    # exit-code row 0: the process (run() checks it), the summary and the final event agree
    assert json.loads((run_dir / "run_summary.json").read_text())["exit_code"] == 0
    events = [json.loads(x) for x in (run_dir / "events.jsonl").read_text().splitlines()]
    final = [e["payload"] for e in events if e["type"] == "status"][-1]
    assert final["status"] == "done" and final["exit_code"] == 0

    proc = run(
        "test",
        *SYNTH_TINY,
        f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
        f"hydra.run.dir={tmp_path / 'test'}",
    )
    assert "test/hmean: " in proc.stdout
    assert (tmp_path / "test" / "predictions" / "test_predictions.json").is_file()

    output = tmp_path / "preds.json"
    proc = run(
        "predict",
        f"ckpt_path={run_dir / 'checkpoints' / 'best.ckpt'}",  # as README and predict.py say
        f"input_dir={dataset / 'train' / 'images'}",
        f"output={output}",
        "data.train.transform.size=128",
        f"hydra.run.dir={tmp_path / 'predict'}",
    )
    images = json.loads(output.read_text())["images"]
    assert sorted(images) == sorted(p.name for p in (dataset / "train" / "images").iterdir())
    for entry in images.values():
        for word in entry["words"].values():
            assert 0.0 <= word["score"] <= 1.0 and len(word["points"]) >= 4


def test_canonical_data_trains(tmp_path: Path, dataset: Path) -> None:
    run_dir = tmp_path / "run"
    run("train", "data=canonical", f"data.root={dataset}", *TINY, f"hydra.run.dir={run_dir}")
    summary = json.loads((run_dir / "run_summary.json").read_text())
    assert summary["status"] == "done"
    assert summary["train_samples"] == 8  # write_dataset puts 80 % of 10 pages in train


def test_missing_dataset_path_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_ds"
    proc = run(
        "train",
        "data=canonical",
        f"data.root={missing}",
        *TINY,
        f"hydra.run.dir={tmp_path / 'run'}",
        check=False,
    )
    assert proc.returncode != 0
    assert f"'{missing}' does not exist" in proc.stderr  # names the path, no hunting
    assert "Traceback" not in proc.stderr or "FileNotFoundError" in proc.stderr


def test_sweep_over_three_architectures_writes_a_summary(tmp_path: Path, dataset: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    run(
        "train",
        "data=canonical",
        f"data.root={dataset}",
        *TINY,
        "wandb=false",
        f"hydra.sweep.dir={sweep_dir}",
        "-m",
        "model/architectures=[dbnetpp,craft,dbnet]",
    )  # -m after overrides, as typed
    with (sweep_dir / "sweep_summary.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["arch"] for r in rows] == ["dbnetpp", "craft", "dbnet"]
    assert [r["job"] for r in rows] == ["0_dbnetpp", "1_craft", "2_dbnet"]
    for row in rows:
        assert row["status"] == "done"
        assert 0.0 <= float(row["best_val_hmean"]) <= 1.0
        assert 0.0 <= float(row["test_hmean"]) <= 1.0
        assert float(row["train_samples_per_second"]) > 0
        assert float(row["wall_time_s"]) > 0
    assert (sweep_dir / "sweep_summary.md").read_text().count("\n") == 5
