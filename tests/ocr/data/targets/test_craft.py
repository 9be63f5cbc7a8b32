"""CRAFT region/affinity targets on hand-made words."""

from __future__ import annotations

import numpy as np
import pytest

from ocrtop.ocr.data.targets.craft import CraftTargets, affinity_boxes, pseudo_char_boxes
from ocrtop.ocr.types import Word


def box(x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)


def word_of(x0: float, y0: float, n: int, w: float = 20.0, h: float = 30.0) -> Word:
    chars = [box(x0 + i * w, y0, x0 + (i + 1) * w, y0 + h) for i in range(n)]
    return Word(points=box(x0, y0, x0 + n * w, y0 + h), text="a" * n, chars=chars)


def test_region_peaks_at_each_character_centre() -> None:
    word = word_of(40, 40, 3)
    maps = CraftTargets()([word], 160, 160)
    region = maps["region_map"]
    assert region.shape == (80, 80)
    assert word.chars is not None
    for char in word.chars:
        half = char / 2
        x0, y0 = half.min(axis=0).astype(int)
        x1, y1 = half.max(axis=0).astype(int)
        crop = region[y0:y1, x0:x1]
        py, px = np.unravel_index(np.argmax(crop), crop.shape)
        centre = half.mean(axis=0) - [x0, y0] - 0.5  # pixel centres sit at +0.5
        assert abs(px - centre[0]) <= 1 and abs(py - centre[1]) <= 1
        assert crop.max() > 0.9
    # Between two characters the region dips well below the peaks.
    assert region[int(55 / 2), int(60 / 2)] < 0.5


def test_affinity_links_neighbours_and_never_crosses_words() -> None:
    left, right = word_of(10, 40, 3), word_of(100, 40, 2)
    maps = CraftTargets()([left, right], 160, 160)
    affinity = maps["affinity_map"]
    # Centre of the link between left's characters 0 and 1 (x = 30 at full resolution).
    assert affinity[int(55 / 2), int(30 / 2)] > 0.8
    assert affinity[int(55 / 2), int(120 / 2)] > 0.8  # right word's single link
    # The 30 px gap between the words (x 70..100) holds no affinity at all.
    assert affinity[:, 36:49].max() == 0.0
    assert affinity[int(55 / 2), int(40 / 2)] < 0.5  # at a character centre: a link's edge
    assert len(affinity_boxes(left.chars or [])) == 2


def test_ignored_word_is_masked_and_untrained() -> None:
    word = word_of(40, 40, 3)
    word.ignore = True
    maps = CraftTargets()([word], 160, 160)
    assert maps["region_map"].max() == 0 and maps["affinity_map"].max() == 0
    assert maps["craft_mask"][27, 40] == 0 and maps["craft_mask"][70, 70] == 1


def test_pseudo_chars_split_the_long_side() -> None:
    horizontal = box(0, 0, 100, 20)
    by_text = pseudo_char_boxes(horizontal, "abcd")
    assert len(by_text) == 4
    np.testing.assert_allclose([b[1, 0] - b[0, 0] for b in by_text], 25.0)
    assert len(pseudo_char_boxes(horizontal, "")) == 5  # aspect ratio 5 -> five cells
    vertical = pseudo_char_boxes(box(0, 0, 20, 100), "ab")
    centres = np.array([b.mean(axis=0) for b in vertical])
    np.testing.assert_allclose(centres[:, 0], 10.0)
    assert sorted(centres[:, 1].tolist()) == pytest.approx([25.0, 75.0])


def test_words_without_chars_use_pseudo_characters() -> None:
    word = Word(points=box(20, 40, 140, 70), text="abcd")
    maps = CraftTargets()([word], 160, 160)
    peaks = maps["region_map"][int(55 / 2)]
    # Four cells of 30 px: local maxima near x = 35, 65, 95, 125 (half: 17.5 ... 62.5).
    for centre in (35, 65, 95, 125):
        assert peaks[int(centre / 2)] > 0.9
    assert maps["affinity_map"].max() > 0.9


def test_batched_maps_equal_the_per_quad_reference() -> None:
    """Random overlapping, rotated, perspective and tiny words, with and without chars."""
    rng = np.random.default_rng(5)
    words = []
    for k in range(30):
        w, h = rng.uniform(3, 150), rng.uniform(3, 40)
        x, y = rng.uniform(-20, 200, 2)
        quad = box(x, y, x + w, y + h) + rng.uniform(-0.2, 0.2, (4, 2)) * min(w, h)
        if k % 3 == 0:
            words.append(word_of(x, y, int(rng.integers(1, 6)), w=w / 3, h=h))
        else:
            words.append(Word(points=quad, text="ab" * (k % 4)))
    region, affinity = CraftTargets().reference(words, 240, 240)
    maps = CraftTargets()(words, 240, 240)
    assert region.max() > 0.9 and affinity.max() > 0.9
    np.testing.assert_allclose(maps["region_map"], region, atol=1e-4)
    np.testing.assert_allclose(maps["affinity_map"], affinity, atol=1e-4)
