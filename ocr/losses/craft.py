"""CRAFT loss: pixel MSE on region and affinity heatmaps with 3:1 hard-negative mining.

Text covers a small fraction of an image, so a plain MSE is dominated by background and a
model that predicts zeros everywhere scores well. As in CRAFT's training code, each image
is mined separately (:func:`~ocrtop.ocr.losses.ohem.ohem_mean`, one row per image).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ocrtop.ocr.data.sample import target_map
from ocrtop.ocr.losses.ohem import ohem_mean
from ocrtop.ocr.types import DetectionOutput


def ohem_mse(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor,
    ratio: float = 3.0,
    positive_threshold: float = 0.1,
    empty_negatives: int = 500,
) -> torch.Tensor:
    """Per-image mean of (positive errors + hardest negative errors), averaged over images.

    Args:
        pred: predicted heatmaps ``(N, H, W)``.
        gt: target heatmaps ``(N, H, W)`` in [0, 1].
        mask: 1 where a pixel counts, 0 for don't-care regions.
        ratio: negatives kept per positive pixel.
        positive_threshold: target value from which a pixel counts as positive.
        empty_negatives: negatives kept in an image without positives.
    """
    n = pred.shape[0]
    err = ((pred - gt) ** 2).reshape(n, -1)
    valid = mask.reshape(n, -1) > 0.5
    pos = (gt.reshape(n, -1) >= positive_threshold) & valid
    neg = ~pos & valid
    return ohem_mean(err, pos.float(), neg.float(), ratio, empty_negatives).mean()


class CraftLoss(nn.Module):
    """``loss(output, batch) -> {"loss", "loss_region", "loss_affinity"}``.

    Reads ``region_map``, ``affinity_map`` and ``craft_mask`` (``(N, H/2, W/2)``) from the
    batch; a batch without ``craft_mask`` counts every pixel.

    Args:
        region_weight: weight of the region term.
        affinity_weight: weight of the affinity term.
        ohem_ratio: hard negatives kept per positive pixel.
        positive_threshold: heatmap value from which a pixel is positive.
        empty_negatives: hard negatives kept in an image without text.
    """

    def __init__(
        self,
        region_weight: float = 1.0,
        affinity_weight: float = 1.0,
        ohem_ratio: float = 3.0,
        positive_threshold: float = 0.1,
        empty_negatives: int = 500,
    ) -> None:
        super().__init__()
        self.region_weight = region_weight
        self.affinity_weight = affinity_weight
        self.ohem_ratio = ohem_ratio
        self.positive_threshold = positive_threshold
        self.empty_negatives = empty_negatives

    def _term(self, pred: torch.Tensor, batch: dict[str, Any], key: str) -> torch.Tensor:
        if key not in batch:
            raise KeyError(
                f"batch has no {key!r}; the CRAFT loss needs the CRAFT target builder, "
                f"got keys {sorted(batch)}"
            )
        gt = target_map(batch, key, pred)  # uint8 heatmaps from the workers -> [0, 1]
        if gt.shape != pred.shape:
            raise ValueError(
                f"batch[{key!r}] has shape {tuple(gt.shape)} but the model map is "
                f"{tuple(pred.shape)}; CRAFT targets must be at half the input resolution"
            )
        has_mask = "craft_mask" in batch
        m = target_map(batch, "craft_mask", pred) if has_mask else torch.ones_like(gt)
        return ohem_mse(pred, gt, m, self.ohem_ratio, self.positive_threshold, self.empty_negatives)

    def forward(self, output: DetectionOutput, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Total and components; see the class docstring for the keys."""
        if output.region_map is None or output.affinity_map is None:
            raise ValueError("CraftLoss needs output.region_map and output.affinity_map")
        with torch.autocast(device_type=output.region_map.device.type, enabled=False):
            region = self._term(output.region_map[:, 0].float(), batch, "region_map")
            affinity = self._term(output.affinity_map[:, 0].float(), batch, "affinity_map")
        total = self.region_weight * region + self.affinity_weight * affinity
        return {"loss": total, "loss_region": region, "loss_affinity": affinity}
