"""ICDAR-2015-style matching for one image, in numpy + shapely (no torch).

Rules (those of the ICDAR 2015 "Incidental Scene Text" script, IoU variant):

- Don't-care ground truth (``ignore``, text ``###``) is not counted.
- A prediction whose area lies more than ``ignore_overlap`` (0.5) inside one don't-care GT
  is dropped: it is neither a hit nor a false positive.
- The remaining pairs match one-to-one when IoU >= ``iou_threshold``, greedily from the
  highest IoU. So a word split into two predictions, or two words merged into one, yields
  at most one match.

Invalid polygons (self-intersecting bow ties) are repaired with ``buffer(0)``; those with no
area left never match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon as ShapelyPolygon


@dataclass(frozen=True)
class MatchCounts:
    """Per-image counts; summing them over images gives the split's precision/recall."""

    matched: int
    num_gt: int
    num_pred: int


def to_shapely(points: np.ndarray) -> ShapelyPolygon:
    """A valid shapely polygon (possibly empty) from ``(N, 2)`` points."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) < 3 or not np.all(np.isfinite(pts)):
        return ShapelyPolygon()
    poly = ShapelyPolygon(pts)
    if not poly.is_valid:
        poly = poly.buffer(0)
    return poly


def _intersections(a: list[ShapelyPolygon], b: list[ShapelyPolygon]) -> np.ndarray:
    """``(len(a), len(b))`` intersection areas, computed only for overlapping bounding boxes."""
    out = np.zeros((len(a), len(b)))
    if not a or not b:
        return out
    ba = np.array([p.bounds if not p.is_empty else (0, 0, -1, -1) for p in a]).reshape(-1, 4)
    bb = np.array([p.bounds if not p.is_empty else (0, 0, -1, -1) for p in b]).reshape(-1, 4)
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


def match_image(
    gt: Sequence[np.ndarray],
    ignore: Sequence[bool],
    preds: Sequence[np.ndarray],
    iou_threshold: float = 0.5,
    ignore_overlap: float = 0.5,
) -> MatchCounts:
    """Count matches, cared-for GT and kept predictions for one image.

    Args:
        gt: ground-truth polygons.
        ignore: per GT polygon, True for don't-care.
        preds: predicted polygons.
        iou_threshold: minimum IoU of a match (inclusive).
        ignore_overlap: fraction of a prediction's area inside a don't-care GT above which
            the prediction is dropped.
    """
    if len(gt) != len(ignore):
        raise ValueError(f"{len(gt)} GT polygons but {len(ignore)} ignore flags")
    g = [to_shapely(p) for p in gt]
    d = [to_shapely(p) for p in preds]
    care = np.array([not f for f in ignore], dtype=bool)
    g_area = np.array([p.area for p in g])
    d_area = np.array([p.area for p in d])
    inter = _intersections(g, d)

    keep = np.ones(len(d), dtype=bool)
    if (~care).any() and len(d):
        inside = inter[~care] / np.maximum(d_area[None, :], 1e-12)
        keep = ~(inside > ignore_overlap).any(axis=0)

    union = g_area[:, None] + d_area[None, :] - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
    iou[~care, :] = 0.0
    iou[:, ~keep] = 0.0
    matched = 0
    gi, di = np.nonzero(iou >= iou_threshold)
    order = np.argsort(-iou[gi, di], kind="stable")
    used_g: set[int] = set()
    used_d: set[int] = set()
    for k in order:
        a, b = int(gi[k]), int(di[k])
        if a not in used_g and b not in used_d:
            used_g.add(a)
            used_d.add(b)
            matched += 1
    return MatchCounts(matched=matched, num_gt=int(care.sum()), num_pred=int(keep.sum()))


def scores(matched: float, num_gt: float, num_pred: float) -> dict[str, float]:
    """Precision, recall and hmean from global counts (0 where undefined, as ICDAR does)."""
    precision = matched / num_pred if num_pred > 0 else 0.0
    recall = matched / num_gt if num_gt > 0 else 0.0
    total = precision + recall
    hmean = 2 * precision * recall / total if total > 0 else 0.0
    return {"precision": float(precision), "recall": float(recall), "hmean": float(hmean)}
