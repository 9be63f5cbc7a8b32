"""Test-only pieces injected into real runs (also through Hydra overrides of runners/train.py).

``+callbacks.slow._target_=step_clock_helpers.SlowCallback`` adds a callback that sleeps
after every batch; ``data.train.source._target_=step_clock_helpers.SleepyPages`` makes the
synthetic pages sleep while loading. ``PYTHONPATH`` must include this directory.
"""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
import torch

from ocrtop.ocr.data.collate import collate_batch
from ocrtop.ocr.data.source import PageRecord
from ocrtop.ocr.data.synthetic import SyntheticPages


class SlowCallback(pl.Callback):
    """Sleeps ``sleep_ms`` in ``on_train_batch_end``: work after the batch, not data wait."""

    def __init__(self, sleep_ms: float = 30.0) -> None:
        self.sleep_ms = sleep_ms

    def on_train_batch_end(self, *args: Any, **kwargs: Any) -> None:
        time.sleep(self.sleep_ms / 1e3)


class SleepyPages(SyntheticPages):
    """Synthetic pages whose loading sleeps ``sleep_ms`` first (a slow disk)."""

    def __init__(self, *args: Any, sleep_ms: float = 0.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sleep_ms = sleep_ms

    def load(self, index: int) -> PageRecord:
        time.sleep(self.sleep_ms / 1e3)
        return super().load(index)


def collate_with_cache_reference(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """``collate_batch`` plus, in a worker, what its cache holds counted independently.

    The reference walks the worker's cache dict and adds up the arrays' own ``nbytes``
    (image and word polygons), not the dataset's running counter that the feature reports.
    """
    batch = collate_batch(samples)
    info = torch.utils.data.get_worker_info()
    if info is not None:
        cache = info.dataset._cache
        batch["reference_cache"] = (
            info.id,
            sum(r.image.nbytes + sum(w.points.nbytes for w in r.words) for r in cache.values()),
        )
    return batch
