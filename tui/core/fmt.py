"""Human-readable numbers for a narrow terminal: bytes, durations, rates."""

from __future__ import annotations

import math


def human_bytes(n: float | None) -> str:
    """``1536`` -> ``1.5K``; None -> an em dash, so missing gauges stay visibly missing."""
    if n is None or math.isnan(n):
        return "—"
    for unit in ("B", "K", "M", "G", "T"):
        if abs(n) < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}T"


def duration(seconds: float | None) -> str:
    """``3725`` -> ``1:02:05``; days are spelled out for very long runs."""
    if seconds is None or math.isnan(seconds) or seconds < 0:
        return "—"
    s = int(seconds)
    days, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    text = f"{h}:{m:02d}:{s:02d}"
    return f"{days}d {text}" if days else text


def num(value: float | None, digits: int = 1) -> str:
    """A float with a fixed number of decimals, or an em dash when unknown."""
    if value is None or math.isnan(value):
        return "—"
    return f"{value:.{digits}f}"


def short(value: float | None) -> str:
    """A compact number for losses and learning rates: 4 significant digits."""
    if value is None or math.isnan(value):
        return "—"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.2e}"
    return f"{value:.4g}"
