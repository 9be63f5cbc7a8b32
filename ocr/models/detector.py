"""A detector is a backbone, a neck and a head; variants swap parts, never copy classes.

Hydra builds it from ``_target_`` entries. The neck and head usually depend on the channels
of the part before them, which a config cannot know for an arbitrary timm backbone, so they
may be given as factories (``_partial_: true``) that the detector calls with
``in_channels``::

    _target_: ocrtop.ocr.models.Detector
    backbone: {_target_: ocrtop.ocr.models.TimmBackbone, name: resnet18, out_strides: [4, 8, 16,
    32]}
    neck: {_target_: ocrtop.ocr.models.necks.FPN, _partial_: true, inner_channels: 256, fusion: asf}
    head: {_target_: ocrtop.ocr.models.heads.DBHead, _partial_: true, k: 50}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ocrtop.ocr.types import DetectionOutput

PartFactory = Callable[..., nn.Module]
"""Builds a neck or head when called as ``factory(in_channels=...)``."""


def _build(part: nn.Module | PartFactory, in_channels: Any, role: str) -> nn.Module:
    if isinstance(part, nn.Module):
        return part
    if not callable(part):
        raise TypeError(f"model.{role} must be an nn.Module or a factory (_partial_: true)")
    return part(in_channels=in_channels)


class Detector(nn.Module):
    """``forward(images) -> DetectionOutput`` for any backbone/neck/head combination.

    Args:
        backbone: a module returning a list of feature maps and exposing ``out_channels``.
        neck: a module, or a factory called with ``in_channels=backbone.out_channels``.
        head: a module, or a factory called with ``in_channels=neck.out_channels``.
    """

    def __init__(
        self,
        backbone: nn.Module,
        neck: nn.Module | PartFactory,
        head: nn.Module | PartFactory,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.neck = _build(neck, list(getattr(backbone, "out_channels", [])), "neck")
        self.head = _build(head, getattr(self.neck, "out_channels", None), "head")

    def forward(self, images: torch.Tensor) -> DetectionOutput:
        """Run the three parts; ``output.stride`` is measured from the map size, so it is
        right for whatever combination the config chose."""
        out = self.head(self.neck(self.backbone(images)))
        if not isinstance(out, DetectionOutput):
            raise TypeError(f"{type(self.head).__name__} must return a DetectionOutput")
        ref = next(
            (m for m in (out.prob_map, out.region_map) if m is not None),
            None,
        )
        if ref is None:
            raise ValueError(f"{type(self.head).__name__} produced neither prob_map nor region_map")
        in_h, map_h = images.shape[-2], ref.shape[-2]
        if in_h % map_h or images.shape[-1] % ref.shape[-1]:
            raise ValueError(
                f"output maps {tuple(ref.shape[-2:])} do not divide the input "
                f"{tuple(images.shape[-2:])}; input sides must be multiples of 32"
            )
        out.stride = in_h // map_h
        return out
