"""DB targets on known shapes, and the fast border map against the reference loop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from shapely.geometry import LinearRing, Point

from ocr.data.synthetic import SyntheticPages
from ocr.data.targets.db import (
    RECT_TOLERANCE,
    DBTargets,
    border_map,
    border_map_exact,
    border_map_loop,
    fit_rectangles,
)
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


@pytest.mark.parametrize("build", [border_map_exact, border_map])
def test_border_maps_match_shapely(build: Callable[..., np.ndarray]) -> None:
    """Both maps against shapely's point-to-outline distance (a peer library)."""
    polys, dists = _page_polygons()
    fast = build(polys, dists, 320, 320)
    tolerance = 1e-4 if build is border_map_exact else RECT_TOLERANCE + 1e-4
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
        assert fast[y, x] == pytest.approx(expected, abs=tolerance)


def test_exact_map_matches_reference_loop() -> None:
    polys, dists = _page_polygons()
    fast = border_map_exact(polys, dists, 320, 320)
    loop = border_map_loop(polys, dists, 320, 320)
    diff = np.abs(fast - loop)
    # DB's law-of-cosines distance overestimates near short-edge ends; elsewhere equal.
    assert diff.mean() < 1e-3
    assert diff.max() < 0.15
    assert DBTargets(border="loop")([Word(RECT)], 320, 320)["thresh_map"].max() == pytest.approx(
        0.7
    )


def _rotated_rect(rng: np.random.Generator, size: int) -> np.ndarray:
    w, h = rng.uniform(2, 160), rng.uniform(2, 40)  # down to 2 px: tiny words too
    centre = rng.uniform(0, size, 2)  # may hang over the canvas edge
    angle = rng.uniform(-np.pi, np.pi)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2 @ rot.T + centre


def _random_polygons(seed: int, size: int = 256) -> list[np.ndarray]:
    """Overlapping rectangles (some nudged within and beyond the tolerance), general
    quads and star-shaped N-gons, from 2 px to page-wide."""
    rng = np.random.default_rng(seed)
    polys = []
    for k in range(40):
        poly = _rotated_rect(rng, size)
        if k % 4 == 1:  # nudged a little: still on the rectangle path
            d = shrink_distance(poly)
            poly = poly + rng.uniform(-0.5, 0.5, poly.shape) * RECT_TOLERANCE * d
        elif k % 4 == 2:  # a general quad: the exact path
            poly = poly + rng.uniform(-0.3, 0.3, poly.shape) * np.ptp(poly, axis=0).min()
        elif k % 4 == 3:  # N-gon
            n = int(rng.integers(5, 12))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radii = rng.uniform(3, 40, n)
            poly = rng.uniform(0, size, 2) + np.stack(
                [radii * np.cos(angles), radii * np.sin(angles)], axis=1
            )
        polys.append(poly)
    return polys


@pytest.mark.parametrize("seed", range(5))
def test_fast_border_map_is_within_tolerance_of_exact(seed: int) -> None:
    polys = _random_polygons(seed)
    dists = [shrink_distance(p) for p in polys]
    exact = border_map_exact(polys, dists, 256, 256)
    fast = border_map(polys, dists, 256, 256)
    diff = np.abs(fast - exact)
    assert diff.max() <= RECT_TOLERANCE + 1e-5  # the bound in the module notes (issue: 0.05)
    assert diff.mean() <= 0.02
    assert (exact > 0).mean() > 0.3  # the words really cover (and overlap on) the canvas


def test_rectangle_fit_takes_rectangles_and_refuses_other_quads() -> None:
    rng = np.random.default_rng(7)
    rects = np.stack([_rotated_rect(rng, 256) for _ in range(20)])
    dists = np.array([shrink_distance(p) for p in rects])
    params, ok = fit_rectangles(rects.copy(), dists)
    assert ok.all()
    assert np.allclose(params[:, :2], rects.mean(axis=1))
    skewed = rects.copy()
    skewed[:, 0] += (3 * RECT_TOLERANCE * dists)[:, None]  # one vertex moved 3x the tolerance
    assert not fit_rectangles(skewed, dists)[1].any()
    reordered = rects[:, [0, 2, 1, 3]]  # a bow-tie ordering: corners not in sequence
    assert not fit_rectangles(reordered, dists)[1].any()


def test_targets_agree_across_border_implementations() -> None:
    words = [Word(p) for p in _random_polygons(11)]
    fast, exact = (
        DBTargets(border="fast")(words, 256, 256),
        DBTargets(border="exact")(words, 256, 256),
    )
    for key in ("shrink_map", "shrink_mask", "thresh_mask"):
        assert np.array_equal(fast[key], exact[key])
    assert np.abs(fast["thresh_map"] - exact["thresh_map"]).max() <= 0.4 * RECT_TOLERANCE + 1e-5
    with pytest.raises(ValueError, match="border must be one of"):
        DBTargets(border="gpu")


def test_non_rectangles_take_an_exact_path() -> None:
    """General quads and N-gons are not approximated at all (float32 rounding aside)."""
    polys = [p for k, p in enumerate(_random_polygons(3)) if k % 4 >= 2]
    dists = [shrink_distance(p) for p in polys]
    assert not fit_rectangles(np.stack([p for p in polys if len(p) == 4]), np.ones(10))[1].any()
    fast = border_map(polys, dists, 256, 256)
    assert np.abs(fast - border_map_exact(polys, dists, 256, 256)).max() < 1e-4
