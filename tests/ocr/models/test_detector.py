"""Each architecture: output shapes/stride, eval behaviour, forward+backward, Hydra wiring."""

from __future__ import annotations

from functools import partial

import pytest
import torch
from hydra.utils import instantiate

from ocrtop.ocr.losses import CraftLoss, DBLoss
from ocrtop.ocr.models import FPN, CraftHead, DBHead, Detector, TimmBackbone, UNetDecoder

H, W = 64, 96


def dbnet(fusion: str = "concat") -> Detector:
    return Detector(
        TimmBackbone("mobilenetv3_small_100"),
        partial(FPN, inner_channels=32, fusion=fusion),
        partial(DBHead),
    )


def craft(name: str = "mobilenetv3_small_100") -> Detector:
    return Detector(
        TimmBackbone(name, out_strides=(2, 4, 8, 16, 32)), partial(UNetDecoder), partial(CraftHead)
    )


@pytest.mark.parametrize("fusion", ["concat", "asf"])
def test_db_models_emit_stride_1_maps_at_input_resolution(fusion: str) -> None:
    out = dbnet(fusion)(torch.randn(2, 3, H, W))
    assert out.stride == 1
    for m in (out.prob_map, out.thresh_map, out.binary_map):
        assert m is not None and m.shape == (2, 1, H, W)
    assert out.region_map is None and out.affinity_map is None
    assert out.prob_map is not None and out.thresh_map is not None
    expected = torch.sigmoid(50 * (out.prob_map - out.thresh_map))
    assert torch.allclose(out.binary_map, expected)


def test_db_head_can_skip_threshold_in_eval() -> None:
    model = Detector(
        TimmBackbone("mobilenetv3_small_100"),
        partial(FPN, inner_channels=32),
        partial(DBHead, thresh_in_eval=False),
    ).eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, H, W))
    assert out.prob_map is not None and out.thresh_map is None and out.binary_map is None


@pytest.mark.parametrize("name", ["mobilenetv3_small_100", "vgg16_bn"])
def test_craft_emits_half_resolution_maps(name: str) -> None:
    with torch.no_grad():
        out = craft(name).eval()(torch.randn(1, 3, H, W))
    assert out.stride == 2
    assert out.region_map is not None and out.region_map.shape == (1, 1, H // 2, W // 2)
    assert out.affinity_map is not None and out.affinity_map.shape == (1, 1, H // 2, W // 2)
    assert out.prob_map is None


def test_craft_head_upsample_reaches_stride_2_from_a_stride_4_decoder() -> None:
    model = Detector(
        TimmBackbone("mobilenetv3_small_100", out_strides=(4, 8, 16, 32)),
        partial(UNetDecoder),
        partial(CraftHead, upsample=2),
    )
    assert model(torch.randn(1, 3, H, W)).stride == 2


def _db_batch(n: int) -> dict[str, torch.Tensor]:
    shrink = torch.zeros(n, H, W)
    shrink[:, 20:30, 10:60] = 1
    thresh = torch.full((n, H, W), 0.3)
    thresh_mask = torch.zeros(n, H, W)
    thresh_mask[:, 15:35, 5:65] = 1
    return {
        "shrink_map": shrink,
        "shrink_mask": torch.ones(n, H, W),
        "thresh_map": thresh,
        "thresh_mask": thresh_mask,
    }


def _craft_batch(n: int) -> dict[str, torch.Tensor]:
    region = torch.zeros(n, H // 2, W // 2)
    region[:, 10:14, 5:25] = 0.8
    return {
        "region_map": region,
        "affinity_map": region * 0.5,
        "craft_mask": torch.ones(n, H // 2, W // 2),
    }


@pytest.mark.parametrize("arch", ["dbnet", "dbnetpp", "craft"])
def test_each_architecture_runs_forward_and_backward(arch: str) -> None:
    torch.manual_seed(0)
    if arch == "craft":
        model, loss_fn, batch = craft(), CraftLoss(), _craft_batch(2)
    else:
        model = dbnet("asf" if arch == "dbnetpp" else "concat")
        loss_fn, batch = DBLoss(), _db_batch(2)
    losses = loss_fn(model(torch.randn(2, 3, H, W)), batch)
    losses["loss"].backward()
    assert torch.isfinite(losses["loss"])
    grads = [p.grad for p in model.backbone.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)  # the loss reaches the backbone


def test_hydra_config_shape_builds_dbnetpp() -> None:
    cfg = {
        "_target_": "ocrtop.ocr.models.Detector",
        "backbone": {
            "_target_": "ocrtop.ocr.models.TimmBackbone",
            "name": "mobilenetv3_small_100",
            "out_strides": [4, 8, 16, 32],
        },
        "neck": {"_target_": "ocrtop.ocr.models.necks.FPN", "_partial_": True, "fusion": "asf"},
        "head": {"_target_": "ocrtop.ocr.models.heads.DBHead", "_partial_": True},
    }
    model = instantiate(cfg).eval()
    assert isinstance(model.neck, FPN) and model.neck.asf is not None
    with torch.no_grad():
        assert model(torch.randn(1, 3, 64, 64)).prob_map.shape == (1, 1, 64, 64)


def test_backbone_errors_name_the_config_key_and_the_choices() -> None:
    with pytest.raises(ValueError, match=r"out_strides.*offers strides \[2, 4, 8, 16, 32\]"):
        TimmBackbone("resnet18", out_strides=(4, 64))
    with pytest.raises(ValueError, match=r"backbone\.name='no_such_net'"):
        TimmBackbone("no_such_net")


def test_backbone_selects_levels_by_stride() -> None:
    bb = TimmBackbone("resnet18", out_strides=(8, 32))
    feats = bb(torch.randn(1, 3, 64, 64))
    assert [f.shape[-1] for f in feats] == [8, 2]
    assert bb.out_channels == [128, 512]
