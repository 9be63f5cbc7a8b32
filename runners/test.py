"""Evaluate a checkpoint on the test split and write its predictions.

python runners/test.py ckpt_path=outputs/<exp>/<time>/checkpoints/last.ckpt
python runners/test.py ckpt_path=... data=canonical data.root=ds model/architectures=craft

Exit codes as ``runners/train.py`` (README): 0 done, 1 failed, 2 bad config or input.
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from ocrtop.runners._exit import exit_code_of, run_task


@hydra.main(version_base="1.3", config_path="../configs", config_name="test")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the test hmean."""

    def task() -> dict:
        from ocrtop.ocr.lightning.evaluate import evaluate  # lazy: a bad config skips torch

        return evaluate(cfg)

    return run_task(task, cfg).get("test_hmean")


if __name__ == "__main__":
    sys.exit(exit_code_of(main))
