"""CRAFT post-processing recovers word boxes from half-resolution synthetic heatmaps."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from shapely.geometry import Polygon

from ocrtop.ocr.geometry import apply_matrix
from ocrtop.ocr.postprocess import CraftPostProcessor
from ocrtop.ocr.types import DetectionOutput

H, W = 128, 256  # network input; the maps are (64, 128)
TO_ORIGINAL = np.array([[1.5, 0.0, 3.0], [0.0, 1.5, -2.0], [0.0, 0.0, 1.0]])
META = {"filename": "receipt.jpg", "orig_size": (200, 400), "to_original": TO_ORIGINAL}


def _word(x0: float, y0: float, char_w: float, char_h: float, n: int) -> list[tuple]:
    """Character boxes (x0, y0, x1, y1) of a horizontal word, in network-input pixels."""
    return [(x0 + i * char_w, y0, x0 + (i + 1) * char_w, y0 + char_h) for i in range(n)]


WORDS = [_word(20, 20, 24, 32, 5), _word(40, 80, 32, 32, 5)]


def _gaussian(shape: tuple[int, int], box: tuple, s: float = 0.5) -> np.ndarray:
    """An isotropic Gaussian warped onto an axis-aligned box, 2 sigma at the edge (sigma =
    a quarter of the side, as ``ocrtop.ocr.data.targets.craft`` builds them)."""
    x0, y0, x1, y1 = (v * s for v in box)
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]] + 0.5
    u = (xs - (x0 + x1) / 2) / ((x1 - x0) / 2) * 2.0
    v = (ys - (y0 + y1) / 2) / ((y1 - y0) / 2) * 2.0
    return np.exp(-(u**2 + v**2) / 2).astype(np.float32)


def _maps(words: list[list[tuple]], peak: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    shape = (H // 2, W // 2)
    region = np.zeros(shape, np.float32)
    affinity = np.zeros(shape, np.float32)
    for chars in words:
        for a, b in itertools.pairwise(chars):
            region = np.maximum(region, _gaussian(shape, a) * peak)
            # Affinity box: from the centre of one character to the centre of the next.
            h = a[3] - a[1]
            link = ((a[0] + a[2]) / 2, a[1] + h / 4, (b[0] + b[2]) / 2, a[3] - h / 4)
            affinity = np.maximum(affinity, _gaussian(shape, link))
        region = np.maximum(region, _gaussian(shape, chars[-1]) * peak)
    return region, affinity


def _output(region: np.ndarray, affinity: np.ndarray) -> DetectionOutput:
    return DetectionOutput(
        region_map=torch.from_numpy(region)[None, None],
        affinity_map=torch.from_numpy(affinity)[None, None],
        stride=2,
    )


def _word_box(chars: list[tuple]) -> np.ndarray:
    x0, y0, x1, y1 = chars[0][0], chars[0][1], chars[-1][2], chars[-1][3]
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    pa, pb = Polygon(a), Polygon(b)
    return pa.intersection(pb).area / pa.union(pb).area


def test_recovers_words_at_half_resolution_in_original_coordinates() -> None:
    preds = CraftPostProcessor()(_output(*_maps(WORDS)), [META])[0]
    assert len(preds) == len(WORDS)  # characters joined by links, words kept apart
    expected = [apply_matrix(TO_ORIGINAL, _word_box(w)) for w in WORDS]
    for pred in preds:
        assert pred.points.shape == (4, 2)
        assert 0.4 < pred.score <= 1.0
        assert max(_iou(pred.points, e) for e in expected) > 0.75


def test_without_links_each_character_is_its_own_box() -> None:
    region, _ = _maps(WORDS[:1])
    preds = CraftPostProcessor()(_output(region, np.zeros_like(region)), [META])[0]
    assert len(preds) == len(WORDS[0])


def test_components_without_a_confident_character_are_dropped() -> None:
    faint = _maps(WORDS, peak=0.6)  # above low_text 0.4, below text_threshold 0.7
    assert CraftPostProcessor()(_output(*faint), [META]) == [[]]
    assert len(CraftPostProcessor(text_threshold=0.5)(_output(*faint), [META])[0]) == 2


def test_missing_maps_are_named() -> None:
    with pytest.raises(ValueError, match="region_map"):
        CraftPostProcessor()(DetectionOutput(stride=2), [META])
