"""CRAFT's U-shaped decoder: from the deepest level up, upsample, concatenate, convolve.

Kept as a neck so CRAFT is the same backbone + neck + head composition as DBNet.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def _double_conv(cin: int, mid: int, cout: int) -> nn.Sequential:
    """CRAFT's ``double_conv``: 1x1 squeeze then 3x3, each with BN + ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, mid, 1, bias=False),
        nn.BatchNorm2d(mid),
        nn.ReLU(inplace=True),
        nn.Conv2d(mid, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class UNetDecoder(nn.Module):
    """Decode a feature pyramid back to the finest level's resolution.

    Stage ``i`` (merging into level ``i``, 0 = finest) outputs ``channels * 2**i`` channels,
    which with ``channels=32`` and five levels reproduces CRAFT's 256/128/64/32.

    Args:
        in_channels: channels of the backbone levels, shallow first.
        channels: output channels of the last (finest) stage.

    Attributes:
        out_channels: ``channels``.
    """

    def __init__(self, in_channels: Sequence[int], channels: int = 32) -> None:
        super().__init__()
        if len(in_channels) < 2:
            raise ValueError(f"UNetDecoder needs at least 2 levels, got in_channels={in_channels}")
        stages: list[nn.Module] = []
        below = in_channels[-1]
        for i in range(len(in_channels) - 2, -1, -1):
            out = channels * 2**i
            stages.append(_double_conv(below + in_channels[i], 2 * out, out))
            below = out
        self.stages = nn.ModuleList(stages)
        self.out_channels = channels

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Return the decoded map at the finest level's size."""
        if len(feats) != len(self.stages) + 1:
            raise ValueError(
                f"UNetDecoder built for {len(self.stages) + 1} levels, got {len(feats)}"
            )
        x = feats[-1]
        for stage, skip in zip(self.stages, reversed(feats[:-1]), strict=True):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = stage(torch.cat([x, skip], dim=1))
        return x
