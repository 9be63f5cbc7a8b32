"""Small order statistics for the monitors' sliding windows.

Windows hold at most a few hundred floats, so sorting on demand is cheaper and simpler
than maintaining a streaming quantile sketch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile of an already sorted sequence.

    Args:
        sorted_values: Values in ascending order; must not be empty.
        q: Percentile in [0, 100].

    Raises:
        ValueError: When the sequence is empty or ``q`` is out of range.
    """
    if not sorted_values:
        raise ValueError("percentile of an empty window; record at least one value first")
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile q must be in [0, 100], got {q}")
    pos = (len(sorted_values) - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    frac = pos - lo
    return float(sorted_values[lo] * (1.0 - frac) + sorted_values[hi] * frac)


def median(values: Sequence[float]) -> float:
    """Median of an unsorted sequence (sorts a copy)."""
    return percentile(sorted(values), 50.0)
