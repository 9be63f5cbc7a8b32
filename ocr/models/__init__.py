"""Detectors as backbone + neck + head (see :mod:`ocrtop.ocr.models.detector` for the config shape).

- DBNet: ``TimmBackbone`` + ``FPN(fusion="concat")`` + ``DBHead``.
- DBNet++: the same with ``FPN(fusion="asf")``.
- CRAFT: ``TimmBackbone(out_strides=[2, 4, 8, 16, 32])`` + ``UNetDecoder`` + ``CraftHead``.
"""

from ocrtop.ocr.models.backbone import TimmBackbone
from ocrtop.ocr.models.detector import Detector
from ocrtop.ocr.models.heads import CraftHead, DBHead
from ocrtop.ocr.models.necks import FPN, AdaptiveScaleFusion, UNetDecoder

__all__ = [
    "FPN",
    "AdaptiveScaleFusion",
    "CraftHead",
    "DBHead",
    "Detector",
    "TimmBackbone",
    "UNetDecoder",
]
