"""CLEval, the character-level detection metric (detection only, "end-to-end off").

numpy + shapely, no torch. CLEval (Baek et al., 2020; the ``cleval`` package of
clovaai/CLEval) scores characters instead of words, so a word split into two detections
or two words merged into one lose a little instead of everything. The rules, as that
package applies them with its defaults:

1. **Pseudo-character centres (PCCs).** Each ground-truth quad gets ``len(text)`` points
   evenly spaced on the line between the midpoints of its left and right edges (top and
   bottom edges when the box's aspect ratio, width / height from its sides, is below
   ``vertical_ratio`` = 0.5: vertical text). A don't-care word's length is estimated from
   its shape: ``min(round(0.5 + max(ar, 1/ar)), 10)``.
2. **Don't-care regions** lose the area of every cared-for word that overlaps them.
3. **Area precision** of a (GT, detection) pair is ``area(GT ∩ det) / area(det)``; a pair
   *qualifies* when it is >= ``area_precision`` (0.3) and the detection holds at least one
   of the word's PCCs (point in polygon, half-open on the edges, as the package's Polygon3).
4. **Detections in don't-care** are dropped when their area precision against one
   don't-care region reaches 0.3 (no PCC needed), or when their area precisions summed
   over the don't-care regions whose PCCs they hold reach 0.3.
5. **Matches** (cared-for words and kept detections only) are the union of: one-to-one (the
   pair qualifies, and neither side qualifies with anything else, don't-care included);
   one-to-many (a word qualifies with two or more detections: a split); many-to-one (a
   detection holds PCCs of two or more words whose area precisions sum to >= 0.3: a merge).
6. **Counts per image.** True positives are the distinct PCCs held by a matched detection.
   Recall's denominator is the cared-for words' characters; precision's is the PCCs held
   by matched detections (a PCC inside two of them counts twice) plus, for each unmatched
   kept detection, ``min(round(0.5 + 1 / ar), 10)`` characters (``ar`` its width / height;
   that is the package's formula: a wide false positive costs one character, a tall one up
   to ten). Granularity penalties: a word matched by ``k`` detections costs recall
   ``k - 1`` characters, a detection matched to ``k`` words costs precision ``k - 1``.
7. **Scores** come from those counts summed over the split:
   ``recall = max(0, tp - split penalty) / gt chars``,
   ``precision = max(0, tp - merge penalty) / det chars``, hmean their harmonic mean.

Differences from the package, on purpose: coordinates stay floats (the package truncates a
quad's corners to integers for its areas); a polygon of more or fewer than 4 points uses
its minimum-area rectangle for PCCs and aspect ratio (the package reads only quads here);
a self-intersecting outline keeps all its area (:func:`ocrtop.ocr.metrics.polygons.to_shapely`;
Polygon3 gives a bow tie zero area); and a cared-for word without text gets the estimated
length of rule 1 when ``estimate_missing_text`` is on (the package gives it no characters,
which makes CLEval 0 on box-only labels). ``benchmarks/bench_cleval.py`` checks agreement
with the package on random images.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from ocrtop.ocr.geometry import min_area_box
from ocrtop.ocr.metrics.polygons import Area, intersection_areas, to_shapely


@dataclass(frozen=True)
class CLEvalConfig:
    """The package's defaults; the names say what each threshold applies to."""

    area_precision: float = 0.3
    recall_penalty: float = 1.0
    precision_penalty: float = 1.0
    vertical_ratio: float = 0.5
    estimate_missing_text: bool = True


@dataclass(frozen=True)
class CLEvalCounts:
    """Sums that add over images (and ranks); :meth:`scores` turns them into P/R/H."""

    num_char_gt: int = 0
    num_char_det: int = 0
    num_char_tp: int = 0
    gran_recall: float = 0.0
    gran_precision: float = 0.0
    num_split: int = 0
    num_merged: int = 0

    def __add__(self, other: CLEvalCounts) -> CLEvalCounts:
        return CLEvalCounts(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(CLEvalCounts))
        )

    def scores(self) -> dict[str, float]:
        """``{"precision", "recall", "hmean"}``; 0 where a denominator is 0."""
        return cleval_scores(
            self.num_char_gt,
            self.num_char_det,
            self.num_char_tp,
            self.gran_recall,
            self.gran_precision,
        )


def cleval_scores(
    num_char_gt: float,
    num_char_det: float,
    num_char_tp: float,
    gran_recall: float,
    gran_precision: float,
) -> dict[str, float]:
    """Precision, recall and hmean from (summed) character counts and penalties."""
    recall = max(0.0, num_char_tp - gran_recall) / num_char_gt if num_char_gt > 0 else 0.0
    precision = max(0.0, num_char_tp - gran_precision) / num_char_det if num_char_det > 0 else 0.0
    total = recall + precision
    hmean = 2 * recall * precision / total if total > 0 else 0.0
    return {"precision": float(precision), "recall": float(recall), "hmean": float(hmean)}


def as_quad(points: np.ndarray) -> np.ndarray:
    """The ``(4, 2)`` corners a word's reading direction is taken from.

    A quad is used as given (first edge = top); any other outline uses its minimum-area
    rectangle, clockwise from the top-left corner.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 4:
        return pts
    if len(pts) < 3 or not np.all(np.isfinite(pts)):
        return np.zeros((4, 2))
    return min_area_box(pts)[0]


def aspect_ratio(quad: np.ndarray) -> float:
    """Mean length of the top and bottom edges over that of the right and left ones."""
    sides = np.hypot(*(quad - np.roll(quad, -1, axis=0)).T)  # top, right, bottom, left
    horizontal = (float(sides[0]) + float(sides[2])) / 2
    vertical = (float(sides[1]) + float(sides[3])) / 2
    return (horizontal + 1e-5) / (vertical + 1e-5)


def estimated_length(quad: np.ndarray) -> int:
    """Characters assumed for a word without text (don't-care): its elongation, 1..10."""
    ratio = aspect_ratio(quad)
    return min(round(0.5 + max(ratio, 1 / ratio)), 10)


def false_positive_chars(quad: np.ndarray) -> int:
    """Characters charged for an unmatched detection (the package's formula)."""
    return min(round(0.5 + 1 / (1e-5 + aspect_ratio(quad))), 10)


def char_centers(quad: np.ndarray, length: int, vertical_ratio: float = 0.5) -> np.ndarray:
    """``(length, 2)`` pseudo-character centres along the word's reading direction."""
    if length <= 0:
        return np.zeros((0, 2))
    if aspect_ratio(quad) >= vertical_ratio:
        left_top, right_top, right_bottom, left_bottom = quad
    else:  # vertical text reads from the bottom edge to the top edge
        right_top, right_bottom, left_bottom, left_top = quad
    start = (left_top + left_bottom) / 2
    end = (right_top + right_bottom) / 2
    unit = (end - start) / length
    return start + unit / 2 + unit * np.arange(length)[:, None]


def points_inside(outline: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Even-odd point-in-polygon test of ``points`` against the raw ``outline``.

    Half-open on the edges (a point on a left or bottom edge of an axis-aligned box is in,
    on a right or top edge out), so two boxes sharing an edge never both hold a point:
    the crossing-number rule Polygon3 uses, whose results the package's figures carry.
    """
    out = np.zeros(len(points), dtype=bool)
    poly = np.asarray(outline, dtype=np.float64).reshape(-1, 2)
    if len(poly) < 3 or not len(points) or not np.all(np.isfinite(poly)):
        return out
    x, y = points[:, 0:1], points[:, 1:2]  # (m, 1) against the (n,) edges
    xi, yi = poly[:, 0], poly[:, 1]
    xj, yj = np.roll(xi, 1), np.roll(yi, 1)
    spans = (yi <= y) & (y < yj) | (yj <= y) & (y < yi)
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = x < (xj - xi) * (y - yi) / (yj - yi) + xi
    return np.asarray((spans & crossing).sum(axis=1) % 2 == 1)


def _inside_matrices(outlines: list[np.ndarray], centers: list[np.ndarray]) -> list[np.ndarray]:
    """Per word, ``(num_det, len(word))``: which detections hold which of its PCCs.

    All PCCs are tested at once per detection, after a bounding-box cut.
    """
    sizes = [len(c) for c in centers]
    flat = np.concatenate([*centers, np.zeros((0, 2))])
    table = np.zeros((len(outlines), len(flat)), dtype=bool)
    for d, outline in enumerate(outlines):
        if len(outline) < 3 or not np.all(np.isfinite(outline)) or not len(flat):
            continue
        (x0, y0), (x1, y1) = outline.min(axis=0), outline.max(axis=0)
        near = np.flatnonzero(
            (flat[:, 0] >= x0) & (flat[:, 0] <= x1) & (flat[:, 1] >= y0) & (flat[:, 1] <= y1)
        )
        if len(near):
            table[d, near] = points_inside(outline, flat[near])
    return np.split(table, np.cumsum(sizes)[:-1], axis=1) if sizes else []


def _subtract_cared_words(geoms: list[Area], dont_care: np.ndarray) -> list[Area]:
    """Rule 2: a don't-care region minus every cared-for word overlapping it."""
    out = list(geoms)
    care_idx, dc_idx = np.flatnonzero(~dont_care), np.flatnonzero(dont_care)
    overlap = intersection_areas([geoms[d] for d in dc_idx], [geoms[g] for g in care_idx]) > 0
    for row, d in enumerate(dc_idx):
        for g in care_idx[overlap[row]]:
            out[d] = out[d].difference(out[g])
    return out


def _dont_care_detections(
    ap: np.ndarray, holds: np.ndarray, dont_care: np.ndarray, cfg: CLEvalConfig
) -> np.ndarray:
    """Rule 4, per detection. Sums run in float32, as the package's do, for equal ties."""
    dropped = np.zeros(ap.shape[1], dtype=bool)
    dc_idx = np.flatnonzero(dont_care)
    if not len(dc_idx):
        return dropped
    for d in range(ap.shape[1]):
        if (ap[dc_idx, d] >= cfg.area_precision).any():  # no PCC needed for this one
            dropped[d] = True
            continue
        total = np.float32(0.0)
        for g in dc_idx:
            if holds[g, d]:
                total += ap[g, d]
        dropped[d] = bool(total >= cfg.area_precision)
    return dropped


def _matches(
    ap: np.ndarray,
    qualifies: np.ndarray,
    holds: np.ndarray,
    valid_gt: np.ndarray,
    valid_det: np.ndarray,
    cfg: CLEvalConfig,
) -> np.ndarray:
    """Rule 5: the ``(gt, det)`` match matrix, the union of the three kinds of match."""
    match = np.zeros(ap.shape, dtype=bool)
    per_gt = qualifies.sum(axis=1)  # over every detection, don't-care ones included
    per_det = qualifies.sum(axis=0)
    one = qualifies & (per_gt == 1)[:, None] & (per_det == 1)[None, :]
    match |= one & valid_gt[:, None] & valid_det[None, :]
    for g in np.flatnonzero(valid_gt):  # one-to-many: a split word
        dets = np.flatnonzero(qualifies[g] & valid_det)
        if len(dets) >= 2:
            match[g, dets] = True
    for d in np.flatnonzero(valid_det):  # many-to-one: merged words
        gts = np.flatnonzero(holds[:, d] & valid_gt)
        if len(gts) >= 2 and float(ap[gts, d].astype(np.float64).sum()) >= cfg.area_precision:
            match[gts, d] = True
    return match


def cleval_image(
    gt: Sequence[np.ndarray],
    texts: Sequence[str] | None,
    ignore: Sequence[bool],
    preds: Sequence[np.ndarray],
    config: CLEvalConfig | None = None,
) -> CLEvalCounts:
    """CLEval counts of one image.

    Args:
        gt: ground-truth polygons (quads read top edge first).
        texts: per GT word its transcription (only its length is used), or None when the
            labels have no text (every word then gets the estimated length).
        ignore: per GT word, True for don't-care (``###``).
        preds: detected polygons.
        config: thresholds and penalties (:class:`CLEvalConfig`).
    """
    cfg = config or CLEvalConfig()
    if len(gt) != len(ignore) or (texts is not None and len(texts) != len(gt)):
        raise ValueError(
            f"{len(gt)} GT polygons, {len(ignore)} ignore flags and "
            f"{'no' if texts is None else len(texts)} texts; expected one of each per word"
        )
    dont_care = np.array([bool(f) for f in ignore], dtype=bool).reshape(-1)
    gt_quads = [as_quad(p) for p in gt]
    lengths = np.zeros(len(gt), dtype=np.int64)
    for i, quad in enumerate(gt_quads):
        text = texts[i] if texts is not None else ""
        if dont_care[i] or (not text and cfg.estimate_missing_text):
            lengths[i] = estimated_length(quad)
        else:
            lengths[i] = len(text)
    centers = [
        char_centers(q, int(n), cfg.vertical_ratio) for q, n in zip(gt_quads, lengths, strict=True)
    ]

    det_outlines = [np.asarray(p, dtype=np.float64).reshape(-1, 2) for p in preds]
    det_geoms = [to_shapely(p) for p in det_outlines]
    gt_geoms = _subtract_cared_words([to_shapely(p) for p in gt], dont_care)
    det_area = np.array([g.area for g in det_geoms])
    inter = intersection_areas(gt_geoms, det_geoms)
    with np.errstate(divide="ignore", invalid="ignore"):
        ap = np.where(det_area > 0, inter / det_area, 0.0).astype(np.float32)
    # inside[g] is (num_det, len_g): which detections hold which of word g's PCCs.
    inside = _inside_matrices(det_outlines, centers)
    holds = np.array([m.sum(axis=1) > 0 for m in inside], dtype=bool).reshape(len(gt), len(preds))
    qualifies = (ap >= cfg.area_precision) & holds

    valid_gt = ~dont_care
    valid_det = ~_dont_care_detections(ap, holds, dont_care, cfg)
    match = _matches(ap, qualifies, holds, valid_gt, valid_det, cfg)

    tp = held = 0
    for g, m in enumerate(inside):
        matched_inside = m & match[g][:, None]
        tp += int(matched_inside.any(axis=0).sum())
        held += int(matched_inside.sum())
    dets_per_gt = match.sum(axis=1)
    gts_per_det = match.sum(axis=0)
    unmatched = np.flatnonzero(valid_det & (gts_per_det == 0))
    fp_chars = sum(false_positive_chars(as_quad(det_outlines[d])) for d in unmatched)
    return CLEvalCounts(
        num_char_gt=int(lengths[valid_gt].sum()),
        num_char_det=held + fp_chars,
        num_char_tp=tp,
        gran_recall=float(np.maximum(dets_per_gt[valid_gt] - 1, 0).sum() * cfg.recall_penalty),
        gran_precision=float(
            np.maximum(gts_per_det[valid_det] - 1, 0).sum() * cfg.precision_penalty
        ),
        num_split=int((dets_per_gt[valid_gt] > 1).sum()),
        num_merged=int((gts_per_det[valid_det] > 1).sum()),
    )
