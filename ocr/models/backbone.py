"""A timm backbone that returns feature maps chosen by stride.

Levels are picked by their down-sampling factor rather than by timm's ``out_indices``
because index meaning differs between families (``vgg16_bn`` has a stride-1 level that
ResNets lack), while "the stride-4..32 pyramid" means the same thing for every model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import timm
import torch
from torch import nn

from ocrtop.ocr.models.weights import load_exactly, read_state_dict


class TimmBackbone(nn.Module):
    """Any timm model with ``features_only=True``, returning levels at ``out_strides``.

    Args:
        name: timm model name, e.g. ``resnet18``, ``mobilenetv3_small_100``, ``vgg16_bn``.
        pretrained: load timm weights. False by default because ocrtop never downloads at
            run time; set it only where the weights are already cached.
        out_strides: strides (relative to the input) of the levels to return, shallow first.
            When a model has several levels at one stride, the deepest one is used.
        weights: a local timm state dict (``.pth``/``.pt``/``.safetensors``) of the model
            ``name``; loaded after construction, every key checked (see ``weights.py``).
            A classifier head in the file is fine (``features_only`` drops it).

    Attributes:
        out_channels: channels of each returned level, in ``out_strides`` order.
        out_strides: the strides actually returned.
    """

    def __init__(
        self,
        name: str = "resnet18",
        pretrained: bool = False,
        out_strides: Sequence[int] = (4, 8, 16, 32),
        weights: str | None = None,
    ) -> None:
        super().__init__()
        try:
            body = timm.create_model(name, pretrained=pretrained, features_only=True)
        except RuntimeError as exc:  # timm raises RuntimeError("Unknown model (...)")
            raise ValueError(
                f"model.backbone.name={name!r} is not a timm model that supports "
                f"features_only ({exc}); try e.g. 'resnet18' or 'mobilenetv3_small_100'"
            ) from exc
        info: Any = body.feature_info
        reductions = [int(r) for r in info.reduction()]
        channels = [int(c) for c in info.channels()]
        by_stride = {r: i for i, r in enumerate(reductions)}  # later (deeper) index wins
        strides = [int(s) for s in out_strides]
        missing = [s for s in strides if s not in by_stride]
        if missing or not strides:
            raise ValueError(
                f"model.backbone.out_strides={strides} is not available from {name!r}; "
                f"it offers strides {sorted(by_stride)}"
            )
        if strides != sorted(strides):
            raise ValueError(f"model.backbone.out_strides={strides} must be increasing")
        self.body = body
        self.name = name
        self.out_strides = strides
        self._indices = [by_stride[s] for s in strides]
        self.out_channels = [channels[i] for i in self._indices]
        if weights:
            self.load_timm_weights(weights)

    def load_timm_weights(self, path: str) -> None:
        """Load a timm state dict of the full model into the feature extractor."""
        key = "model.net.backbone.weights"
        state = read_state_dict(path, key)
        full = timm.create_model(self.name, pretrained=False).state_dict().keys()
        load_exactly(self.body, state, key, path, ignorable=set(full) - set(self.body.state_dict()))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Return the selected feature maps, shallowest first."""
        feats = self.body(images)
        return [feats[i] for i in self._indices]
