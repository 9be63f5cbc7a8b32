"""Evaluate a trained checkpoint on the test split (``runners/test.py``)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig

from ocrtop.bridge import names
from ocrtop.ocr.lightning.summary import (
    print_metric,
    save_resolved_config,
    summarize_test,
    write_run_summary,
)
from ocrtop.ocr.lightning.train import build

log = logging.getLogger(__name__)


def checkpoint_path(cfg: DictConfig) -> str:
    """The ``ckpt_path`` of the config, checked to exist.

    Raises:
        FileNotFoundError: naming the path and the config key.
    """
    path = str(cfg.ckpt_path)
    if not Path(path).is_file():
        raise FileNotFoundError(
            f"checkpoint {path!r} (ckpt_path) does not exist; a training run keeps its "
            f"checkpoints in <run dir>/checkpoints/ (best and last.ckpt)"
        )
    return path


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Load ``cfg.ckpt_path`` into the configured model and test it.

    The architecture config must match the checkpoint's (the state dict is loaded strictly,
    so a mismatch fails with the missing/unexpected keys).

    Returns:
        ``{"test_precision", "test_recall", "test_hmean", "test_cleval_hmean", ...}``
        (ICDAR 2015 and CLEval), also written to
        ``<run dir>/run_summary.json``; predictions go to ``<run dir>/predictions/``.
    """
    start = time.perf_counter()
    ckpt = checkpoint_path(cfg)
    output_dir = str(cfg.paths.output_dir)
    save_resolved_config(cfg, output_dir)
    if cfg.get("seed") is not None:
        pl.seed_everything(int(cfg.seed), workers=True)
    datamodule, model, trainer = build(cfg)
    results = trainer.test(model, datamodule=datamodule, ckpt_path=ckpt)
    summary = {
        "arch": cfg.model.get("arch"),
        "checkpoint": ckpt,
        **summarize_test(results),
        "wall_time_s": round(time.perf_counter() - start, 2),
        "status": "done",
    }
    write_run_summary(output_dir, summary)
    print_metric(names.TEST_CLEVAL_HMEAN, summary["test_cleval_hmean"])
    print_metric(names.TEST_HMEAN, summary["test_hmean"])  # last: scripts grep for it
    return summary
