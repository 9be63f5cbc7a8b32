"""Post-processing: ``postprocess(output, metas) -> list[list[Prediction]]`` (original coords)."""

from ocrtop.ocr.postprocess.craft import CraftPostProcessor
from ocrtop.ocr.postprocess.db import DBPostProcessor

__all__ = ["CraftPostProcessor", "DBPostProcessor"]
