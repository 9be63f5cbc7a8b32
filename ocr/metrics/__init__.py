"""Detection metrics: ICDAR 2015 (IoU matching) and CLEval, as torchmetrics and for files.

``DetectionMetric`` and ``CLEvalMetric`` are imported lazily so that ``ocrtop eval`` (which
only needs :func:`evaluate_files`) does not pay for importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocrtop.ocr.metrics.cleval import CLEvalConfig, CLEvalCounts, cleval_image
from ocrtop.ocr.metrics.files import evaluate_files
from ocrtop.ocr.metrics.matching import MATCH_RULES, MatchCounts, match_image, scores

if TYPE_CHECKING:
    from ocrtop.ocr.metrics.detection import CLEvalMetric, DetectionMetric

__all__ = [
    "MATCH_RULES",
    "CLEvalConfig",
    "CLEvalCounts",
    "CLEvalMetric",
    "DetectionMetric",
    "MatchCounts",
    "cleval_image",
    "evaluate_files",
    "match_image",
    "scores",
]

_LAZY = ("CLEvalMetric", "DetectionMetric")


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from ocrtop.ocr.metrics import detection

        return getattr(detection, name)
    raise AttributeError(f"module 'ocrtop.ocr.metrics' has no attribute {name!r}")
