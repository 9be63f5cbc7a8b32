"""DBNet training targets: shrink (probability) map and threshold map, with masks.

Reads: words (points in network-input pixels, ``ignore``), the input height and width.
Adds: ``shrink_map``, ``shrink_mask``, ``thresh_map``, ``thresh_mask`` (float32, H x W).

* Shrink map: each word polygon shrunk by the Vatti offset D = A (1 - r^2) / L. Ignored
  words, words smaller than ``min_text_size`` and words whose shrink vanishes are cut out
  of ``shrink_mask`` (the loss never sees them) and get no threshold band.
* Threshold map: inside each word's polygon dilated by D, ``1 - min(dist_to_border / D, 1)``
  (maximum over words), scaled to ``[thresh_min, thresh_max]``; ``thresh_mask`` is the
  union of the dilated polygons.

The border map is the known CPU hotspot of DBNet data loading. :func:`border_map` computes
each word's exact point-to-segment distance to all its edges in one float32 broadcast,
with separable x/y projection terms, instead of one float64 pass per edge.
:func:`border_map_loop` is the straightforward per-word, per-edge loop of MhLiao/DB's
``make_border_map.py`` (including DB's law-of-cosines distance); the benchmark and tests
compare the two.
"""

from __future__ import annotations

import numpy as np

from ocr.data.targets.raster import fill_polygon
from ocr.geometry import offset_polygon, polygon_area, shrink_distance
from ocr.types import Word


def _box(points: np.ndarray, distance: float, height: int, width: int) -> tuple[int, int, int, int]:
    """Pixel bounds of the polygon dilated by ``distance``, clipped to the canvas."""
    x0, y0 = np.floor(points.min(axis=0) - distance).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + distance).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1)


def _paste_max(canvas: np.ndarray, box: tuple[int, int, int, int], values: np.ndarray) -> None:
    x0, y0, x1, y1 = box
    region = canvas[y0 : y1 + 1, x0 : x1 + 1]
    np.fmax(region, values, out=region)


def border_map(
    polygons: list[np.ndarray], distances: list[float], height: int, width: int
) -> np.ndarray:
    """Vectorised border map in ``[0, 1]``: 1 on a border, 0 at distance >= D.

    Per word, the exact point-to-segment distance to *all* edges is one broadcast over
    ``(edges, h, w)`` in float32. The projections split into an x part ``(E, 1, w)`` and a
    y part ``(E, h, 1)``, so only a handful of full-size operations remain.
    """
    canvas = np.zeros((height, width), dtype=np.float32)
    for poly, dist in zip(polygons, distances, strict=True):
        box = _box(poly, dist, height, width)
        x0, y0, x1, y1 = box
        if x1 < x0 or y1 < y0:
            continue
        a = poly.astype(np.float32)
        ab = np.diff(a, axis=0, append=a[:1])
        inv_len = 1.0 / np.maximum((ab * ab).sum(axis=1), 1e-12)
        ax, ay = a[:, 0, None, None], a[:, 1, None, None]
        abx, aby = ab[:, 0, None, None], ab[:, 1, None, None]
        apx = np.arange(x0, x1 + 1, dtype=np.float32)[None, None, :] - ax  # (E, 1, w)
        apy = np.arange(y0, y1 + 1, dtype=np.float32)[None, :, None] - ay  # (E, h, 1)
        t = apx * (abx * inv_len[:, None, None]) + apy * (aby * inv_len[:, None, None])
        np.clip(t, 0.0, 1.0, out=t)
        dx = apx - t * abx
        dy = apy - t * aby
        dist_sq = (dx * dx + dy * dy).min(axis=0)
        _paste_max(canvas, box, 1.0 - np.minimum(np.sqrt(dist_sq) / np.float32(dist), 1.0))
    return canvas


def _db_point_line_distance(
    xs: np.ndarray, ys: np.ndarray, p1: np.ndarray, p2: np.ndarray
) -> np.ndarray:
    """MhLiao/DB ``make_border_map.distance``: law of cosines, endpoint distance when acute."""
    sq1 = np.square(xs - p1[0]) + np.square(ys - p1[1])
    sq2 = np.square(xs - p2[0]) + np.square(ys - p2[1])
    sq = np.square(p1[0] - p2[0]) + np.square(p1[1] - p2[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        cosin = (sq - sq1 - sq2) / (2 * np.sqrt(sq1 * sq2))
        square_sin = np.nan_to_num(1 - np.square(cosin))
        result = np.sqrt(sq1 * sq2 * square_sin / sq)
    result[cosin < 0] = np.sqrt(np.fmin(sq1, sq2))[cosin < 0]
    return result


def border_map_loop(
    polygons: list[np.ndarray], distances: list[float], height: int, width: int
) -> np.ndarray:
    """Reference border map: word by word, edge by edge, as MhLiao/DB computes it.

    Kept for the benchmark and tests. DB's distance takes the endpoint distance whenever
    the angle at the pixel is acute, which overestimates the distance near the ends of
    short edges; that is where it and :func:`border_map` (exact) differ.
    """
    canvas = np.zeros((height, width), dtype=np.float32)
    for poly, dist in zip(polygons, distances, strict=True):
        box = _box(poly, dist, height, width)
        x0, y0, x1, y1 = box
        if x1 < x0 or y1 < y0:
            continue
        xs, ys = np.meshgrid(
            np.arange(x0, x1 + 1, dtype=np.float64), np.arange(y0, y1 + 1, dtype=np.float64)
        )
        edge_maps = np.zeros((len(poly), *xs.shape), dtype=np.float32)
        for i in range(len(poly)):
            j = (i + 1) % len(poly)
            edge_maps[i] = np.clip(_db_point_line_distance(xs, ys, poly[i], poly[j]) / dist, 0, 1)
        _paste_max(canvas, box, 1.0 - edge_maps.min(axis=0))
    return canvas


class DBTargets:
    """Builds DBNet's four target maps for one sample.

    Args:
        shrink_ratio: r in D = A (1 - r^2) / L (0.4 in the DBNet paper).
        thresh_min: threshold map value far from any border.
        thresh_max: threshold map value on a border.
        min_text_size: words whose bounding box is thinner than this (px) are ignored.
        vectorized: use :func:`border_map` (True) or the reference loop (False).
    """

    def __init__(
        self,
        shrink_ratio: float = 0.4,
        thresh_min: float = 0.3,
        thresh_max: float = 0.7,
        min_text_size: float = 8.0,
        vectorized: bool = True,
    ) -> None:
        if not 0 < shrink_ratio < 1 or not 0 <= thresh_min < thresh_max <= 1:
            raise ValueError(
                f"need 0 < shrink_ratio < 1 and 0 <= thresh_min < thresh_max <= 1, got "
                f"{shrink_ratio}, {thresh_min}, {thresh_max}"
            )
        self.shrink_ratio, self.thresh_min, self.thresh_max = shrink_ratio, thresh_min, thresh_max
        self.min_text_size, self.vectorized = min_text_size, vectorized

    def __call__(self, words: list[Word], height: int, width: int) -> dict[str, np.ndarray]:
        shrink_map = np.zeros((height, width), dtype=np.float32)
        shrink_mask = np.ones((height, width), dtype=np.float32)
        thresh_mask = np.zeros((height, width), dtype=np.float32)
        trained, distances = [], []
        for word in words:
            poly = word.points
            size = poly.max(axis=0) - poly.min(axis=0)
            shrunk: list[np.ndarray] = []
            if not word.ignore and min(size) >= self.min_text_size:
                distance = shrink_distance(poly, self.shrink_ratio)
                shrunk = offset_polygon(poly, -distance)
            if not shrunk or max(polygon_area(s) for s in shrunk) < 1.0:
                fill_polygon(shrink_mask, poly, 0.0)
                continue
            for piece in shrunk:  # a dumbbell-shaped word may split in two
                fill_polygon(shrink_map, piece, 1.0)
            for piece in offset_polygon(poly, distance):
                fill_polygon(thresh_mask, piece, 1.0)
            trained.append(poly)
            distances.append(distance)
        build = border_map if self.vectorized else border_map_loop
        border = build(trained, distances, height, width)
        thresh_map = border  # rescaled in place: no second full-size array per sample
        thresh_map *= self.thresh_max - self.thresh_min
        thresh_map += self.thresh_min
        return {
            "shrink_map": shrink_map,
            "shrink_mask": shrink_mask,
            "thresh_map": thresh_map,
            "thresh_mask": thresh_mask,
        }
