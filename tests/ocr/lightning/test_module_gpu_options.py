"""The GPU-path switches of DetectionModule: channels_last and torch.compile (CPU-checkable)."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn

from ocrtop.ocr.lightning.module import DetectionModule


def module(net: nn.Module, **kwargs) -> DetectionModule:
    return DetectionModule(
        net=net,
        loss=nn.Identity(),
        postprocess=lambda output, metas: [[] for _ in metas],
        optimizer=functools.partial(torch.optim.SGD, lr=0.1),
        **kwargs,
    )


def conv_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())


def test_channels_last_changes_the_layout_not_the_numbers() -> None:
    plain, nhwc = module(conv_net()), module(conv_net(), channels_last=True)
    plain.configure_model()
    nhwc.configure_model()
    weight = nhwc.net[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not plain.net[0].weight.is_contiguous(memory_format=torch.channels_last)
    batch = {"image": torch.randn(2, 3, 16, 16)}
    images = nhwc._images(batch)
    assert images.is_contiguous(memory_format=torch.channels_last)
    assert plain._images(batch) is batch["image"]  # off: untouched
    plain.eval(), nhwc.eval()
    torch.testing.assert_close(nhwc.net(images), plain.net(batch["image"]))


def test_compile_is_off_by_default_and_compiles_in_place_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict] = []
    monkeypatch.setattr(nn.Module, "compile", lambda self, **kw: calls.append(kw))
    module(conv_net()).configure_model()
    assert calls == []
    m = module(conv_net(), compile={"mode": "max-autotune"})
    keys = set(m.state_dict())
    m.configure_model()
    m.configure_model()  # Lightning may call it again (fit, then test)
    assert calls == [{"mode": "max-autotune"}]
    assert set(m.state_dict()) == keys  # in place: checkpoint keys unchanged
    module(conv_net(), compile=True).configure_model()
    assert calls[-1] == {}
    with pytest.raises(TypeError, match=r"model\.compile"):
        module(conv_net(), compile="yes")


@pytest.mark.parametrize("channels_last", [False, True])
def test_the_input_step_normalises_the_datasets_uint8_pages(channels_last: bool) -> None:
    """The Dataset ships uint8 (N, H, W, 3); steps and forward see ImageNet-normalised NCHW."""
    m = module(conv_net(), channels_last=channels_last)
    m.configure_model()
    m.eval()
    pages = torch.randint(0, 256, (2, 16, 24, 3), dtype=torch.uint8)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    expected = (pages.permute(0, 3, 1, 2).float() - mean) / std
    images = m._images({"image": pages})
    assert images.shape == (2, 3, 16, 24) and images.dtype == torch.float32
    assert images.is_contiguous(memory_format=torch.channels_last) == channels_last
    torch.testing.assert_close(images, expected)
    torch.testing.assert_close(m(pages), m.net(expected))
