"""Detect text in a folder of images and write canonical JSON (``runners/predict.py``).

The images go through the same Dataset, eval transform and collate function as the val
split (only without targets), so predictions are mapped back to original coordinates
exactly as during validation, EXIF orientation included.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import hydra
import numpy as np
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from ocrtop.ocr.data.canonical import load_image
from ocrtop.ocr.data.collate import collate_batch
from ocrtop.ocr.data.dataset import TextDetectionDataset
from ocrtop.ocr.data.source import PageRecord
from ocrtop.ocr.lightning.evaluate import checkpoint_path
from ocrtop.ocr.lightning.predictions import write_predictions, write_submission
from ocrtop.ocr.types import Prediction

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


class ImageFolderSource:
    """Every image file directly inside ``folder`` (sorted by name), without annotations.

    Raises:
        FileNotFoundError: when the folder is missing or holds no image (names the folder).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise FileNotFoundError(
                f"image folder {str(self.folder)!r} (input_dir) does not exist or is not a folder"
            )
        self.filenames = sorted(
            p.name for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
        )
        if not self.filenames:
            raise FileNotFoundError(
                f"no images ({', '.join(IMAGE_SUFFIXES)}) in {str(self.folder)!r} (input_dir)"
            )

    def __len__(self) -> int:
        return len(self.filenames)

    def load(self, index: int) -> PageRecord:
        """Decode image ``index`` upright; predictions map back to the stored frame."""
        name = self.filenames[index]
        rgb, stored_size, to_upright = load_image(self.folder / name)
        return PageRecord(rgb, [], name, stored_size, np.linalg.inv(to_upright))


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available; anything else is passed to ``torch.device``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_weights(model: torch.nn.Module, ckpt: str) -> None:
    """Load a Lightning checkpoint's ``state_dict`` strictly into ``model``.

    ``weights_only=False`` because Lightning checkpoints carry optimizer and callback
    state; only load checkpoints you trust (your own runs).
    """
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    if "state_dict" not in state:
        raise ValueError(f"{ckpt}: not a Lightning checkpoint (no 'state_dict' entry)")
    model.load_state_dict(state["state_dict"], strict=True)


@torch.inference_mode()
def predict_folder(cfg: DictConfig) -> dict[str, list[Prediction]]:
    """Run the checkpoint on every image of ``cfg.input_dir``; write ``cfg.output``.

    Returns:
        ``{file name: [Prediction, ...]}`` (also written as canonical JSON with scores).
    """
    ckpt = checkpoint_path(cfg)
    source = ImageFolderSource(str(cfg.input_dir))
    transform = hydra.utils.instantiate(cfg.data.val.transform)
    dataset = TextDetectionDataset(source, transform=transform, targets=None)
    loader = DataLoader(
        dataset, batch_size=int(cfg.batch_size), shuffle=False, collate_fn=collate_batch
    )
    model: Any = hydra.utils.instantiate(cfg.model)
    load_weights(model, ckpt)
    device = resolve_device(str(cfg.device))
    model.to(device).eval()
    results: dict[str, list[Prediction]] = {}
    for batch in loader:
        output = model(batch["image"].to(device))
        for meta, preds in zip(
            batch["meta"], model.postprocess(output, batch["meta"]), strict=True
        ):
            results[str(meta["filename"])] = preds
    path = write_predictions(results, str(cfg.output))
    words = sum(len(p) for p in results.values())
    print(f"wrote {words} detections for {len(results)} images to {path}", flush=True)
    if cfg.get("submission"):
        csv_path = write_submission(results, str(cfg.submission_path))
        print(f"wrote the submission CSV for {len(results)} images to {csv_path}", flush=True)
    return results
