"""Adaptive Scale Fusion (DBNet++): one attention weight map per pyramid level.

DBNet fuses its FPN levels by plain concatenation, so every scale contributes equally
everywhere. ASF (Liao et al., TPAMI 2022) learns, per pixel, how much each scale should
contribute: scale-channel-spatial attention over the concatenated levels yields one weight
map per level, and each level is multiplied by its map before concatenation. It is used by
:class:`ocrtop.ocr.models.necks.fpn.FPN` when ``fusion="asf"``, which is all DBNet++ changes.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

Normalisation = Literal["sigmoid", "softmax"]


def _conv(cin: int, cout: int, k: int, act: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), act)


class ScaleChannelSpatialAttention(nn.Module):
    """Attention weights ``(N, num_levels, H, W)`` from concatenated pyramid features.

    Args:
        channels: channels of the concatenated input.
        num_levels: how many weight maps to produce (one per level).
        normalisation: ``sigmoid`` (the paper: each weight independently in (0, 1)) or
            ``softmax`` (weights compete and sum to 1 across levels at every pixel).
    """

    def __init__(self, channels: int, num_levels: int, normalisation: Normalisation = "sigmoid"):
        super().__init__()
        if normalisation not in ("sigmoid", "softmax"):
            raise ValueError(
                f"model.neck.asf_normalisation={normalisation!r}; expected 'sigmoid' or 'softmax'"
            )
        self.normalisation = normalisation
        hidden = max(channels // 4, 1)
        self.channel_wise = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            _conv(channels, hidden, 1, nn.ReLU(inplace=True)),
            _conv(hidden, channels, 1, nn.Sigmoid()),
        )
        self.spatial_wise = nn.Sequential(
            _conv(1, 1, 3, nn.ReLU(inplace=True)),
            _conv(1, 1, 1, nn.Sigmoid()),
        )
        self.to_levels = nn.Conv2d(channels, num_levels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return normalised per-level weights for features ``x`` ``(N, C, H, W)``."""
        out = self.channel_wise(x) + x  # scale/channel attention, broadcast over H, W
        out = self.spatial_wise(out.mean(dim=1, keepdim=True)) + out
        logits = self.to_levels(out)
        if self.normalisation == "softmax":
            return logits.softmax(dim=1)
        return logits.sigmoid()


class AdaptiveScaleFusion(nn.Module):
    """Weight each level by its attention map, then concatenate.

    Args:
        level_channels: channels of each (already equal-sized) level.
        num_levels: number of levels.
        normalisation: see :class:`ScaleChannelSpatialAttention`.
    """

    def __init__(
        self, level_channels: int, num_levels: int, normalisation: Normalisation = "sigmoid"
    ) -> None:
        super().__init__()
        channels = level_channels * num_levels
        self.num_levels = num_levels
        self.pre = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )
        self.attention = ScaleChannelSpatialAttention(channels, num_levels, normalisation)

    def weights(self, levels: list[torch.Tensor]) -> torch.Tensor:
        """The attention maps ``(N, num_levels, H, W)``, exposed for tests and probes."""
        if len(levels) != self.num_levels:
            raise ValueError(f"ASF built for {self.num_levels} levels, got {len(levels)}")
        return self.attention(self.pre(torch.cat(levels, dim=1)))

    def forward(self, levels: list[torch.Tensor]) -> torch.Tensor:
        """Fuse equal-sized levels into one ``(N, level_channels * num_levels, H, W)`` map."""
        w = self.weights(levels)
        return torch.cat([w[:, i : i + 1] * lvl for i, lvl in enumerate(levels)], dim=1)
