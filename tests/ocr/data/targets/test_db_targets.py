"""DB targets on known shapes, and the fast border map against the reference loop."""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import LinearRing, Point

from ocr.data.synthetic import SyntheticPages
from ocr.data.targets.db import DBTargets, border_map, border_map_loop
from ocr.geometry import shrink_distance
from ocr.types import Word

RECT = np.array([[100.0, 100.0], [300.0, 100.0], [300.0, 140.0], [100.0, 140.0]])
D = 200 * 40 * (1 - 0.4**2) / 480  # Vatti offset of RECT, 14 px


def build(words: list[Word], size: int = 320) -> dict[str, np.ndarray]:
    return DBTargets()(words, size, size)


def test_shrink_map_is_the_vatti_offset_rectangle() -> None:
    maps = build([Word(RECT)])
    ys, xs = np.nonzero(maps["shrink_map"])
    assert xs.min() == pytest.approx(100 + D, abs=1)
    assert xs.max() == pytest.approx(300 - D, abs=1)
    assert ys.min() == pytest.approx(100 + D, abs=1)
    assert ys.max() == pytest.approx(140 - D, abs=1)
    # Filled pixel count: the exact area plus at most a one-pixel rim.
    exact = (200 - 2 * D) * (40 - 2 * D)
    assert exact <= maps["shrink_map"].sum() <= exact + (200 - 2 * D + 40 - 2 * D) * 2 + 4
    assert maps["shrink_mask"].min() == 1.0


def test_threshold_map_range_border_peak_and_mask() -> None:
    maps = build([Word(RECT)])
    thresh, mask = maps["thresh_map"], maps["thresh_mask"]
    assert thresh.min() == pytest.approx(0.3) and thresh.max() <= 0.7 + 1e-6
    column = thresh[:, 200]  # a vertical cut through the middle of the word
    assert column[100] == pytest.approx(0.7) and column[140] == pytest.approx(0.7)
    assert column[120] == pytest.approx(0.3)  # the centre is further than D from any edge
    inside = column[101:120]
    assert np.all(np.diff(inside) <= 1e-6)  # decreasing away from the top border
    assert column[100 - 7] == pytest.approx(0.3 + 0.4 * (1 - 7 / D), abs=1e-3)
    dilated = (200 + 2 * D) * (40 + 2 * D) - (4 - np.pi) * D**2
    assert mask.sum() == pytest.approx(dilated, rel=0.03)
    assert mask[120, 200] == 1.0 and mask[60, 200] == 0.0


def test_ignored_and_tiny_words_are_masked_out() -> None:
    tiny = np.array([[20.0, 20.0], [60.0, 20.0], [60.0, 25.0], [20.0, 25.0]])
    maps = build([Word(RECT, ignore=True), Word(tiny)])
    assert maps["shrink_map"].sum() == 0
    assert maps["shrink_mask"][120, 200] == 0 and maps["shrink_mask"][22, 40] == 0
    assert maps["shrink_mask"][200, 200] == 1
    assert maps["thresh_mask"].sum() == 0
    assert np.allclose(maps["thresh_map"], 0.3)


def test_no_words_gives_background_targets() -> None:
    maps = build([], size=64)
    assert {k: v.shape for k, v in maps.items()} == dict.fromkeys(maps, (64, 64))
    assert maps["shrink_map"].sum() == 0 and maps["shrink_mask"].min() == 1
    assert np.allclose(maps["thresh_map"], 0.3) and maps["thresh_mask"].sum() == 0


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="thresh_min"):
        DBTargets(thresh_min=0.8, thresh_max=0.7)


def _page_polygons() -> tuple[list[np.ndarray], list[float]]:
    """A synthetic page's quads plus a concave 6-gon and an 8-gon (curved-text shapes)."""
    record = SyntheticPages(num=1, seed=3, width=320, height=320).load(0)
    polys = [w.points for w in record.words]
    polys.append(
        np.array(
            [
                [200.0, 250.0],
                [300.0, 250.0],
                [300.0, 300.0],
                [280.0, 300.0],
                [280.0, 270.0],
                [200.0, 270.0],
            ]
        )
    )
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    polys.append(np.stack([60 + 40 * np.cos(angles), 280 + 15 * np.sin(angles)], axis=1))
    return polys, [shrink_distance(p) for p in polys]


def test_vectorised_border_map_is_exact() -> None:
    polys, dists = _page_polygons()
    fast = border_map(polys, dists, 320, 320)
    rng = np.random.default_rng(0)
    rings = [LinearRing(p) for p in polys]
    for y, x in rng.integers(0, 320, size=(300, 2)):
        expected = max(
            (
                1 - min(ring.distance(Point(x, y)) / d, 1.0)
                for ring, d in zip(rings, dists, strict=True)
            ),
            default=0.0,
        )
        assert fast[y, x] == pytest.approx(expected, abs=1e-4)


def test_vectorised_matches_reference_loop() -> None:
    polys, dists = _page_polygons()
    fast = border_map(polys, dists, 320, 320)
    loop = border_map_loop(polys, dists, 320, 320)
    diff = np.abs(fast - loop)
    # DB's law-of-cosines distance overestimates near short-edge ends; elsewhere equal.
    assert diff.mean() < 1e-3
    assert diff.max() < 0.15
    assert DBTargets(vectorized=False)([Word(RECT)], 320, 320)["thresh_map"].max() == pytest.approx(
        0.7
    )
