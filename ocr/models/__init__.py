"""Detectors as backbone + neck + head (see :mod:`ocr.models.detector` for the config shape).

- DBNet: ``TimmBackbone`` + ``FPN(fusion="concat")`` + ``DBHead``.
- DBNet++: the same with ``FPN(fusion="asf")``.
- CRAFT: ``TimmBackbone(out_strides=[2, 4, 8, 16, 32])`` + ``UNetDecoder`` + ``CraftHead``.
"""

from ocr.models.backbone import TimmBackbone
from ocr.models.detector import Detector
from ocr.models.heads import CraftHead, DBHead
from ocr.models.necks import FPN, AdaptiveScaleFusion, UNetDecoder

__all__ = [
    "FPN",
    "AdaptiveScaleFusion",
    "CraftHead",
    "DBHead",
    "Detector",
    "TimmBackbone",
    "UNetDecoder",
]
