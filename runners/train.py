"""Train a text detector, then test its best checkpoint.

python runners/train.py experiment=synthetic_debug
python runners/train.py data=canonical data.root=ds trainer.max_epochs=2
python runners/train.py data=canonical data.root=ds -m model/architectures=[dbnetpp,craft,dbnet]

Exit codes (README, ``bridge/exitcodes.py``): 0 done, 1 failed, 2 bad config or input,
3 stopped on request, 128+N ended by signal N (130 Ctrl-C, 143 SIGTERM).
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig

from ocrtop.runners._exit import exit_code_of, run_task


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the best val/hmean so sweepers can optimise it."""

    def task() -> dict:
        from ocrtop.ocr.lightning.train import train  # lazy: `--help` and a bad config skip torch

        return train(cfg)

    return run_task(task, cfg).get("best_val_hmean")


if __name__ == "__main__":
    from ocrtop.ocr.lightning.argv import prepare_argv

    sys.argv = prepare_argv(sys.argv)
    sys.exit(exit_code_of(main))
