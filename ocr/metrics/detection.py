"""``DetectionMetric``: ICDAR 2015 precision/recall/hmean over a whole split, DDP-safe.

The matching follows the official ICDAR 2015 protocol (:mod:`ocr.metrics.matching`).
Scores are computed from *global* counts (matches, cared-for GT, kept predictions) summed
over every image, as ICDAR does; a mean of per-image hmeans over-weights images with few
words. The three counts are ``sum`` states, so torchmetrics' sync adds them across ranks
and each rank's images count exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torchmetrics import Metric

from ocr.metrics.matching import check_rule, match_image, scores
from ocr.types import Prediction


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
