"""The compact sample contract: uint8 maps and pages out of the workers, float32 on the device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ocrtop.ocr.data.sample import MAP_LEVELS, normalize_images, pack_map, target_map

MEAN = np.array([0.485, 0.456, 0.406]) * 255
STD = np.array([0.229, 0.224, 0.225]) * 255


def test_normalize_images_matches_the_float_formula_and_makes_nchw() -> None:
    pages = np.random.default_rng(1).integers(0, 256, (2, 33, 47, 3), dtype=np.uint8)
    expected = ((pages - MEAN) / STD).transpose(0, 3, 1, 2)
    out = normalize_images(torch.from_numpy(pages))
    assert out.shape == (2, 3, 33, 47) and out.dtype == torch.float32 and out.is_contiguous()
    np.testing.assert_allclose(out.numpy(), expected, atol=1e-5)
    nhwc = normalize_images(torch.from_numpy(pages), channels_last=True)
    assert nhwc.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(nhwc, out)


def test_normalize_images_passes_float_batches_and_rejects_other_uint8_shapes() -> None:
    ready = torch.randn(1, 3, 8, 8)
    assert normalize_images(ready) is ready
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        normalize_images(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))


def test_pack_map_rounds_to_1_over_255_and_masks_stay_exact() -> None:
    values = np.random.default_rng(2).uniform(0.3, 0.7, (40, 50)).astype(np.float32)
    values[0, :3] = [0.0, 1.0, 0.5]
    packed = pack_map(values)
    assert packed.dtype == np.uint8 and packed.shape == values.shape
    np.testing.assert_array_equal(packed, np.round(values * 255).astype(np.uint8))
    back = target_map({"m": torch.from_numpy(packed)}, "m", torch.zeros(1))
    assert back.dtype == torch.float32
    assert float((back - torch.from_numpy(values)).abs().max()) <= 0.5 / MAP_LEVELS + 1e-7
    assert back[0, 0] == 0.0 and back[0, 1] == 1.0  # 0/1 masks come back exactly
    with pytest.raises(ValueError, match="float32"):
        pack_map(values.astype(np.float64))


def test_target_map_takes_float_maps_as_they_are() -> None:
    values = torch.rand(4, 5)
    torch.testing.assert_close(target_map({"m": values}, "m", torch.zeros(1)), values)
