"""CRAFT loss: 3:1 hard-negative mining computed by hand, masks, empty images, keys."""

from __future__ import annotations

import pytest
import torch

from ocrtop.ocr.losses import CraftLoss, ohem_mse
from ocrtop.ocr.types import DetectionOutput


def _one_image() -> tuple[torch.Tensor, torch.Tensor]:
    gt = torch.zeros(1, 4, 5)
    gt[0, 0, 0] = gt[0, 0, 1] = 1.0  # two positive pixels
    pred = torch.zeros(1, 4, 5)
    pred[0, 0, 0] = pred[0, 0, 1] = 0.5  # error 0.25 each
    negatives = torch.linspace(0.9, 0.05, 18)  # distinct errors, hardest first
    pred.view(1, -1)[0, 2:] = negatives
    return pred, gt


def test_ohem_keeps_positives_and_three_times_as_many_hardest_negatives() -> None:
    pred, gt = _one_image()
    neg_err = torch.linspace(0.9, 0.05, 18) ** 2
    mask = torch.ones_like(gt)
    expected = (0.25 + 0.25 + neg_err[:6].sum()) / 8
    assert torch.isclose(ohem_mse(pred, gt, mask, ratio=3.0), expected)
    expected_1 = (0.5 + neg_err[:2].sum()) / 4
    assert torch.isclose(ohem_mse(pred, gt, mask, ratio=1.0), expected_1)


def test_ohem_skips_masked_pixels() -> None:
    pred, gt = _one_image()
    mask = torch.ones_like(gt)
    mask.view(-1)[2] = 0  # the hardest negative is don't-care
    neg_err = torch.linspace(0.9, 0.05, 18) ** 2
    expected = (0.5 + neg_err[1:7].sum()) / 8
    assert torch.isclose(ohem_mse(pred, gt, mask), expected)


def test_images_are_mined_separately_then_averaged() -> None:
    pred, gt = _one_image()
    empty_pred = torch.zeros(1, 4, 5)
    empty_pred[0, 3, 4] = 0.6
    pred2, gt2 = torch.cat([pred, empty_pred]), torch.cat([gt, torch.zeros(1, 4, 5)])
    mask = torch.ones_like(gt2)
    first = ohem_mse(pred, gt, mask[:1])
    # Without text the image keeps its `empty_negatives` worst pixels: here 0.36 and 4 zeros.
    second = torch.tensor(0.36 / 5)
    got = ohem_mse(pred2, gt2, mask, empty_negatives=5)
    assert torch.isclose(got, (first + second) / 2)


def test_craft_loss_keys_total_and_half_resolution_check() -> None:
    torch.manual_seed(0)
    region, affinity = torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8)
    out = DetectionOutput(region_map=region, affinity_map=affinity, stride=2)
    batch = {
        "region_map": (torch.rand(2, 8, 8) > 0.7).float(),
        "affinity_map": (torch.rand(2, 8, 8) > 0.8).float(),
        "craft_mask": torch.ones(2, 8, 8),
    }
    parts = CraftLoss(region_weight=1.0, affinity_weight=2.0)(out, batch)
    assert set(parts) == {"loss", "loss_region", "loss_affinity"}
    assert torch.isclose(parts["loss"], parts["loss_region"] + 2 * parts["loss_affinity"])
    zero = CraftLoss()(
        DetectionOutput(
            region_map=batch["region_map"][:, None], affinity_map=batch["affinity_map"][:, None]
        ),
        batch,
    )
    assert zero["loss"] == 0
    batch["region_map"] = torch.zeros(2, 16, 16)
    with pytest.raises(ValueError, match="half the input resolution"):
        CraftLoss()(out, batch)


def test_uint8_heatmaps_from_the_workers_give_the_float_loss() -> None:
    """Heatmaps ship as round(255 v) (ocr/data/sample.py); the loss reads them as v."""
    gen = torch.Generator().manual_seed(4)
    out = DetectionOutput(
        region_map=torch.rand(2, 1, 8, 8, generator=gen),
        affinity_map=torch.rand(2, 1, 8, 8, generator=gen),
        stride=2,
    )
    batch = {
        "region_map": torch.rand(2, 8, 8, generator=gen),
        "affinity_map": torch.rand(2, 8, 8, generator=gen),
        "craft_mask": (torch.rand(2, 8, 8, generator=gen) > 0.2).float(),
    }
    packed = {k: (v * 255).round().to(torch.uint8) for k, v in batch.items()}
    floats, uint8s = CraftLoss()(out, batch), CraftLoss()(out, packed)
    torch.testing.assert_close(uint8s["loss"], floats["loss"], atol=2e-3, rtol=0)
