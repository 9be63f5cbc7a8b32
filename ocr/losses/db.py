"""DBNet loss: balanced BCE (prob), dice (binary), masked L1 (threshold).

Weights follow the issue's "5/1/10" in the order the terms are listed there, which is also
mmocr's choice: ``prob_weight=5`` on the probability map, ``binary_weight=1`` on the
approximate binary map and ``thresh_weight=10`` on the threshold map (the paper's
``L = Ls + alpha Lb + beta Lt`` with alpha=1, beta=10, scaled so the prob term dominates).

Batches without any text are handled on purpose rather than by accident: the
hard-negative budget never drops to zero (``empty_negatives``), and dice is smoothed, so an
empty image still teaches the model to predict nothing instead of yielding a constant.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ocrtop.ocr.data.sample import stored_key, target_map
from ocrtop.ocr.losses.ohem import ohem_mean
from ocrtop.ocr.types import DetectionOutput


def _target(batch: dict[str, Any], key: str, like: torch.Tensor) -> torch.Tensor:
    if stored_key(batch, key) is None:
        raise KeyError(
            f"batch has no {key!r}; the DB loss needs the DB target builder "
            f"(data targets for dbnet/dbnetpp), got keys {sorted(batch)}"
        )
    t = target_map(batch, key, like)  # uint8 maps / db_flags bits -> float32 in [0, 1]
    if t.shape != like.shape:
        raise ValueError(
            f"batch[{key!r}] has shape {tuple(t.shape)} but the model map is "
            f"{tuple(like.shape)}; targets must be at the network input resolution"
        )
    return t


def balanced_bce(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor,
    ratio: float = 3.0,
    empty_negatives: int = 1000,
) -> torch.Tensor:
    """BCE over all positives and the hardest ``ratio`` x as many negatives (batch-wide).

    Args:
        pred: probabilities in [0, 1].
        gt: binary targets, same shape.
        mask: 1 where the pixel counts, 0 for ignored regions.
        ratio: negatives kept per positive (3 in DBNet).
        empty_negatives: negatives kept when the batch has no positive pixel at all.
    """
    loss = F.binary_cross_entropy(pred, gt, reduction="none").reshape(1, -1)
    positive = (gt * mask).reshape(1, -1)
    negative = ((1.0 - gt) * mask).reshape(1, -1)
    return ohem_mean(loss, positive, negative, ratio, empty_negatives)[0]


def dice_loss(
    pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, smooth: float = 1.0
) -> torch.Tensor:
    """``1 - (2 |P∩G| + s) / (|P| + |G| + s)``; the smoothing makes empty targets meaningful
    (0 when nothing is predicted, towards 1 when something is) instead of a constant 1."""
    inter = (pred * gt * mask).sum()
    union = (pred * mask).sum() + (gt * mask).sum()
    return 1.0 - (2.0 * inter + smooth) / (union + smooth)


def masked_l1(
    pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor, eps: float = 1e-6
) -> torch.Tensor:
    """Mean absolute error over the masked pixels (0 when the mask is empty)."""
    return ((pred - gt).abs() * mask).sum() / (mask.sum() + eps)


class DBLoss(nn.Module):
    """``loss(output, batch) -> {"loss", "loss_prob", "loss_thresh", "loss_binary"}``.

    Reads ``shrink_map``/``shrink_mask`` (prob and binary terms) and ``thresh_map``/
    ``thresh_mask`` (threshold term) from the batch, all ``(N, H, W)``, through
    ``target_map`` (the binary ones may travel as bits of ``db_flags``). When the output lacks
    ``thresh_map``/``binary_map`` (a head with ``thresh_in_eval=False`` in eval mode), those
    components are left out of the dict and of the total.

    The loss is computed in float32 with autocast off: BCE on probabilities is unsafe in
    half precision, and these few reductions cost nothing next to the model.

    Args:
        prob_weight: weight of the balanced BCE on the probability map.
        binary_weight: weight of the dice loss on the approximate binary map.
        thresh_weight: weight of the masked L1 on the threshold map.
        ohem_ratio: hard negatives kept per positive pixel.
        empty_negatives: hard negatives kept when a batch has no text.
    """

    def __init__(
        self,
        prob_weight: float = 5.0,
        binary_weight: float = 1.0,
        thresh_weight: float = 10.0,
        ohem_ratio: float = 3.0,
        empty_negatives: int = 1000,
    ) -> None:
        super().__init__()
        self.prob_weight = prob_weight
        self.binary_weight = binary_weight
        self.thresh_weight = thresh_weight
        self.ohem_ratio = ohem_ratio
        self.empty_negatives = empty_negatives

    def forward(self, output: DetectionOutput, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Total and components; see the class docstring for the keys."""
        if output.prob_map is None:
            raise ValueError("DBLoss needs output.prob_map; is the model a DB detector?")
        device_type = output.prob_map.device.type
        with torch.autocast(device_type=device_type, enabled=False):
            prob = output.prob_map[:, 0].float()
            shrink = _target(batch, "shrink_map", prob)
            shrink_mask = _target(batch, "shrink_mask", prob)
            out: dict[str, torch.Tensor] = {
                "loss_prob": balanced_bce(
                    prob.clamp(0.0, 1.0), shrink, shrink_mask, self.ohem_ratio, self.empty_negatives
                )
            }
            total = self.prob_weight * out["loss_prob"]
            if output.binary_map is not None:
                binary = output.binary_map[:, 0].float()
                out["loss_binary"] = dice_loss(binary, shrink, shrink_mask)
                total = total + self.binary_weight * out["loss_binary"]
            if output.thresh_map is not None:
                thresh = output.thresh_map[:, 0].float()
                gt = _target(batch, "thresh_map", thresh)
                mask = _target(batch, "thresh_mask", thresh)
                out["loss_thresh"] = masked_l1(thresh, gt, mask)
                total = total + self.thresh_weight * out["loss_thresh"]
        out["loss"] = total
        return out
