"""collate_batch: stacked tensors, ragged lists, counts and summed timings."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch

from ocrtop.ocr.data.collate import collate_batch


def sample(n_words: int, ignored: int, load_ms: float) -> dict[str, Any]:
    return {
        "image": torch.zeros(3, 32, 64),
        "shrink_map": torch.ones(32, 64),
        "polygons": [np.zeros((4, 2))] * n_words,
        "ignore": [True] * ignored + [False] * (n_words - ignored),
        "meta": {"filename": f"{n_words}.png", "orig_size": (32, 64), "to_original": np.eye(3)},
        "timing": {"load_ms": load_ms, "transform_ms": 1.0, "target_ms": 2.0},
    }


def test_collate_stacks_and_summarises() -> None:
    batch = collate_batch([sample(3, 1, 5.0), sample(2, 0, 7.5)])
    assert batch["image"].shape == (2, 3, 32, 64) and batch["shrink_map"].shape == (2, 32, 64)
    assert [len(p) for p in batch["polygons"]] == [3, 2]
    assert batch["ignore"] == [[True, False, False], [False, False]]
    assert [m["filename"] for m in batch["meta"]] == ["3.png", "2.png"]
    assert batch["batch_size"] == 2 and batch["num_instances"] == 4
    assert batch["timing"] == {"load_ms": 12.5, "transform_ms": 2.0, "target_ms": 4.0}


def test_collate_rejects_empty_and_mismatched_batches() -> None:
    with pytest.raises(ValueError, match="empty"):
        collate_batch([])
    other = sample(1, 0, 1.0)
    del other["shrink_map"]
    with pytest.raises(ValueError, match="sample 1"):
        collate_batch([sample(1, 0, 1.0), other])


def test_in_a_worker_the_batch_is_built_in_shared_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """No second copy when the worker sends the batch: it is already shared."""
    assert not collate_batch([sample(1, 0, 1.0)])["image"].is_shared()  # main process
    monkeypatch.setattr(
        torch.utils.data, "get_worker_info", lambda: SimpleNamespace(id=0, dataset=None)
    )
    batch = collate_batch([sample(1, 0, 1.0), sample(2, 1, 1.0)])
    assert batch["image"].is_shared() and batch["shrink_map"].is_shared()
    assert batch["image"].shape == (2, 3, 32, 64)
