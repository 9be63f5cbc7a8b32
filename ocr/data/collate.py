"""Batch assembly for the detection Dataset (see ``docs/contracts.md``)."""

from __future__ import annotations

from typing import Any

import torch

LIST_KEYS = ("polygons", "ignore", "texts", "meta")
"""Per-sample values that differ in length or type, kept as Python lists."""


def collate_batch(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, keep ragged ground truth as lists, sum per-sample timings.

    Adds ``batch_size``, ``num_instances`` (non-ignored words) and ``timing`` (sums over
    the batch, ms), which the throughput monitor reads without touching the tensors.

    Raises:
        ValueError: on an empty batch or samples whose tensor keys differ.
    """
    if not samples:
        raise ValueError("collate_batch got an empty list of samples")
    keys = set(samples[0])
    for i, sample in enumerate(samples[1:], start=1):
        if set(sample) != keys:
            raise ValueError(f"sample {i} has keys {sorted(sample)}, sample 0 has {sorted(keys)}")
    batch: dict[str, Any] = {}
    for key in samples[0]:
        if isinstance(samples[0][key], torch.Tensor):
            batch[key] = torch.stack([s[key] for s in samples])
        elif key in LIST_KEYS:
            batch[key] = [s[key] for s in samples]
    batch["batch_size"] = len(samples)
    batch["num_instances"] = sum(not flag for s in samples for flag in s.get("ignore", []))
    timing: dict[str, float] = {}
    for sample in samples:
        for name, value in sample.get("timing", {}).items():
            timing[name] = timing.get(name, 0.0) + float(value)
    batch["timing"] = timing
    return batch
