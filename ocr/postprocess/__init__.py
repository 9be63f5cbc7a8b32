"""Post-processing: ``postprocess(output, metas) -> list[list[Prediction]]`` (original coords)."""

from ocr.postprocess.craft import CraftPostProcessor
from ocr.postprocess.db import DBPostProcessor

__all__ = ["CraftPostProcessor", "DBPostProcessor"]
