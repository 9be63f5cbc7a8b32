"""Batch assembly for the detection Dataset (see ``docs/contracts.md``)."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils.data import default_collate

LIST_KEYS = ("polygons", "ignore", "texts", "meta")
"""Per-sample values that differ in length or type, kept as Python lists."""


def collate_batch(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Stack tensors, keep ragged ground truth as lists, sum per-sample timings.

    Adds ``batch_size``, ``num_instances`` (non-ignored words), ``timing`` (sums over
    the batch, ms) and, in a DataLoader worker, ``worker`` (its id and dataset cache
    bytes), which the throughput monitor reads without touching the tensors.

    Tensors are stacked by ``default_collate``, which in a DataLoader worker writes the
    batch straight into shared memory: the batch then reaches the training process by
    handle. A plain ``torch.stack`` would be copied into shared memory a second time when
    the worker sends it (measured: ~30 ms more worker CPU per 8 x 640 px DB batch).

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
            batch[key] = default_collate([s[key] for s in samples])
        elif key in LIST_KEYS:
            batch[key] = [s[key] for s in samples]
    batch["batch_size"] = len(samples)
    batch["num_instances"] = sum(not flag for s in samples for flag in s.get("ignore", []))
    timing: dict[str, float] = {}
    for sample in samples:
        for name, value in sample.get("timing", {}).items():
            timing[name] = timing.get(name, 0.0) + float(value)
    batch["timing"] = timing
    worker = worker_report()
    if worker is not None:
        batch["worker"] = worker
    return batch


def worker_report() -> dict[str, int] | None:
    """``{"id", "cache_bytes"}`` of the DataLoader worker running this collate, else None.

    Each worker holds its own copy of the dataset and fills its own page cache, which the
    training process cannot see; reporting it with every batch lets the throughput
    monitor sum the workers' latest figures (``perf/dataset_cache_bytes``).
    """
    info = torch.utils.data.get_worker_info()
    if info is None:
        return None
    cache = getattr(info.dataset, "cache_nbytes", None)
    if not isinstance(cache, int):
        return None
    return {"id": int(info.id), "cache_bytes": cache}
