"""Detect text in a folder of images; write canonical JSON with a score per word.

python runners/predict.py ckpt_path=.../best.ckpt input_dir=my_images output=preds.json
"""

from __future__ import annotations

import hydra
from omegaconf import DictConfig


@hydra.main(version_base="1.3", config_path="../configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    """Hydra entry point."""
    from ocrtop.ocr.lightning.predict import predict_folder

    predict_folder(cfg)


if __name__ == "__main__":
    main()
