"""Batch introspection for dict, tensor and tuple batches of any size."""

from __future__ import annotations

import torch

from ocr.callbacks.batch_info import inspect_batch
from ocr.callbacks.stats import median, percentile


def test_pipeline_dict_batch() -> None:
    batch = {
        "image": torch.zeros(3, 3, 8, 8),
        "batch_size": 3,
        "num_instances": 7,
        "timing": {"load_ms": 4.0, "transform_ms": 2.0, "target_ms": 1.0, "other": "x"},
    }
    info = inspect_batch(batch)
    assert (info.size, info.instances) == (3, 7)
    assert info.timing == {"load_ms": 4.0, "transform_ms": 2.0, "target_ms": 1.0}


def test_dict_without_counts_uses_image_or_any_tensor() -> None:
    assert inspect_batch({"image": torch.zeros(5, 3, 4, 4)}).size == 5
    info = inspect_batch({"x": torch.zeros(6, 2), "meta": ["a"]})
    assert (info.size, info.instances, info.timing) == (6, None, None)


def test_tensor_tuple_and_unknown() -> None:
    assert inspect_batch(torch.zeros(2, 3)).size == 2
    assert inspect_batch((torch.zeros(9, 1), torch.zeros(9))).size == 9
    assert inspect_batch([1, 2]).size == 1
    assert inspect_batch(object()).size == 1


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert percentile(list(range(101)), 95) == 95.0
    assert median([3.0, 1.0, 2.0]) == 2.0
