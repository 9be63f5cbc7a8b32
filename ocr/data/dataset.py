"""The detection Dataset: page source -> transforms -> targets, timed per sample.

One class serves every architecture: the target builder (``DBTargets`` or
``CraftTargets``) is a constructor argument chosen by the architecture config, so the
targets are computed in DataLoader workers and never in the training process.

Each sample's augmentation generator is seeded from torch's RNG. PyTorch seeds every
DataLoader worker differently in every epoch (from the Lightning seed), and the main
process follows ``seed_everything``, so workers never replay each other's crops and runs
stay reproducible.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any, cast

import numpy as np
import torch
from torch.utils.data import Dataset

from ocrtop.ocr.data.canvas import TransformState
from ocrtop.ocr.data.sample import pack_map
from ocrtop.ocr.data.source import PageRecord, PageSource
from ocrtop.ocr.data.targets import CraftTargets, DBTargets
from ocrtop.ocr.data.transforms import Compose, eval_transforms
from ocrtop.ocr.geometry import apply_matrix


class TextDetectionDataset(Dataset):
    """Samples as described in ``docs/contracts.md``: uint8 image and maps (``sample.py``).

    Args:
        source: where pages come from (``CanonicalSource`` or ``SyntheticPages``).
        transform: augmentation pipeline; it must end in ``ResizePad`` so sides are
            multiples of 32. None means the deterministic eval pipeline at 640 px.
        targets: target builder; None yields images and ground truth only (predict).
        cache_images: keep decoded pages in memory after their first load. The cache
            lives in each process (every DataLoader worker fills its own);
            ``cache_nbytes`` reports this process's share.
    """

    def __init__(
        self,
        source: PageSource,
        transform: Compose | None = None,
        targets: DBTargets | CraftTargets | None = None,
        cache_images: bool = False,
    ) -> None:
        self.source = source
        self.transform = transform if transform is not None else eval_transforms()
        self.targets = targets
        self.cache_images = cache_images
        self._cache: dict[int, PageRecord] = {}
        self._cache_nbytes = 0

    def __len__(self) -> int:
        return len(self.source)

    @property
    def cache_nbytes(self) -> int:
        """Bytes held by the in-memory page cache (0 without cache)."""
        return self._cache_nbytes

    @staticmethod
    def rng() -> np.random.Generator:
        """A fresh augmentation generator drawn from torch's RNG (one per sample)."""
        return np.random.default_rng(int(torch.randint(0, 2**62, (1,)).item()))

    def _load(self, index: int) -> PageRecord:
        cached = self._cache.get(index)
        if cached is not None:
            return cached
        record = self.source.load(index)
        if self.cache_images:
            self._cache[index] = record
            self._cache_nbytes += record.nbytes
        return record

    def __getitem__(self, index: int) -> dict[str, Any]:
        start = perf_counter()
        record = self._load(index)
        loaded = perf_counter()
        state = TransformState(record.image, list(record.words), record.to_stored.copy())
        state = self.transform(state, self.rng())
        height, width = state.image.shape[:2]
        if height % 32 or width % 32:
            raise ValueError(
                f"{record.filename}: transformed image is {width}x{height}; the transform "
                "must end with ResizePad so both sides are multiples of 32"
            )
        # uint8 HWC as the transforms left it; the model normalises it on the device.
        image = torch.from_numpy(np.ascontiguousarray(state.image))
        words = state.words  # mapped here, once, through all the ops (canvas.py): transform_ms
        transformed = perf_counter()
        if getattr(self.targets, "packed_maps", False):  # DBTargets (or a timing wrapper)
            maps = cast(DBTargets, self.targets)(words, height, width, packed=True)
        elif self.targets is not None:
            maps = {k: pack_map(v) for k, v in self.targets(words, height, width).items()}
        else:
            maps = {}
        sample: dict[str, Any] = {"image": image}
        sample.update({key: torch.from_numpy(value) for key, value in maps.items()})
        done = perf_counter()
        sample["polygons"] = [apply_matrix(record.to_stored, w.points) for w in record.words]
        sample["ignore"] = [w.ignore for w in record.words]
        sample["texts"] = [w.text for w in record.words]  # CLEval counts characters
        sample["meta"] = {
            "filename": record.filename,
            "orig_size": record.orig_size,
            "to_original": state.to_original,
        }
        sample["timing"] = {
            "load_ms": (loaded - start) * 1e3,
            "transform_ms": (transformed - loaded) * 1e3,
            "target_ms": (done - transformed) * 1e3,
        }
        return sample
