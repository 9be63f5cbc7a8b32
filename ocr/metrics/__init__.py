"""Detection metric (ICDAR 2015 IoU matching) as a torchmetrics Metric and for JSON files.

``DetectionMetric`` is imported lazily so that ``ocrtop eval`` (which only needs
:func:`evaluate_files`) does not pay for importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocr.metrics.files import evaluate_files
from ocr.metrics.matching import MatchCounts, match_image, scores

if TYPE_CHECKING:
    from ocr.metrics.detection import DetectionMetric

__all__ = ["DetectionMetric", "MatchCounts", "evaluate_files", "match_image", "scores"]


def __getattr__(name: str) -> Any:
    if name == "DetectionMetric":
        from ocr.metrics.detection import DetectionMetric

        return DetectionMetric
    raise AttributeError(f"module 'ocr.metrics' has no attribute {name!r}")
