"""``DetectionMetric`` (ICDAR 2015) and ``CLEvalMetric``: scores of a whole split, DDP-safe.

The matching follows the official ICDAR 2015 protocol (:mod:`ocrtop.ocr.metrics.matching`).
Scores are computed from *global* counts (matches, cared-for GT, kept predictions) summed
over every image, as ICDAR does; a mean of per-image hmeans over-weights images with few
words. The three counts are ``sum`` states, so torchmetrics' sync adds them across ranks
and each rank's images count exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

import numpy as np
import torch
from torchmetrics import Metric

from ocrtop.ocr.metrics.cleval import CLEvalConfig, CLEvalCounts, cleval_image, cleval_scores
from ocrtop.ocr.metrics.matching import check_rule, match_image, scores
from ocrtop.ocr.types import Prediction


class DetectionMetric(Metric):
    """``update(preds, polygons, ignore)`` per batch, ``compute()`` per split.

    Args:
        iou_threshold: a match needs IoU strictly above it; 0.5 in ICDAR 2015.
        area_precision: a prediction with more than this fraction of its area inside one
            don't-care GT is dropped; 0.5 in ICDAR 2015.
        match_rule: ``"icdar2015"`` (official: greedy in GT order, then prediction order)
            or ``"max_iou"`` (highest IoU first; not the official protocol).
    """

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    matched: torch.Tensor
    num_gt: torch.Tensor
    num_pred: torch.Tensor

    def __init__(
        self,
        iou_threshold: float = 0.5,
        area_precision: float = 0.5,
        match_rule: str = "icdar2015",
    ) -> None:
        super().__init__()
        self.iou_threshold = iou_threshold
        self.area_precision = area_precision
        self.match_rule = check_rule(match_rule)
        for name in ("matched", "num_gt", "num_pred"):
            self.add_state(name, default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(
        self,
        preds: Sequence[Sequence[Prediction]],
        polygons: Sequence[Sequence[np.ndarray]],
        ignore: Sequence[Sequence[bool]],
    ) -> None:
        """Match one batch. All three lists are per image, in original coordinates."""
        if not len(preds) == len(polygons) == len(ignore):
            raise ValueError(
                f"update() got {len(preds)} prediction lists, {len(polygons)} polygon lists "
                f"and {len(ignore)} ignore lists; expected one of each per image"
            )
        m = g = p = 0
        for image_preds, gt, flags in zip(preds, polygons, ignore, strict=True):
            counts = match_image(
                gt,
                flags,
                [pr.points for pr in image_preds],
                self.iou_threshold,
                self.area_precision,
                self.match_rule,
            )
            m, g, p = m + counts.matched, g + counts.num_gt, p + counts.num_pred
        self.matched += m
        self.num_gt += g
        self.num_pred += p

    def compute(self) -> dict[str, torch.Tensor]:
        """``{"precision", "recall", "hmean"}`` as float tensors, from the global counts."""
        result = scores(float(self.matched), float(self.num_gt), float(self.num_pred))
        return {k: torch.tensor(v, dtype=torch.float32) for k, v in result.items()}


class CLEvalMetric(Metric):
    """CLEval (:mod:`ocrtop.ocr.metrics.cleval`) over a whole split, DDP-safe.

    ``update(preds, polygons, ignore, texts)`` per batch, ``compute()`` per split. Every
    state is a sum of :class:`~ocrtop.ocr.metrics.cleval.CLEvalCounts` fields, so torchmetrics'
    sync adds them across ranks and the split's scores come from global character counts.

    Args:
        config: thresholds and penalties; the reference package's defaults when None.
    """

    full_state_update = False
    higher_is_better = True
    is_differentiable = False

    num_char_gt: torch.Tensor
    num_char_det: torch.Tensor
    num_char_tp: torch.Tensor
    gran_recall: torch.Tensor
    gran_precision: torch.Tensor
    num_split: torch.Tensor
    num_merged: torch.Tensor

    def __init__(self, config: CLEvalConfig | None = None) -> None:
        super().__init__()
        self.config = config or CLEvalConfig()
        for f in fields(CLEvalCounts):
            dtype = torch.float64 if f.type in (float, "float") else torch.long
            self.add_state(f.name, default=torch.tensor(0, dtype=dtype), dist_reduce_fx="sum")

    def update(
        self,
        preds: Sequence[Sequence[Prediction]],
        polygons: Sequence[Sequence[np.ndarray]],
        ignore: Sequence[Sequence[bool]],
        texts: Sequence[Sequence[str]] | None = None,
    ) -> None:
        """Score one batch. ``texts`` (per image, per GT word) may be None: no text labels."""
        if not len(preds) == len(polygons) == len(ignore) or (
            texts is not None and len(texts) != len(preds)
        ):
            raise ValueError(
                f"update() got {len(preds)} prediction lists, {len(polygons)} polygon lists, "
                f"{len(ignore)} ignore lists and {'no' if texts is None else len(texts)} "
                "text lists; expected one of each per image"
            )
        total = CLEvalCounts()
        for i, (image_preds, gt, flags) in enumerate(zip(preds, polygons, ignore, strict=True)):
            words = texts[i] if texts is not None else None
            points = [pr.points for pr in image_preds]
            total = total + cleval_image(gt, words, flags, points, self.config)
        for f in fields(CLEvalCounts):
            state = getattr(self, f.name)
            state += getattr(total, f.name)

    def compute(self) -> dict[str, torch.Tensor]:
        """``{"precision", "recall", "hmean"}`` as float tensors, from the global counts."""
        result = cleval_scores(
            float(self.num_char_gt),
            float(self.num_char_det),
            float(self.num_char_tp),
            float(self.gran_recall),
            float(self.gran_precision),
        )
        return {k: torch.tensor(v, dtype=torch.float32) for k, v in result.items()}
