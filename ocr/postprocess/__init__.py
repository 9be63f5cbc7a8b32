"""Post-processing: ``postprocess(output, metas) -> list[list[Prediction]]`` (original coords)."""

from ocr.postprocess.craft import CraftPostProcess
from ocr.postprocess.db import DBPostProcess

__all__ = ["CraftPostProcess", "DBPostProcess"]
