"""OHEM's two paths (topk on the CPU, sort without a host sync elsewhere) agree exactly."""

from __future__ import annotations

import pytest
import torch

from ocrtop.ocr.losses import ohem


def brute_force(loss, positive, negative, ratio, empty_negatives):
    """Per row: positives' sum + the k largest negative losses, by a Python sort."""
    out = []
    for lo, po, ne in zip(loss, positive, negative, strict=True):
        n_pos = int(po.sum())
        n_neg = int(ne.sum())
        k = min(int(n_pos * ratio) if n_pos else empty_negatives, n_neg)
        negs = sorted(lo[ne.bool()].tolist(), reverse=True)[:k]
        kept = n_pos + k
        out.append((float((lo * po).sum()) + sum(negs)) / max(kept, 1))
    return torch.tensor(out)


@pytest.mark.parametrize("rows", [1, 3])
def test_sort_path_matches_topk_path_and_a_brute_force(
    rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = torch.Generator().manual_seed(rows)
    loss = torch.rand(rows, 4096, generator=g)
    positive = (torch.rand(rows, 4096, generator=g) < 0.03).float()
    positive[-1] = 0  # a row without positives keeps its worst empty_negatives pixels
    negative = 1 - positive
    topk = ohem.ohem_mean(loss, positive, negative, 3.0, 50)
    monkeypatch.setattr(ohem, "sync_free", lambda t: True)
    sort = ohem.ohem_mean(loss, positive, negative, 3.0, 50)
    assert torch.equal(topk, sort)
    torch.testing.assert_close(sort, brute_force(loss, positive, negative, 3.0, 50))


def test_the_sync_free_path_reads_nothing_back_to_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ohem, "sync_free", lambda t: True)

    def no_item(self: torch.Tensor) -> None:
        raise AssertionError("Tensor.item() on the sync-free path")

    monkeypatch.setattr(torch.Tensor, "item", no_item)
    loss = torch.rand(2, 256)
    positive = (torch.rand(2, 256) < 0.1).float()
    assert ohem.ohem_mean(loss, positive, 1 - positive, 3.0, 10).shape == (2,)
