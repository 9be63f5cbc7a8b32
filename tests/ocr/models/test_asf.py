"""ASF neck (DBNet++): output shapes, attention normalisation, and that weights are applied."""

from __future__ import annotations

import pytest
import torch

from ocrtop.ocr.models.necks import FPN, AdaptiveScaleFusion, ScaleChannelSpatialAttention

CHANNELS = [8, 16, 24, 32]


def _pyramid(n: int = 2, h: int = 32, w: int = 48) -> list[torch.Tensor]:
    return [torch.randn(n, c, h // 2**i, w // 2**i) for i, c in enumerate(CHANNELS)]


@pytest.mark.parametrize("normalisation", ["sigmoid", "softmax"])
def test_fpn_asf_output_shape_and_weight_maps(normalisation: str) -> None:
    torch.manual_seed(0)
    neck = FPN(CHANNELS, inner_channels=32, fusion="asf", asf_normalisation=normalisation)
    feats = _pyramid()
    out = neck(feats)
    assert out.shape == (2, 32, 32, 48)
    assert neck.out_channels == 32
    assert neck.asf is not None
    weights = neck.asf.weights(neck.levels(feats))
    assert weights.shape == (2, len(CHANNELS), 32, 48)  # one weight map per level


def test_softmax_weights_sum_to_one_across_levels() -> None:
    torch.manual_seed(0)
    attn = ScaleChannelSpatialAttention(16, num_levels=4, normalisation="softmax")
    w = attn(torch.randn(3, 16, 10, 12) * 5)
    assert torch.allclose(w.sum(dim=1), torch.ones(3, 10, 12), atol=1e-5)
    assert (w > 0).all()


def test_sigmoid_weights_are_independent_gates_in_unit_interval() -> None:
    torch.manual_seed(0)
    attn = ScaleChannelSpatialAttention(16, num_levels=4, normalisation="sigmoid")
    w = attn(torch.randn(3, 16, 10, 12) * 5)
    assert ((w > 0) & (w < 1)).all()
    # Independent gates do not sum to one (that is what distinguishes them from softmax).
    assert not torch.allclose(w.sum(dim=1), torch.ones(3, 10, 12), atol=1e-2)


def test_asf_multiplies_each_level_by_its_own_map() -> None:
    torch.manual_seed(0)
    asf = AdaptiveScaleFusion(level_channels=4, num_levels=3).eval()
    levels = [torch.randn(1, 4, 8, 8) for _ in range(3)]
    w = asf.weights(levels)
    expected = torch.cat([w[:, i : i + 1] * lvl for i, lvl in enumerate(levels)], dim=1)
    assert torch.allclose(asf(levels), expected)


def test_concat_fusion_has_no_attention_and_same_shape() -> None:
    neck = FPN(CHANNELS, inner_channels=32, fusion="concat")
    assert neck.asf is None
    assert neck(_pyramid()).shape == (2, 32, 32, 48)


def test_bad_options_are_reported_by_config_key() -> None:
    with pytest.raises(ValueError, match="asf_normalisation"):
        ScaleChannelSpatialAttention(8, 2, normalisation="relu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="inner_channels"):
        FPN(CHANNELS, inner_channels=30)
    with pytest.raises(ValueError, match="fusion"):
        FPN(CHANNELS, fusion="sum")  # type: ignore[arg-type]
