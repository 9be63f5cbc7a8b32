"""Percentiles every monitor shares."""

from __future__ import annotations

from ocrtop.ocr.callbacks.sampling.stats import median, percentile


def test_percentile_interpolates() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 99) == 5.0
    assert percentile(list(range(101)), 95) == 95.0
    assert median([3.0, 1.0, 2.0]) == 2.0
