"""Target builders run inside the Dataset (DataLoader workers), never in the loss.

A builder is called as ``builder(words, height, width) -> dict[str, np.ndarray]`` with
words in network-input pixel coordinates.
"""

from ocrtop.ocr.data.targets.craft import CraftTargets
from ocrtop.ocr.data.targets.db import DBTargets

__all__ = ["CraftTargets", "DBTargets"]
