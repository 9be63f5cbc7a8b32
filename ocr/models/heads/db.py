"""The DB head: probability, threshold and differentiable (approximate) binary maps.

Two identical branches up-sample the neck output 4x with transposed convolutions, so a
stride-4 neck yields stride-1 maps. The approximate binary map ``1 / (1 + exp(-k (P - T)))``
is what makes binarisation trainable; at inference only ``P`` is needed.
"""

from __future__ import annotations

import torch
from torch import nn

from ocrtop.ocr.types import DetectionOutput


def _branch(channels: int) -> nn.Sequential:
    mid = max(channels // 4, 1)
    return nn.Sequential(
        nn.Conv2d(channels, mid, 3, padding=1, bias=False),
        nn.BatchNorm2d(mid),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(mid, mid, 2, stride=2),
        nn.BatchNorm2d(mid),
        nn.ReLU(inplace=True),
        nn.ConvTranspose2d(mid, 1, 2, stride=2),
        nn.Sigmoid(),
    )


class DBHead(nn.Module):
    """Differentiable-binarisation head.

    Args:
        in_channels: channels of the neck output (passed by the detector when configured
            with ``_partial_: true``).
        k: amplification factor of the approximate step function (50 in the paper).
        thresh_in_eval: also compute threshold and binary maps in eval mode. On by default
            so that ``val/loss`` is the same quantity as ``train/loss``; prediction-only
            runs can switch it off to save the threshold branch.
    """

    def __init__(self, in_channels: int, k: float = 50.0, thresh_in_eval: bool = True) -> None:
        super().__init__()
        self.k = k
        self.thresh_in_eval = thresh_in_eval
        self.prob = _branch(in_channels)
        self.thresh = _branch(in_channels)

    def forward(self, x: torch.Tensor) -> DetectionOutput:
        """Maps at 4x the input resolution; ``stride`` is set by the detector."""
        prob = self.prob(x)
        if not (self.training or self.thresh_in_eval):
            return DetectionOutput(prob_map=prob)
        thresh = self.thresh(x)
        binary = torch.sigmoid(self.k * (prob - thresh))
        return DetectionOutput(prob_map=prob, thresh_map=thresh, binary_map=binary)
