"""DB targets on known shapes, and the fast border map against the reference loop."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from shapely.geometry import LinearRing, Point

from ocrtop.ocr.data.sample import DB_FLAG_BITS, DB_FLAGS, MAP_LEVELS, pack_map
from ocrtop.ocr.data.synthetic import SyntheticPages
from ocrtop.ocr.data.targets import db
from ocrtop.ocr.data.targets.db import DBTargets, border_map, border_map_exact, border_map_loop
from ocrtop.ocr.geometry import offset_polygon, offset_polygon_both, shrink_distance
from ocrtop.ocr.types import Word

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


@pytest.mark.parametrize("shapes", ["page", "random"])
@pytest.mark.parametrize("build", [border_map_exact, border_map])
def test_border_maps_match_shapely(build: Callable[..., np.ndarray], shapes: str) -> None:
    """Both maps against shapely's point-to-outline distance (a peer library), on a
    synthetic page's perspective quads and on the random shapes below."""
    if shapes == "page":
        polys, dists = _page_polygons()
    else:
        polys = _random_polygons(2, size=320)
        dists = _distances(polys)
    fast = build(polys, dists, 320, 320)
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
    """Overlapping rotated rectangles, general (perspective-like) quads, thin slivers,
    degenerate quads (a repeated vertex, all on one line), star-shaped N-gons and a
    page-wide word, from 2 px up, many hanging over the canvas edge."""
    rng = np.random.default_rng(seed)
    polys = []
    for k in range(40):
        poly = _rotated_rect(rng, size)
        if k % 5 == 1:  # a general quad
            poly = poly + rng.uniform(-0.3, 0.3, poly.shape) * np.ptp(poly, axis=0).min()
        elif k % 5 == 2:  # thin: 0.5-2 px across, long and rotated
            poly = _rotated_rect(rng, size)
            centre = poly.mean(axis=0)
            along = (poly[1] - poly[0]) * rng.uniform(1, 3)
            across = (poly[3] - poly[0]) / np.linalg.norm(poly[3] - poly[0]) * rng.uniform(0.5, 2)
            poly = (
                centre
                + np.array([-along - across, along - across, along + across, -along + across]) / 2
            )
        elif k % 5 == 3:  # N-gon
            n = int(rng.integers(5, 12))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radii = rng.uniform(3, 40, n)
            poly = rng.uniform(0, size, 2) + np.stack(
                [radii * np.cos(angles), radii * np.sin(angles)], axis=1
            )
        elif k % 10 == 4:  # degenerate: a repeated vertex (a zero-length edge)
            poly[2] = poly[1]
        elif k % 10 == 9:  # degenerate: every vertex on one line (zero area)
            poly = poly[0] + np.outer([0.0, 0.3, 1.0, 0.6], poly[2] - poly[0])
        polys.append(poly)
    polys.append(np.array([[-20.0, 30.0], [size + 20.0, 20.0], [size + 10, 90], [-5, 100]]))
    return polys


def _distances(polys: list[np.ndarray]) -> list[float]:
    """Vatti offsets, with a floor so degenerate and thin words still get a band."""
    return [max(shrink_distance(p), 1.5) for p in polys]


@pytest.mark.parametrize("seed", range(5))
def test_batched_border_map_equals_the_exact_map(seed: int) -> None:
    polys = _random_polygons(seed)
    dists = _distances(polys)
    exact = border_map_exact(polys, dists, 256, 256)
    fast = border_map(polys, dists, 256, 256)
    diff = np.abs(fast - exact)
    assert diff.max() <= 1e-4  # float32 rounding only (issue 13 allows 0.05 max, 0.02 mean)
    assert (exact > 0).mean() > 0.3  # the words really cover (and overlap on) the canvas
    assert ((exact > 0.5) & (fast > 0.5)).sum() > 1000


def test_border_map_blocks_and_output_canvas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tiny blocks (one edge per block) give the same map, and ``out`` is maxed into."""
    polys = _random_polygons(1)
    dists = _distances(polys)
    exact = border_map_exact(polys, dists, 256, 256)
    monkeypatch.setattr(db, "_CHUNK", 1)
    prior = np.random.default_rng(0).uniform(0, 1, (256, 256)).astype(np.float32)
    out = prior.copy()
    assert border_map(polys, dists, 256, 256, out) is out
    assert np.abs(out - np.maximum(prior, exact)).max() <= 1e-4


def test_border_map_without_words_or_reach() -> None:
    assert not border_map([], [], 32, 48).any()
    far = [np.array([[500.0, 500.0], [600, 500], [600, 540], [500, 540]])]
    assert not border_map(far, [14.0], 64, 64).any()  # entirely off the canvas
    assert not border_map([RECT], [0.0], 320, 320).any()  # D = 0: no band


def test_targets_agree_across_border_implementations() -> None:
    words = [Word(p) for p in _random_polygons(11)]
    fast, exact = (
        DBTargets(border="fast")(words, 256, 256),
        DBTargets(border="exact")(words, 256, 256),
    )
    for key in ("shrink_map", "shrink_mask", "thresh_map", "thresh_mask"):
        assert np.abs(fast[key] - exact[key]).max() <= 1e-4
    assert fast["thresh_mask"].sum() > 0
    with pytest.raises(ValueError, match="border must be one of"):
        DBTargets(border="gpu")


def unpacked(packed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A packed call's four maps back as uint8 ``round(255 v)``: each binary map is its
    ``db_flags`` bit (0 or 255), the threshold map as it is."""
    flags = packed[DB_FLAGS]
    maps = {
        k: np.where(flags & bit, MAP_LEVELS, 0).astype(np.uint8) for k, bit in DB_FLAG_BITS.items()
    }
    return {**maps, "thresh_map": packed["thresh_map"]}


@pytest.mark.parametrize("border", ["fast", "exact", "loop"])
def test_packed_maps_are_the_packed_float_maps(border: str) -> None:
    """``packed=True`` gives ``thresh_map`` exactly as ``pack_map`` of the float map
    (round(255 v)) and ``db_flags`` whose bits are exactly the three binary float maps,
    with ignored, tiny, overlapping and off-canvas words; the float maps stay as they
    were."""
    tiny = np.array([[20.0, 20.0], [60.0, 20.0], [60.0, 25.0], [20.0, 25.0]])
    words = [Word(p) for p in _random_polygons(5)]
    words += [Word(RECT, ignore=True), Word(tiny), Word(RECT + 150)]
    targets = DBTargets(border=border)
    floats = targets(words, 256, 288)
    packed = targets(words, 256, 288, packed=True)
    assert set(packed) == {DB_FLAGS, "thresh_map"}
    assert floats["thresh_map"].dtype == np.float32 and floats["thresh_mask"].sum() > 0
    assert packed[DB_FLAGS].dtype == np.uint8 and packed[DB_FLAGS].shape == (256, 288)
    assert not (packed[DB_FLAGS] & ~np.uint8(sum(DB_FLAG_BITS.values()))).any()  # no stray bit
    for key, value in floats.items():
        got = unpacked(packed)[key]
        assert got.dtype == np.uint8 and got.shape == (256, 288), key
        assert np.array_equal(got, pack_map(value)), key
        assert np.abs(got / MAP_LEVELS - value).max() <= 1 / 510 + 1e-6, key
    for key in DB_FLAG_BITS:  # the binary maps are exactly 0/1, every value of both kinds
        assert set(np.unique(floats[key]).tolist()) == {0.0, 1.0}, key


def test_packed_calls_reuse_the_scratch_canvas_cleanly() -> None:
    """The reused scratch (float canvas and bit planes) is reset per call and never
    returned: a call with no words after a busy one gives background only, earlier
    results are not overwritten, and a size change gets scratch of the new size."""
    targets = DBTargets()
    words = [Word(p) for p in _random_polygons(9)]
    first = targets(words, 256, 256, packed=True)
    kept = {k: v.copy() for k, v in first.items()}
    empty = unpacked(targets([], 256, 256, packed=True))
    assert np.array_equal(empty["thresh_map"], pack_map(np.full((256, 256), 0.3, np.float32)))
    assert not empty["shrink_map"].any() and not empty["thresh_mask"].any()
    assert (empty["shrink_mask"] == MAP_LEVELS).all()
    for key, value in kept.items():
        assert np.array_equal(first[key], value), key
    again = targets(words, 256, 256, packed=True)
    for key, value in kept.items():
        assert np.array_equal(again[key], value), key
    other = unpacked(targets(words, 128, 192, packed=True))
    for key, value in targets(words, 128, 192).items():
        assert np.array_equal(other[key], pack_map(value)), key


def test_offset_polygon_both_equals_two_offsets() -> None:
    """One offsetter executed twice gives exactly the two separate Vatti offsets."""
    polys = [*_random_polygons(4), RECT, RECT[::-1]]
    for poly in polys:
        distance = shrink_distance(poly)
        shrunk, grown = offset_polygon_both(poly, distance)
        for got, want in (
            (shrunk, offset_polygon(poly, -distance)),
            (grown, offset_polygon(poly, distance)),
        ):
            assert len(got) == len(want)
            assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_dataset_takes_the_packed_route_for_db(monkeypatch: pytest.MonkeyPatch) -> None:
    """The dataset asks DBTargets for uint8 maps (no float maps packed afterwards) and gets
    the bytes that packing the float maps gives; other builders are still packed after."""
    from ocrtop.ocr.data import dataset as dataset_module
    from ocrtop.ocr.data.dataset import TextDetectionDataset
    from ocrtop.ocr.data.transforms import eval_transforms

    source = SyntheticPages(num=2, seed=11, width=256, height=256)
    ds = TextDetectionDataset(source, eval_transforms(256), DBTargets())
    floats = DBTargets()(ds.transform(*_state_and_rng(ds, source)).words, 256, 256)
    calls: list[tuple[int, ...]] = []
    monkeypatch.setattr(dataset_module, "pack_map", lambda v: calls.append(v.shape) or pack_map(v))
    sample = ds[1]
    assert not calls
    assert sample[DB_FLAGS].dtype == sample["thresh_map"].dtype == torch.uint8
    got = unpacked({k: sample[k].numpy() for k in (DB_FLAGS, "thresh_map")})
    for key, value in floats.items():
        assert np.array_equal(got[key], pack_map(value)), key


def _state_and_rng(ds: object, source: SyntheticPages) -> tuple[object, object]:
    from ocrtop.ocr.data.canvas import TransformState

    record = source.load(1)
    state = TransformState(record.image, list(record.words), record.to_stored.copy())
    return state, ds.rng()  # type: ignore[attr-defined]


def test_packed_calls_from_threads_use_their_own_canvas() -> None:
    """A dataset read from threads: each thread's packed maps equal a lone call's, and the
    scratch canvases stay out of the pickle a DataLoader worker receives."""
    targets = DBTargets()
    pages = [[Word(p) for p in _random_polygons(seed)] for seed in range(12)]
    alone = [targets(words, 256, 256, packed=True) for words in pages]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda w: targets(w, 256, 256, packed=True), pages))
    for a, b in zip(alone, threaded, strict=True):
        for key in (DB_FLAGS, "thresh_map"):
            assert np.array_equal(a[key], b[key]), key
    assert "_scratch" not in pickle.loads(pickle.dumps(targets)).__dict__
