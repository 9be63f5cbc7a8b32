"""The ICDAR 2015 "Incidental Scene Text" detection protocol (IoU variant) for one image.

numpy + shapely, no torch. The rules are those of the competition's official evaluation
script (Challenge 4, task 1), so the figures can be set beside papers and leaderboards:

- Don't-care ground truth (``ignore``; text ``###``) is not counted in recall.
- A detection is dropped (neither a hit nor a false positive) when *more than* half of its
  area (``area_precision`` = 0.5) lies inside **one** don't-care region; as in the official
  script each region is tested on its own, so a detection a quarter inside each of two
  regions stays. A detection of zero area is never dropped.
- A pair matches when ``IoU > 0.5``, strictly: IoU exactly 0.5 is no match.
- Matching is one-to-one and greedy, in ground-truth order, then detection order
  (``rule="icdar2015"``): ground truth ``g`` takes the first still-unmatched detection, in
  the detections' order, whose IoU with it exceeds the threshold. This is not the
  best-IoU assignment; two overlapping candidates can go either way depending on order.
  ``rule="max_iou"`` instead takes pairs from the highest IoU down (ties by ground-truth,
  then detection order); it is *not* the official protocol and exists for comparison.
- The split's precision and recall come from global counts summed over images
  (:func:`scores`), not from a mean of per-image figures.

Self-intersecting polygons are repaired keeping all of their area
(:func:`ocrtop.ocr.metrics.polygons.to_shapely`); the official script's Polygon library works on
the raw outline, so a bow tie may score differently there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ocrtop.ocr.metrics.polygons import intersection_areas, to_shapely

MATCH_RULES = ("icdar2015", "max_iou")
"""Names of the matching rules: ``icdar2015`` (the official one, the default), ``max_iou``."""


@dataclass(frozen=True)
class MatchCounts:
    """Per-image counts; summing them over images gives the split's precision/recall."""

    matched: int
    num_gt: int
    num_pred: int


def check_rule(rule: str) -> str:
    """``rule`` if it names a matching rule.

    Raises:
        ValueError: naming the rule and the valid ones.
    """
    if rule not in MATCH_RULES:
        raise ValueError(f"unknown matching rule {rule!r}; expected one of {MATCH_RULES}")
    return rule


def _greedy_in_order(candidates: np.ndarray) -> int:
    """Official rule: each GT row in order takes its first free candidate column."""
    used = np.zeros(candidates.shape[1], dtype=bool)
    matched = 0
    for row in candidates:
        free = np.flatnonzero(row & ~used)
        if len(free):
            used[free[0]] = True
            matched += 1
    return matched


def _greedy_by_iou(iou: np.ndarray, candidates: np.ndarray) -> int:
    """``max_iou`` rule: pairs from the highest IoU down, each side used once."""
    gi, di = np.nonzero(candidates)  # row-major: ties stay in GT, then detection order
    order = np.argsort(-iou[gi, di], kind="stable")
    used_g: set[int] = set()
    used_d: set[int] = set()
    for k in order:
        a, b = int(gi[k]), int(di[k])
        if a not in used_g and b not in used_d:
            used_g.add(a)
            used_d.add(b)
    return len(used_g)


def match_image(
    gt: Sequence[np.ndarray],
    ignore: Sequence[bool],
    preds: Sequence[np.ndarray],
    iou_threshold: float = 0.5,
    area_precision: float = 0.5,
    rule: str = "icdar2015",
) -> MatchCounts:
    """Count matches, cared-for GT and kept detections for one image.

    Args:
        gt: ground-truth polygons, in the order they are matched.
        ignore: per GT polygon, True for don't-care.
        preds: detected polygons, in the order they are offered to each GT.
        iou_threshold: a match needs IoU strictly above it (0.5 in ICDAR 2015).
        area_precision: a detection with strictly more than this fraction of its area in
            one don't-care region is dropped (0.5 in ICDAR 2015).
        rule: ``"icdar2015"`` or ``"max_iou"``, see the module docstring.
    """
    check_rule(rule)
    if len(gt) != len(ignore):
        raise ValueError(f"{len(gt)} GT polygons but {len(ignore)} ignore flags")
    g = [to_shapely(p) for p in gt]
    d = [to_shapely(p) for p in preds]
    care = np.array([not f for f in ignore], dtype=bool).reshape(-1)
    g_area = np.array([p.area for p in g])
    d_area = np.array([p.area for p in d])
    inter = intersection_areas(g, d)

    keep = np.ones(len(d), dtype=bool)
    if (~care).any() and len(d):
        inside = np.where(d_area[None, :] > 0, inter[~care] / np.maximum(d_area, 1e-300), 0.0)
        keep = np.asarray(~(inside > area_precision).any(axis=0))

    union = g_area[:, None] + d_area[None, :] - inter
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)
    candidates = (iou > iou_threshold) & care[:, None] & keep[None, :]
    if rule == "icdar2015":
        matched = _greedy_in_order(candidates)
    else:
        matched = _greedy_by_iou(iou, candidates)
    return MatchCounts(matched=matched, num_gt=int(care.sum()), num_pred=int(keep.sum()))


def scores(matched: float, num_gt: float, num_pred: float) -> dict[str, float]:
    """Precision, recall and hmean from global counts (0 where undefined, as ICDAR does)."""
    precision = matched / num_pred if num_pred > 0 else 0.0
    recall = matched / num_gt if num_gt > 0 else 0.0
    total = precision + recall
    hmean = 2 * precision * recall / total if total > 0 else 0.0
    return {"precision": float(precision), "recall": float(recall), "hmean": float(hmean)}
