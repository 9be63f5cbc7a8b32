"""The CRAFT head: region and affinity heatmaps from the decoder output.

The maps are regressed (MSE against Gaussian heatmaps) without a final activation, as in
the paper; post-processing thresholds them directly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ocrtop.ocr.types import DetectionOutput


class CraftHead(nn.Module):
    """CRAFT's ``conv_cls``: a few convolutions down to two channels.

    Args:
        in_channels: channels of the decoder output.
        upsample: bilinear factor applied before the convolutions. CRAFT's maps are at half
            the input resolution; with a backbone whose finest level is at stride 4 (most
            light timm models without their stride-2 stem level), set 2 to get there.
    """

    def __init__(self, in_channels: int, upsample: int = 1) -> None:
        super().__init__()
        if upsample < 1:
            raise ValueError(f"model.head.upsample={upsample} must be >= 1")
        self.upsample = upsample
        self.cls = nn.Sequential(
            nn.Conv2d(in_channels, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(32, 16, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 16, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 2, 1),
        )

    def forward(self, x: torch.Tensor) -> DetectionOutput:
        """Region and affinity maps; ``stride`` is set by the detector."""
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="bilinear", align_corners=False)
        y = self.cls(x)
        return DetectionOutput(region_map=y[:, 0:1], affinity_map=y[:, 1:2])
