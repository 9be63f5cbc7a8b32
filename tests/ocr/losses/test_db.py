"""DB loss: hand-computed OHEM, weights, empty images, and that it trains a toy target."""

from __future__ import annotations

from functools import partial

import pytest
import torch
import torch.nn.functional as F

from ocrtop.ocr.data.sample import DB_FLAG_BITS, DB_FLAGS
from ocrtop.ocr.losses import DBLoss, balanced_bce, dice_loss
from ocrtop.ocr.models import FPN, DBHead, Detector, TimmBackbone
from ocrtop.ocr.types import DetectionOutput


def _output(prob: torch.Tensor, thresh: torch.Tensor | None = None) -> DetectionOutput:
    p = prob.unsqueeze(1)
    if thresh is None:
        return DetectionOutput(prob_map=p)
    t = thresh.unsqueeze(1)
    return DetectionOutput(prob_map=p, thresh_map=t, binary_map=torch.sigmoid(50 * (p - t)))


def _empty_batch(n: int = 2, h: int = 16, w: int = 16) -> dict[str, torch.Tensor]:
    return {
        "shrink_map": torch.zeros(n, h, w),
        "shrink_mask": torch.ones(n, h, w),
        "thresh_map": torch.zeros(n, h, w),
        "thresh_mask": torch.zeros(n, h, w),
    }


def test_balanced_bce_keeps_all_positives_and_3x_hardest_negatives() -> None:
    gt = torch.tensor([1.0, 1.0] + [0.0] * 10)
    pred = torch.tensor([0.8, 0.6, 0.9, 0.7, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.02, 0.01])
    mask = torch.ones_like(gt)
    bce = F.binary_cross_entropy(pred, gt, reduction="none")
    expected = (bce[:2].sum() + bce[2:8].sum()) / 8  # 2 positives + the 6 hardest negatives
    assert torch.isclose(balanced_bce(pred, gt, mask, ratio=3.0), expected, atol=1e-6)
    expected_1 = (bce[:2].sum() + bce[2:4].sum()) / 4
    assert torch.isclose(balanced_bce(pred, gt, mask, ratio=1.0), expected_1, atol=1e-6)


def test_balanced_bce_ignores_masked_pixels() -> None:
    gt = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.0])
    pred = torch.tensor([0.9, 0.99, 0.1, 0.1, 0.1])
    mask = torch.tensor([1.0, 0.0, 1.0, 1.0, 1.0])  # the confidently wrong pixel is don't-care
    bce = F.binary_cross_entropy(pred, gt, reduction="none")
    assert torch.isclose(balanced_bce(pred, gt, mask), (bce[0] + bce[2:].sum()) / 4, atol=1e-6)


def test_empty_batch_loss_is_finite_and_punishes_false_text() -> None:
    loss = DBLoss()
    batch = _empty_batch()
    quiet = loss(_output(torch.full((2, 16, 16), 0.01), torch.full((2, 16, 16), 0.3)), batch)
    prob = torch.full((2, 16, 16), 0.01)
    prob[:, 4:8, 4:8] = 0.9  # a false detection on an image without text
    logits = torch.logit(prob).requires_grad_(True)
    noisy = loss(_output(torch.sigmoid(logits), torch.full((2, 16, 16), 0.3)), batch)
    for value in (*quiet.values(), *noisy.values()):
        assert torch.isfinite(value)
    assert quiet["loss"] < 0.1
    assert noisy["loss_prob"] > 10 * quiet["loss_prob"]
    assert noisy["loss_binary"] > 10 * quiet["loss_binary"]
    assert quiet["loss_thresh"] == 0  # no threshold band without text
    noisy["loss"].backward()
    assert logits.grad is not None
    assert (logits.grad[:, 4:8, 4:8] > 0).all()  # gradient descent lowers the false blob


def test_dice_is_smoothed_so_empty_targets_are_not_a_constant() -> None:
    gt = torch.zeros(8, 8)
    mask = torch.ones(8, 8)
    assert dice_loss(torch.zeros(8, 8), gt, mask) == 0
    assert dice_loss(torch.ones(8, 8), gt, mask) > 0.9


def test_total_is_the_weighted_sum_and_weights_are_configurable() -> None:
    torch.manual_seed(0)
    batch = _empty_batch()
    batch["shrink_map"][:, 4:8, 2:12] = 1
    batch["thresh_mask"][:, 2:10, 0:14] = 1
    batch["thresh_map"][:, 2:10, 0:14] = 0.5
    out = _output(torch.rand(2, 16, 16), torch.rand(2, 16, 16))
    parts = DBLoss()(out, batch)
    assert set(parts) == {"loss", "loss_prob", "loss_binary", "loss_thresh"}
    expected = 5 * parts["loss_prob"] + 1 * parts["loss_binary"] + 10 * parts["loss_thresh"]
    assert torch.isclose(parts["loss"], expected)
    custom = DBLoss(prob_weight=1.0, binary_weight=2.0, thresh_weight=3.0)(out, batch)
    expected = parts["loss_prob"] + 2 * parts["loss_binary"] + 3 * parts["loss_thresh"]
    assert torch.isclose(custom["loss"], expected)


def test_output_without_threshold_maps_reports_only_the_prob_term() -> None:
    parts = DBLoss()(_output(torch.rand(2, 16, 16)), _empty_batch())
    assert set(parts) == {"loss", "loss_prob"}
    assert torch.isclose(parts["loss"], 5 * parts["loss_prob"])


def test_missing_and_misshaped_targets_are_named() -> None:
    batch = _empty_batch()
    del batch["thresh_map"]
    with pytest.raises(KeyError, match="thresh_map"):
        DBLoss()(_output(torch.rand(2, 16, 16), torch.rand(2, 16, 16)), batch)
    with pytest.raises(ValueError, match=r"shrink_map.*\(2, 8, 8\)"):
        DBLoss()(_output(torch.rand(2, 16, 16)), _empty_batch(h=8, w=8))


def test_loss_decreases_when_training_a_detector_on_a_toy_target() -> None:
    torch.manual_seed(0)
    model = Detector(
        TimmBackbone("mobilenetv3_small_100"), partial(FPN, inner_channels=32), partial(DBHead)
    )
    images = torch.randn(2, 3, 64, 64)
    batch = _empty_batch(2, 64, 64)
    batch["shrink_map"][:, 24:36, 8:56] = 1
    batch["thresh_mask"][:, 18:42, 2:62] = 1
    batch["thresh_map"][:, 18:42, 2:62] = 0.5
    loss_fn = DBLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    history: list[dict[str, float]] = []
    for _ in range(12):
        opt.zero_grad()
        parts = loss_fn(model(images), batch)
        parts["loss"].backward()
        opt.step()
        history.append({k: float(v.detach()) for k, v in parts.items()})
    first, last = history[0], history[-1]
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in history)
    assert last["loss"] < 0.75 * first["loss"]
    for key in ("loss_prob", "loss_binary", "loss_thresh"):
        assert last[key] < first[key], key


def test_uint8_maps_from_the_workers_give_the_float_loss() -> None:
    """The workers ship maps as round(255 v) (ocr/data/sample.py); the loss reads them back."""
    gen = torch.Generator().manual_seed(3)
    batch = {
        "shrink_map": (torch.rand(2, 16, 16, generator=gen) > 0.7).float(),
        "shrink_mask": (torch.rand(2, 16, 16, generator=gen) > 0.1).float(),
        "thresh_map": 0.3 + 0.4 * torch.rand(2, 16, 16, generator=gen),
        "thresh_mask": (torch.rand(2, 16, 16, generator=gen) > 0.5).float(),
    }
    packed = {k: (v * 255).round().to(torch.uint8) for k, v in batch.items()}
    out = _output(torch.rand(2, 16, 16, generator=gen), 0.3 + 0.4 * torch.rand(2, 16, 16))
    floats, uint8s = DBLoss()(out, batch), DBLoss()(out, packed)
    for key in ("loss_prob", "loss_binary"):  # binary maps: exact
        torch.testing.assert_close(uint8s[key], floats[key])
    assert abs(float(uint8s["loss_thresh"] - floats["loss_thresh"])) <= 0.5 / 255


def test_db_flags_bits_give_the_loss_of_the_separate_binary_maps() -> None:
    """The contract's ``db_flags`` (three binary maps as bits) and ``thresh_map``: every
    loss term equals the one on the four separate uint8 maps, exactly."""
    gen = torch.Generator().manual_seed(4)
    binary = {
        key: (torch.rand(2, 16, 16, generator=gen) > cut).to(torch.uint8)
        for key, cut in (("shrink_map", 0.7), ("shrink_mask", 0.1), ("thresh_mask", 0.5))
    }
    thresh = (76 + 100 * torch.rand(2, 16, 16, generator=gen)).to(torch.uint8)
    separate = {k: v * 255 for k, v in binary.items()} | {"thresh_map": thresh}
    bits = sum(v * DB_FLAG_BITS[k] for k, v in binary.items())
    flags = {DB_FLAGS: bits.to(torch.uint8), "thresh_map": thresh}
    out = _output(torch.rand(2, 16, 16, generator=gen), 0.3 + 0.4 * torch.rand(2, 16, 16))
    want, got = DBLoss()(out, separate), DBLoss()(out, flags)
    assert set(got) == {"loss", "loss_prob", "loss_binary", "loss_thresh"}
    for key, value in want.items():
        assert torch.equal(got[key], value), key
    del flags[DB_FLAGS]
    with pytest.raises(KeyError, match="shrink_map"):
        DBLoss()(out, flags)
