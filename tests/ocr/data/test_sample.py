"""The compact sample contract: uint8 maps and pages out of the workers, float32 on the device."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ocrtop.ocr.data.sample import (
    DB_FLAG_BITS,
    DB_FLAGS,
    MAP_LEVELS,
    normalize_images,
    pack_map,
    stored_key,
    target_map,
)

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


def test_target_map_reads_each_db_flags_bit_as_its_binary_map() -> None:
    """Every combination of the three bits: each key comes back as exactly its own bit,
    0.0 or 1.0 in float32, whatever the other bits hold; the others' maps are untouched."""
    flags = torch.arange(8, dtype=torch.uint8).repeat(2, 3, 1)  # (2, 3, 8): values 0..7
    batch = {DB_FLAGS: flags, "thresh_map": torch.full((2, 3, 8), 51, dtype=torch.uint8)}
    like = torch.zeros(2, 3, 8)
    for key, bit in DB_FLAG_BITS.items():
        got = target_map(batch, key, like)
        assert got.dtype == torch.float32 and got.shape == like.shape, key
        want = torch.tensor([float(v & bit != 0) for v in range(8)]).repeat(2, 3, 1)
        assert torch.equal(got, want), key
    assert torch.equal(target_map(batch, "thresh_map", like), torch.full((2, 3, 8), 0.2))
    assert torch.equal(batch[DB_FLAGS], torch.arange(8, dtype=torch.uint8).repeat(2, 3, 1))
    assert sorted(DB_FLAG_BITS.values()) == [1, 2, 4]  # one bit each


def test_target_map_prefers_a_map_of_its_own_and_names_a_missing_one() -> None:
    own = torch.ones(1, 2, 2)
    batch = {DB_FLAGS: torch.zeros(1, 2, 2, dtype=torch.uint8), "shrink_map": own}
    assert stored_key(batch, "shrink_map") == "shrink_map"
    assert stored_key(batch, "shrink_mask") == DB_FLAGS
    assert stored_key(batch, "thresh_map") is None  # not a bit: never read from the flags
    torch.testing.assert_close(target_map(batch, "shrink_map", own), own)
    with pytest.raises(KeyError, match="thresh_map"):
        target_map(batch, "thresh_map", own)
    with pytest.raises(KeyError, match="region_map"):
        target_map({}, "region_map", own)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_target_map_unpacks_db_flags_on_the_device_without_a_host_sync() -> None:
    """On the GPU the bit unpacking is device kernels only: CUDA's sync debug mode turns
    any host synchronisation into an error."""
    flags = torch.arange(8, dtype=torch.uint8, device="cuda").repeat(2, 4, 1)
    like = torch.zeros(2, 4, 8, device="cuda")
    torch.cuda.set_sync_debug_mode("error")
    try:
        maps = [target_map({DB_FLAGS: flags}, key, like) for key in DB_FLAG_BITS]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert all(m.device == like.device and m.dtype == torch.float32 for m in maps)
    assert [int(m.sum()) for m in maps] == [32, 32, 32]  # each bit set in 4 of 8 values
