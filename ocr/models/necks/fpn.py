"""The DBNet feature pyramid: top-down FPN, every level up-sampled to stride 4 and fused.

``fusion="concat"`` is DBNet; ``fusion="asf"`` is DBNet++ (adaptive scale fusion). Keeping
the variant a constructor argument means one class, one config key, and no copied model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ocrtop.ocr.models.necks.asf import AdaptiveScaleFusion, Normalisation


def _conv_bn_relu(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=k // 2, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class FPN(nn.Module):
    """Top-down pyramid whose levels are resized to the finest one and fused.

    Args:
        in_channels: channels of the backbone levels, shallow first (the detector passes
            ``backbone.out_channels`` when the neck is configured with ``_partial_: true``).
        inner_channels: channels of the fused output; split evenly across levels.
        fusion: ``concat`` (DBNet) or ``asf`` (DBNet++).
        asf_normalisation: how ASF normalises its per-level weights (``sigmoid`` as in the
            paper, or ``softmax``). Ignored for ``concat``.

    Attributes:
        out_channels: channels of the output map (``inner_channels``).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        inner_channels: int = 256,
        fusion: Literal["concat", "asf"] = "concat",
        asf_normalisation: Normalisation = "sigmoid",
    ) -> None:
        super().__init__()
        levels = len(in_channels)
        if levels < 2:
            raise ValueError(f"FPN needs at least 2 backbone levels, got in_channels={in_channels}")
        if inner_channels % levels:
            raise ValueError(
                f"model.neck.inner_channels={inner_channels} must be divisible by the number "
                f"of backbone levels ({levels})"
            )
        if fusion not in ("concat", "asf"):
            raise ValueError(f"model.neck.fusion={fusion!r}; expected 'concat' or 'asf'")
        per_level = inner_channels // levels
        self.lateral = nn.ModuleList(
            nn.Conv2d(c, inner_channels, 1, bias=False) for c in in_channels
        )
        self.smooth = nn.ModuleList(
            _conv_bn_relu(inner_channels, per_level, 3) for _ in in_channels
        )
        self.asf = (
            AdaptiveScaleFusion(per_level, levels, asf_normalisation) if fusion == "asf" else None
        )
        self.out_channels = inner_channels

    def levels(self, feats: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        """Top-down merged levels, each resized to the finest level's size."""
        if len(feats) != len(self.lateral):
            raise ValueError(f"FPN built for {len(self.lateral)} levels, got {len(feats)}")
        lat = [conv(f) for conv, f in zip(self.lateral, feats, strict=True)]
        for i in range(len(lat) - 1, 0, -1):
            up = F.interpolate(lat[i], size=lat[i - 1].shape[-2:], mode="nearest")
            lat[i - 1] = lat[i - 1] + up
        size = lat[0].shape[-2:]
        outs = [conv(x) for conv, x in zip(self.smooth, lat, strict=True)]
        return [outs[0]] + [F.interpolate(o, size=size, mode="nearest") for o in outs[1:]]

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Fuse backbone levels into one map at the finest level's stride."""
        levels = self.levels(feats)
        if self.asf is not None:
            return self.asf(levels)
        return torch.cat(levels, dim=1)
