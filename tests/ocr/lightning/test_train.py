"""End to end: fit a few steps, test the best checkpoint, check every logged key and file."""

from __future__ import annotations

import csv
import importlib.util
import json
from pathlib import Path

import pytest

from ocrtop.bridge import names
from ocrtop.ocr.lightning.train import train

DB_KEYS = {names.TRAIN_LOSS_PROB, names.TRAIN_LOSS_THRESH, names.TRAIN_LOSS_BINARY}
CRAFT_KEYS = {names.TRAIN_LOSS_REGION, names.TRAIN_LOSS_AFFINITY}
COMMON_KEYS = {
    names.TRAIN_LOSS,
    names.LR,
    names.VAL_LOSS,
    names.VAL_PRECISION,
    names.VAL_RECALL,
    names.VAL_HMEAN,
    names.TEST_PRECISION,
    names.TEST_RECALL,
    names.TEST_HMEAN,
    names.VAL_CLEVAL_PRECISION,
    names.VAL_CLEVAL_RECALL,
    names.VAL_CLEVAL_HMEAN,
    names.TEST_CLEVAL_PRECISION,
    names.TEST_CLEVAL_RECALL,
    names.TEST_CLEVAL_HMEAN,
}


@pytest.mark.slow
@pytest.mark.parametrize(("arch", "keys"), [("dbnet", DB_KEYS), ("craft", CRAFT_KEYS)])
def test_fit_then_test_logs_every_key(arch, keys, tiny_cfg, tmp_path: Path, capsys) -> None:
    summary = train(tiny_cfg(f"model/architectures={arch}"))

    with (tmp_path / "csv" / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    logged = {key for row in rows for key, value in row.items() if value}
    assert COMMON_KEYS | keys <= logged
    assert not any(k.endswith(("_step", "_epoch")) for k in logged)  # names stay verbatim
    lrs = [float(r[names.LR]) for r in rows if r[names.LR]]
    assert len(set(lrs)) > 1, "the scheduler got the run length and moved the lr"

    assert summary["arch"] == arch and summary["status"] == "done"
    assert summary["global_step"] == 3  # 6 samples, batch 2
    assert summary["train_samples"] == 6 and summary["train_samples_per_second"] > 0
    assert 0.0 <= summary["test_hmean"] <= 1.0
    assert Path(summary["best_checkpoint"]).is_file()
    assert json.loads((tmp_path / "run_summary.json").read_text())["arch"] == arch
    assert (tmp_path / "config_resolved.yaml").is_file()
    preds = json.loads((tmp_path / "predictions" / "test_predictions.json").read_text())
    assert len(preds["images"]) == 2
    assert f"test/hmean: {summary['test_hmean']:.4f}" in capsys.readouterr().out.splitlines()


@pytest.mark.slow
def test_failed_run_still_writes_its_summary(tiny_cfg, tmp_path: Path) -> None:
    cfg = tiny_cfg("model.net.backbone.name=not_a_timm_model")
    with pytest.raises(Exception, match="not_a_timm_model"):  # hydra wraps the ValueError
        train(cfg)
    assert json.loads((tmp_path / "run_summary.json").read_text())["status"] == "failed"


@pytest.mark.slow
def test_wandb_true_runs_offline(tiny_cfg, tmp_path: Path) -> None:
    """``wandb=true`` without an API key (WANDB_MODE=offline in tests) writes a local run."""
    pytest.importorskip("wandb")
    train(tiny_cfg("wandb=true", "test_after_fit=false"))
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, list((tmp_path / "wandb").iterdir())


def test_wandb_true_without_the_extra_says_how_to_install(
    tiny_cfg, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        "ocrtop.ocr.lightning.loggers.importlib.util.find_spec",
        lambda name: None if name == "wandb" else real(name),
    )
    with pytest.raises(RuntimeError, match=r"(?s)logger\.wandb.*pip install 'ocrtop\[wandb\]'"):
        train(tiny_cfg("wandb=true"))


@pytest.mark.slow
def test_mlflow_logger_writes_a_local_store(tiny_cfg, tmp_path: Path) -> None:
    """``logger=mlflow`` logs to a local file store (the extra is optional: skip without it)."""
    pytest.importorskip("mlflow")
    store = tmp_path / "mlruns"
    train(
        tiny_cfg(
            "logger=mlflow", f"logger.mlflow.tracking_uri=file:{store}", "test_after_fit=false"
        )
    )
    logged = {
        p.relative_to(metrics).as_posix()
        for metrics in store.glob("*/*/metrics")
        for p in metrics.rglob("*")
        if p.is_file()
    }
    assert {names.TRAIN_LOSS, names.VAL_HMEAN, names.LR} <= logged, sorted(logged)
    assert (tmp_path / "csv" / "metrics.csv").is_file()  # CSV stays on
