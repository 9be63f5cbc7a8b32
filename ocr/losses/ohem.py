"""Balanced hard-negative mining (OHEM), shared by the DB and CRAFT losses.

Text covers a small fraction of an image, so a plain per-pixel mean is dominated by
background. Each row keeps all its positive pixels and only the ``ratio`` x as many
negatives with the largest loss; a row without positives keeps its ``empty_negatives``
worst pixels so it still teaches "nothing here". DB mines over the whole batch (one row),
CRAFT per image (one row per image).

Mining needs "the k largest" with a k computed on the device. ``topk`` wants k as a Python
int, i.e. a device-to-host copy and a sync every step; on an accelerator the loss sorts
instead (see :func:`sync_free`), with the same result.
"""

from __future__ import annotations

import torch


def sync_free(loss: torch.Tensor) -> bool:
    """Take the path without a host sync: on accelerators, where a sync stalls the queue."""
    return loss.device.type != "cpu"


def ohem_mean(
    loss: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    ratio: float,
    empty_negatives: int,
) -> torch.Tensor:
    """Per row, (sum of positive losses + sum of the hardest negatives) / pixels kept.

    Args:
        loss: non-negative per-pixel losses ``(R, P)``.
        positive: float weights ``(R, P)``, 1 where a pixel is a counted positive.
        negative: float weights ``(R, P)``, 1 where a pixel is a counted negative.
        ratio: negatives kept per positive pixel.
        empty_negatives: negatives kept in a row without positives.

    Returns:
        ``(R,)`` losses; 0 for a row with no counted pixel.
    """
    n_pos = positive.sum(dim=1)
    budget = torch.where(
        n_pos > 0, torch.floor(n_pos * ratio), torch.full_like(n_pos, float(empty_negatives))
    )
    k = torch.minimum(budget, negative.sum(dim=1)).long()
    pos_sum = (loss * positive).sum(dim=1)
    if sync_free(loss):
        # No Python int for k: sort every row and keep ranks below k. On a GPU that costs
        # a sort, where topk's int(k.max()) would stall the CPU until the forward pass
        # finished (no backward kernels queued meanwhile).
        ranked = (loss * negative).sort(dim=1, descending=True).values
        rank = torch.arange(ranked.shape[1], device=loss.device).unsqueeze(0)
        neg_sum = (ranked * (rank < k.unsqueeze(1))).sum(dim=1)
        return (pos_sum + neg_sum) / (n_pos + k).clamp(min=1.0)
    k_max = int(k.max().item())  # on the CPU a plain read, and topk beats a full sort
    if k_max > 0:
        # Non-negatives are zeroed; since every loss is >= 0 and k <= n_neg, the k largest
        # values of the zeroed row sum to the k largest negative losses.
        top = (loss * negative).topk(k_max, dim=1).values
        rank = torch.arange(k_max, device=loss.device).unsqueeze(0)
        neg_sum = (top * (rank < k.unsqueeze(1))).sum(dim=1)
    else:
        neg_sum = torch.zeros_like(pos_sum)
    return (pos_sum + neg_sum) / (n_pos + k).clamp(min=1.0)
