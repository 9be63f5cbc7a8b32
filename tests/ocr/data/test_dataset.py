"""The Dataset's sample contract, caching, seeding and DataLoader workers."""

from __future__ import annotations

import pickle
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from ocrtop.ocr.data.canvas import TransformState
from ocrtop.ocr.data.collate import collate_batch
from ocrtop.ocr.data.dataset import TextDetectionDataset
from ocrtop.ocr.data.sample import DB_FLAGS, pack_map, target_map
from ocrtop.ocr.data.source import PageRecord
from ocrtop.ocr.data.synthetic import SyntheticPages
from ocrtop.ocr.data.targets import CraftTargets, DBTargets
from ocrtop.ocr.data.transforms import Compose, RandomRotate, eval_transforms, train_transforms
from ocrtop.ocr.geometry import apply_matrix


class CountingPages(SyntheticPages):
    """Synthetic pages that count decodes, to observe the cache."""

    loads = 0

    def load(self, index: int) -> PageRecord:
        CountingPages.loads += 1
        return super().load(index)


class SamePage(SyntheticPages):
    """Every index is page 0: samples then differ only by augmentation."""

    def load(self, index: int) -> PageRecord:
        return super().load(0)


class TurnedPage(SyntheticPages):
    """Pages whose stored frame differs from the upright one (as an EXIF-rotated photo)."""

    TO_STORED = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 200.0], [0.0, 0.0, 1.0]])

    def load(self, index: int) -> PageRecord:
        record = super().load(index)
        record.to_stored = self.TO_STORED
        return record


class FirstWordIgnored(SyntheticPages):
    """Pages whose first word is don't-care (cut out of the shrink mask)."""

    def load(self, index: int) -> PageRecord:
        record = super().load(index)
        record.words = [replace(record.words[0], ignore=True), *record.words[1:]]
        return record


def pages(num: int = 4) -> SyntheticPages:
    return SyntheticPages(num=num, seed=5, width=200, height=160)


def test_db_sample_follows_the_contract() -> None:
    ds = TextDetectionDataset(pages(), eval_transforms(256), DBTargets())
    sample = ds[1]
    assert sample["image"].shape == (256, 256, 3) and sample["image"].dtype == torch.uint8
    maps = {k for k, v in sample.items() if isinstance(v, torch.Tensor)} - {"image"}
    assert maps == {DB_FLAGS, "thresh_map"}  # the binary maps travel as bits of db_flags
    for key in maps:
        assert sample[key].shape == (256, 256) and sample[key].dtype == torch.uint8
    record = pages().load(1)
    assert len(sample["polygons"]) == len(record.words) == len(sample["ignore"])
    np.testing.assert_allclose(sample["polygons"][0], record.words[0].points)
    meta = sample["meta"]
    assert meta["filename"] == record.filename and meta["orig_size"] == (160, 200)
    assert meta["to_original"].shape == (3, 3) and meta["to_original"].dtype == np.float64
    # Network-input corner (256, 256) is the original (200, 200): scale 200/256, no shift
    # (y to within the rounding of 204.8 resized rows).
    corner = apply_matrix(meta["to_original"], np.array([[256.0, 256.0]]))
    np.testing.assert_allclose(corner, [[200.0, 200.0]], atol=0.25)
    assert set(sample["timing"]) == {"load_ms", "transform_ms", "target_ms"}
    assert all(isinstance(v, float) and v >= 0 for v in sample["timing"].values())


def test_db_maps_are_the_builders_maps_in_uint8() -> None:
    """What the losses read from a collated batch (``target_map``): exactly what they
    read from the previous contract's four uint8 maps (``pack_map`` of the float maps)
    on the same samples. Binary maps exact, the threshold map within 1/510."""
    source = FirstWordIgnored(num=4, seed=5, width=200, height=160)
    ds = TextDetectionDataset(source, eval_transforms(256), DBTargets())
    old = []
    for index in (1, 2):
        record = source.load(index)
        state = TransformState(record.image, list(record.words), record.to_stored.copy())
        floats = DBTargets()(ds.transform(state, ds.rng()).words, 256, 256)  # eval: no rng
        old.append({k: torch.from_numpy(pack_map(v)) for k, v in floats.items()})
    batch = collate_batch([ds[1], ds[2]])
    previous = collate_batch(old)
    like = torch.zeros(2, 256, 256)
    for key in ("shrink_map", "shrink_mask", "thresh_map", "thresh_mask"):
        got, want = target_map(batch, key, like), target_map(previous, key, like)
        assert torch.equal(got, want), key
        assert float(got.max()) == 1.0 or key == "thresh_map", key  # words were drawn
    assert float(target_map(batch, "shrink_mask", like).min()) == 0.0  # the ignored word
    assert set(torch.unique(batch[DB_FLAGS]).tolist()) <= set(range(8))


def test_polygons_are_in_the_stored_frame() -> None:
    source = TurnedPage(num=1, seed=5, width=200, height=160)
    sample = TextDetectionDataset(source, eval_transforms(128))[0]
    words = source.load(0).words
    for got, word in zip(sample["polygons"], words, strict=True):
        np.testing.assert_allclose(got, apply_matrix(TurnedPage.TO_STORED, word.points))
    corner = apply_matrix(sample["meta"]["to_original"], np.zeros((1, 2)))
    np.testing.assert_allclose(corner, [[0.0, 200.0]])  # to_original ends in the stored frame


def test_craft_targets_are_half_resolution_and_none_gives_images_only() -> None:
    sample = TextDetectionDataset(pages(), eval_transforms(128), CraftTargets())[0]
    assert {
        k: tuple(sample[k].shape) for k in ("region_map", "affinity_map", "craft_mask")
    } == dict.fromkeys(("region_map", "affinity_map", "craft_mask"), (64, 64))
    plain = TextDetectionDataset(pages(), eval_transforms(128))[0]
    assert "shrink_map" not in plain and "region_map" not in plain


def test_cache_decodes_once_and_reports_bytes() -> None:
    CountingPages.loads = 0
    source = CountingPages(num=2, seed=1, width=128, height=96)
    ds = TextDetectionDataset(source, eval_transforms(128), cache_images=True)
    assert ds.cache_nbytes == 0
    ds[0]
    ds[0]
    ds[1]
    assert CountingPages.loads == 2
    assert ds.cache_nbytes >= 2 * 128 * 96 * 3
    assert TextDetectionDataset(source, eval_transforms(128)).cache_nbytes == 0


def test_augmentation_follows_torch_seed() -> None:
    ds = TextDetectionDataset(pages(), train_transforms(size=128, rotate_p=1.0))
    torch.manual_seed(1)
    a = ds[0]["image"]
    torch.manual_seed(1)
    b = ds[0]["image"]
    torch.manual_seed(2)
    c = ds[0]["image"]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_transform_must_end_in_resize_pad() -> None:
    ds = TextDetectionDataset(pages(), Compose([RandomRotate(p=0.0)]))
    with pytest.raises(ValueError, match="ResizePad"):
        ds[0]


def test_dataset_pickles() -> None:
    ds = TextDetectionDataset(pages(), train_transforms(size=128), DBTargets(), cache_images=True)
    clone = pickle.loads(pickle.dumps(ds))
    assert len(clone) == 4 and clone[0]["image"].shape == (128, 128, 3)


@pytest.mark.slow
def test_two_workers_produce_collated_batches() -> None:
    source = SamePage(num=8, seed=5, width=200, height=160)
    ds = TextDetectionDataset(source, train_transforms(size=128, rotate_p=1.0), DBTargets())
    loader = DataLoader(ds, batch_size=4, num_workers=2, collate_fn=collate_batch)
    batches = list(loader)
    assert len(batches) == 2
    for batch in batches:
        assert batch["image"].shape == (4, 128, 128, 3)
        assert batch[DB_FLAGS].shape == batch["thresh_map"].shape == (4, 128, 128)
        assert batch["batch_size"] == 4 and batch["timing"]["target_ms"] > 0
    # One page everywhere: only per-worker, per-sample seeding makes the images differ.
    images = torch.cat([b["image"] for b in batches])
    assert all(not torch.equal(images[i], images[j]) for i in range(8) for j in range(i))
