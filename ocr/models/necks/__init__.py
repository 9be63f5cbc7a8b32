"""Necks: FPN (DBNet, DBNet++ with ``fusion="asf"``) and CRAFT's U-shaped decoder."""

from ocrtop.ocr.models.necks.asf import AdaptiveScaleFusion, ScaleChannelSpatialAttention
from ocrtop.ocr.models.necks.fpn import FPN
from ocrtop.ocr.models.necks.unet import UNetDecoder

__all__ = ["FPN", "AdaptiveScaleFusion", "ScaleChannelSpatialAttention", "UNetDecoder"]
