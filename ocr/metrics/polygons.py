"""Polygon helpers shared by the ICDAR and CLEval metrics (numpy + shapely, no torch).

Both metrics need the same two things: a valid shapely geometry for any ``(N, 2)`` point
list a detector or an annotator produced, and the table of pairwise intersection areas.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

Area: TypeAlias = Polygon | MultiPolygon


def _polygonal_parts(geometry: BaseGeometry) -> list[Polygon]:
    """The polygons inside ``geometry``, recursing into collections; lines and points go."""
    if isinstance(geometry, Polygon):
        return [] if geometry.is_empty else [geometry]
    if isinstance(geometry, MultiPolygon):
        return [p for p in geometry.geoms if not p.is_empty]
    return [part for g in getattr(geometry, "geoms", ()) for part in _polygonal_parts(g)]


def to_shapely(points: np.ndarray) -> Area:
    """A valid shapely polygon or multipolygon (possibly empty) from ``(N, 2)`` points.

    A self-intersecting outline (a bow tie) is repaired with ``shapely.make_valid``, which
    keeps *every* enclosed lobe: the bow tie becomes two triangles whose areas add up.
    ``buffer(0)``, the usual shortcut, keeps one lobe and so halves such a word's area.
    Parts of the repair that have no area (a dangling edge) are dropped.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3 or not np.all(np.isfinite(pts)):
        return Polygon()
    poly = Polygon(pts)
    if poly.is_valid:
        return poly
    parts = _polygonal_parts(shapely.make_valid(poly))
    if not parts:
        return Polygon()
    if len(parts) == 1:
        return parts[0]
    return MultiPolygon(parts)


def intersection_areas(a: Sequence[Area], b: Sequence[Area]) -> np.ndarray:
    """``(len(a), len(b))`` intersection areas, computed only where bounding boxes overlap."""
    out = np.zeros((len(a), len(b)))
    if not len(a) or not len(b):
        return out
    empty = (0.0, 0.0, -1.0, -1.0)  # a box that overlaps nothing
    ba = np.array([p.bounds if not p.is_empty else empty for p in a]).reshape(-1, 4)
    bb = np.array([p.bounds if not p.is_empty else empty for p in b]).reshape(-1, 4)
    overlap = (
        (ba[:, None, 0] <= bb[None, :, 2])
        & (bb[None, :, 0] <= ba[:, None, 2])
        & (ba[:, None, 1] <= bb[None, :, 3])
        & (bb[None, :, 1] <= ba[:, None, 3])
    )
    i, j = np.nonzero(overlap)
    if len(i):
        ga, gb = np.array(a, dtype=object), np.array(b, dtype=object)
        out[i, j] = shapely.area(shapely.intersection(ga[i], gb[j]))
    return out
