"""Weights from files: timm state dicts into backbones, ocrtop checkpoints via init_from."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

from ocrtop.ocr.models import TimmBackbone
from ocrtop.ocr.models.weights import init_from_checkpoint

NAME = "mobilenetv3_small_100"


def _timm_file(tmp_path: Path, suffix: str, name: str = NAME) -> tuple[Path, dict]:
    """A full timm model's state dict (classifier included), as a user would download it."""
    torch.manual_seed(0)
    state = timm.create_model(name, pretrained=False).state_dict()
    path = tmp_path / f"{name}{suffix}"
    if suffix == ".safetensors":
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save({"state_dict": state} if suffix == ".pt" else state, path)
    return path, state


@pytest.mark.parametrize("suffix", [".pth", ".safetensors", ".pt"])
def test_backbone_loads_a_timm_state_dict(tmp_path: Path, suffix: str) -> None:
    path, state = _timm_file(tmp_path, suffix)
    loaded = TimmBackbone(NAME, weights=str(path))
    fresh = TimmBackbone(NAME)
    own = loaded.body.state_dict()
    assert set(own) < set(state)  # the classifier in the file was tolerated, not loaded
    for key, value in own.items():
        assert torch.equal(value, state[key]), key
    differ = [k for k, v in fresh.body.state_dict().items() if v.is_floating_point()]
    assert any(not torch.equal(fresh.body.state_dict()[k], own[k]) for k in differ)


def test_wrong_file_lists_missing_and_unexpected_keys(tmp_path: Path) -> None:
    path, _ = _timm_file(tmp_path, ".pth", name="resnet18")
    with pytest.raises(ValueError, match=r"model\.net\.backbone\.weights=") as info:
        TimmBackbone(NAME, weights=str(path))
    message = str(info.value)
    assert "missing keys (" in message and "blocks.0.0.bn1.weight" in message
    assert "unexpected keys (" in message and "fc.weight" in message
    assert "more)" in message  # long lists are cut, with the count
    with pytest.raises(FileNotFoundError, match=r"nope\.pth"):
        TimmBackbone(NAME, weights=str(tmp_path / "nope.pth"))


def test_init_from_copies_model_weights_only(tmp_path: Path) -> None:
    source, target = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ckpt = tmp_path / "run.ckpt"
    torch.save({"state_dict": source.state_dict(), "epoch": 7, "optimizer_states": [{}]}, ckpt)
    init_from_checkpoint(target, ckpt)
    assert torch.equal(target.weight, source.weight)
    torch.save({"state_dict": {"weight": source.weight}}, ckpt)
    with pytest.raises(ValueError, match=r"init_from=.*missing keys \(1\): bias"):
        init_from_checkpoint(target, ckpt)
    torch.save(source.state_dict(), ckpt)
    with pytest.raises(ValueError, match="not an ocrtop checkpoint"):
        init_from_checkpoint(target, ckpt)
