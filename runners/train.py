"""Train a text detector, then test its best checkpoint.

python runners/train.py experiment=synthetic_debug
python runners/train.py data=canonical data.root=ds trainer.max_epochs=2
python runners/train.py data=canonical data.root=ds -m model/architectures=[dbnetpp,craft,dbnet]
"""

from __future__ import annotations

import sys

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="../configs", config_name="train")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the best val/hmean so sweepers can optimise it."""
    from ocr.lightning.train import train  # lazy: `--help` and `--cfg job` skip torch

    summary = train(cfg)
    return summary.get("best_val_hmean")


if __name__ == "__main__":
    from ocr.lightning.argv import prepare_argv

    sys.argv = prepare_argv(sys.argv)
    main()
