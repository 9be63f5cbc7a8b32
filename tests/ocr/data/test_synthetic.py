"""Synthetic pages: determinism, aligned word/char boxes, and the canonical writer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from ocrtop.ocr.data.canonical import CanonicalSource
from ocrtop.ocr.data.check import check_dataset
from ocrtop.ocr.data.synthetic import SyntheticPages, write_dataset
from ocrtop.ocr.geometry import polygon_problem


def test_pages_are_a_pure_function_of_seed_and_index() -> None:
    a, b = (
        SyntheticPages(num=4, seed=7, width=256, height=256),
        SyntheticPages(num=4, seed=7, width=256, height=256),
    )
    later = a.load(3)
    first = b.load(0)
    again = b.load(3)
    np.testing.assert_array_equal(later.image, again.image)
    assert [w.text for w in later.words] == [w.text for w in again.words]
    np.testing.assert_allclose(later.words[0].points, again.words[0].points)
    assert not np.array_equal(first.image, later.image)
    other_seed = SyntheticPages(num=4, seed=8, width=256, height=256).load(3)
    assert not np.array_equal(other_seed.image, later.image)
    with pytest.raises(IndexError):
        a.load(4)


def test_words_have_valid_polygons_and_one_quad_per_character() -> None:
    record = SyntheticPages(num=2, seed=1).load(1)
    assert record.image.shape == (640, 640, 3) and record.image.dtype == np.uint8
    assert len(record.words) >= 10
    for word in record.words:
        assert polygon_problem(word.points) is None
        assert word.chars is not None and len(word.chars) == len(word.text)
        centres = np.array([c.mean(axis=0) for c in word.chars])
        inside = [
            cv2.pointPolygonTest(word.points.astype(np.float32), (float(x), float(y)), True)
            for x, y in centres
        ]
        assert min(inside) > 0  # every character centre lies inside its word
        assert np.all(word.points >= 0) and np.all(word.points <= 640)


def test_boxes_cover_ink() -> None:
    """Polygons sit on the drawn text: inside a word box is darker than its surroundings."""
    record = SyntheticPages(num=1, seed=2, max_blur=0.0, max_noise=0.0).load(0)
    grey = record.image.mean(axis=2)
    for word in record.words:
        mask = np.zeros(grey.shape, np.uint8)
        cv2.fillPoly(mask, [np.round(word.points).astype(np.int32)], 1)
        ring = cv2.dilate(mask, np.ones((9, 9), np.uint8)) - mask
        assert grey[mask > 0].min() < grey[ring > 0].mean() - 60, word.text


def test_write_dataset_round_trips_through_the_canonical_reader(tmp_path: Path) -> None:
    counts = write_dataset(tmp_path, num=10, seed=3, width=192, height=192)
    assert counts == {"train": 8, "val": 1, "test": 1}
    source = CanonicalSource(str(tmp_path), "train")
    assert len(source) == 8
    loaded = source.load(0)
    original = SyntheticPages(num=10, seed=3, width=192, height=192).load(0)
    assert loaded.filename == original.filename
    np.testing.assert_allclose(loaded.words[0].points, original.words[0].points, atol=0.01)
    assert loaded.words[0].chars is not None
    # JPEG q95 drops pixel noise but keeps the page: compare 5x5 local means.
    smooth = [cv2.blur(img, (5, 5)).astype(int) for img in (loaded.image, original.image)]
    assert np.abs(smooth[0] - smooth[1]).mean() < 2
    assert check_dataset(tmp_path).ok
