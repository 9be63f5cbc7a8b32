"""Batch introspection for dict, tensor, tuple, list and dataclass batches of any size."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ocrtop.ocr.callbacks.timing.batch_info import inspect_batch


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


@dataclass
class Pair:
    images: torch.Tensor
    labels: torch.Tensor


@dataclass
class Lone:
    tokens: torch.Tensor
    name: str = "x"


def test_known_and_corroborated_sizes_are_not_guesses() -> None:
    assert inspect_batch({"image": torch.zeros(3, 2), "batch_size": 3}).guess is None
    pair = inspect_batch((torch.zeros(9, 1), torch.zeros(9)))
    assert (pair.size, pair.guess) == (9, None)
    dc = inspect_batch(Pair(torch.zeros(5, 3, 8, 8), torch.zeros(5)))
    assert (dc.size, dc.guess) == (5, None)  # dataclass fields that agree
    assert inspect_batch({"x": torch.zeros(6, 2), "y": torch.zeros(6)}).guess is None
    assert inspect_batch(torch.zeros(4, 2), batch_size_fn=lambda b: 2).size == 2


def test_guesses_say_what_was_guessed() -> None:
    lone = inspect_batch(torch.zeros(50, 8, 16))  # could be (time, batch, features)
    assert lone.size == 50 and "only tensor" in str(lone.guess) and "(50, 8, 16)" in str(lone.guess)
    images = inspect_batch([torch.zeros(3, 32, 32) for _ in range(4)])
    assert images.size == 4 and "list of 4 tensors of shape (3, 32, 32)" in str(images.guess)
    odd = inspect_batch((torch.zeros(7, 2), torch.zeros(3)))
    assert odd.size == 7 and "disagree" in str(odd.guess)
    field = inspect_batch(Lone(torch.zeros(12, 4)))
    assert field.size == 12 and "batch.tokens" in str(field.guess)
    nothing = inspect_batch(object())
    assert nothing.size == 1 and str(nothing.guess).startswith("1:")


def test_worker_report_is_read() -> None:
    info = inspect_batch({"batch_size": 2, "worker": {"id": 1, "cache_bytes": 4096}})
    assert info.worker == (1, 4096)
    assert inspect_batch({"batch_size": 2, "worker": {"id": "a"}}).worker is None
