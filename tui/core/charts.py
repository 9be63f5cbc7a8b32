"""Text charts built from block characters: sparklines, multi-row bar charts and gauges.

Plain strings rather than widgets, so one panel can place several of them on a line and
the cost is proportional to the panel's width, never to the number of points.
"""

from __future__ import annotations

import math

BLOCKS = " ▁▂▃▄▅▆▇█"


def resample(values: list[float], width: int) -> list[float]:
    """Bucket means so that ``len(result) <= width`` (the newest points on the right)."""
    values = [v for v in values if math.isfinite(v)]
    if width <= 0 or not values:
        return []
    if len(values) <= width:
        return values
    out = []
    for i in range(width):
        lo, hi = i * len(values) // width, (i + 1) * len(values) // width
        bucket = values[lo : max(hi, lo + 1)]
        out.append(sum(bucket) / len(bucket))
    return out


def spark(values: list[float], width: int, lo: float | None = None, hi: float | None = None) -> str:
    """A one-line sparkline, right-aligned to ``width`` characters."""
    return chart(values, width, 1, lo, hi)[0]


def chart(
    values: list[float], width: int, height: int, lo: float | None = None, hi: float | None = None
) -> list[str]:
    """``height`` lines of bars, 8 levels per line; the first line is the top row."""
    points = resample(values, width)
    height = max(1, height)
    if not points:
        return [" " * max(0, width)] * height
    lo = min(points) if lo is None else lo
    hi = max(points) if hi is None else hi
    span = hi - lo
    levels = height * 8
    # a flat series sits at half height so it still shows as a line
    ticks = [
        levels // 2 if span <= 0 else max(1, round((min(max(v, lo), hi) - lo) / span * levels))
        for v in points
    ]
    rows = []
    for row in range(height - 1, -1, -1):
        base = row * 8
        rows.append("".join(BLOCKS[min(8, max(0, t - base))] for t in ticks).rjust(width))
    return rows


def bar(fraction: float | None, width: int) -> str:
    """A horizontal gauge with eighth-cell resolution; a missing value shows as dots."""
    if width <= 0:
        return ""
    if fraction is None or not math.isfinite(fraction):
        return "·" * width
    cells = min(1.0, max(0.0, fraction)) * width
    full = int(cells)
    part = int((cells - full) * 8)
    partial = "▏▎▍▌▋▊▉"[part - 1] if part and full < width else ""
    return ("█" * full + partial).ljust(width)
