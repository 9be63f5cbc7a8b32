"""Heads turn the neck output into a :class:`ocrtop.ocr.types.DetectionOutput`."""

from ocrtop.ocr.models.heads.craft import CraftHead
from ocrtop.ocr.models.heads.db import DBHead

__all__ = ["CraftHead", "DBHead"]
