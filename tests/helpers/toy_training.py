"""A tiny self-contained training setup for the callback tests.

The real detector is far too slow for unit tests and would couple these tests to the
pipeline; what the callbacks need is a Lightning loop whose data and compute time the
test controls: a dataset that sleeps a known time per item and a small conv net.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ocrtop.ocr.data.sample import normalize_images


class SleepyDataset(Dataset):
    """Random images whose loading takes ``sleep_ms`` each, with worker-side timings."""

    def __init__(self, n: int = 64, size: int = 16, sleep_ms: float = 0.0) -> None:
        self.n, self.size, self.sleep_ms = n, size, sleep_ms
        self.cache_nbytes = 1234  # the dataset's own accounting, as the real one exposes

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        t0 = time.perf_counter()
        if self.sleep_ms:
            time.sleep(self.sleep_ms / 1e3)
        g = torch.Generator().manual_seed(i)
        image = torch.randn(3, self.size, self.size, generator=g)
        load_ms = (time.perf_counter() - t0) * 1e3
        return {
            "image": image,
            "words": 2,
            "timing": {"load_ms": load_ms, "transform_ms": 0.5, "target_ms": 0.25},
        }


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Like ``ocrtop.ocr.data.collate.collate_batch``: stacked images plus counts and timing
    sums."""
    timing = {k: sum(it["timing"][k] for it in items) for k in items[0]["timing"]}
    return {
        "image": torch.stack([it["image"] for it in items]),
        "batch_size": len(items),
        "num_instances": sum(it["words"] for it in items),
        "timing": timing,
    }


class ToyModule(pl.LightningModule):
    """A small conv net; ``width`` and input size set the compute time per step."""

    def __init__(self, width: int = 8, fail_at_step: int | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(width, 1),
        )
        self.fail_at_step = fail_at_step

    def _loss(self, batch: Any) -> torch.Tensor:
        images = batch["image"] if isinstance(batch, dict) else batch[0]
        # ocrtop's Dataset ships uint8 pages (the model normalises them), the toy's are float
        return self.net(normalize_images(images)).pow(2).mean()

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if self.fail_at_step is not None and self.global_step >= self.fail_at_step:
            raise RuntimeError("injected failure")
        loss = self._loss(batch)
        self.log("train/loss", loss, batch_size=len(batch["image"]))
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.log("val/loss", self._loss(batch), batch_size=len(batch["image"]))

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self.log("test/loss", self._loss(batch), batch_size=len(batch["image"]))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)


def loader(
    n: int = 64,
    batch_size: int = 4,
    sleep_ms: float = 0.0,
    size: int = 16,
    batch_sleep_ms: float = 0.0,
) -> DataLoader:
    """A single-process loader: its fetch time is exactly the data wait the loop sees.

    ``sleep_ms`` sleeps per item (in the dataset), ``batch_sleep_ms`` once per batch (in
    collate): one sleep overshoots less than several on a loaded machine.
    """

    def collate_sleepy(items: list[dict[str, Any]]) -> dict[str, Any]:
        t0 = time.perf_counter()
        if batch_sleep_ms:
            time.sleep(batch_sleep_ms / 1e3)
        batch = collate(items)
        batch["timing"]["load_ms"] += (time.perf_counter() - t0) * 1e3
        return batch

    dataset = SleepyDataset(n, size, sleep_ms)
    return DataLoader(dataset, batch_size=batch_size, collate_fn=collate_sleepy)


def make_trainer(tmp: Path, callbacks: list[pl.Callback], **kwargs: Any) -> pl.Trainer:
    """A quiet CPU trainer logging CSV under ``tmp``."""
    opts: dict[str, Any] = {
        "accelerator": "cpu",
        "devices": 1,
        "max_epochs": 1,
        "logger": CSVLogger(str(tmp), name="csv"),
        "default_root_dir": str(tmp),
        "enable_progress_bar": False,
        "enable_checkpointing": False,
        "enable_model_summary": False,
        "num_sanity_val_steps": 0,
        "log_every_n_steps": 5,
    }
    opts.update(kwargs)
    return pl.Trainer(callbacks=callbacks, **opts)
