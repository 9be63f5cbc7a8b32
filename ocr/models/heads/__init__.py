"""Heads turn the neck output into a :class:`ocr.types.DetectionOutput`."""

from ocr.models.heads.craft import CraftHead
from ocr.models.heads.db import DBHead

__all__ = ["CraftHead", "DBHead"]
