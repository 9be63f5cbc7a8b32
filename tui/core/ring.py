"""Bounded-memory time series for the dashboard's history graphs.

A training run can emit millions of metric points; the TUI must keep its memory flat
no matter how long it stays attached. ``History`` therefore keeps two tiers: a ring of
the most recent points at full resolution (for short windows) and a whole-run tier that
halves its resolution whenever it fills up (for the "all" window). Both live in
``array('d')`` buffers, so a point costs 16 bytes instead of a Python tuple.
"""

from __future__ import annotations

from array import array


class Ring:
    """A fixed-capacity ring of ``(t, value)`` pairs, oldest overwritten first."""

    def __init__(self, capacity: int) -> None:
        if capacity < 2:
            raise ValueError(f"Ring capacity must be at least 2, got {capacity}")
        self.capacity = capacity
        self._t = array("d", bytes(8 * capacity))
        self._v = array("d", bytes(8 * capacity))
        self._head = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, t: float, value: float) -> None:
        """Store one point, overwriting the oldest once full."""
        self._t[self._head] = t
        self._v[self._head] = value
        self._head = (self._head + 1) % self.capacity
        self._count = min(self._count + 1, self.capacity)

    def oldest_t(self) -> float | None:
        """Time of the oldest stored point, or None when empty."""
        if not self._count:
            return None
        return self._t[(self._head - self._count) % self.capacity]

    def points(self, since: float | None = None) -> tuple[list[float], list[float]]:
        """Return ``(times, values)`` in time order, optionally only those at or after ``since``."""
        start = self._head - self._count
        idx = [(start + i) % self.capacity for i in range(self._count)]
        times = [self._t[i] for i in idx]
        values = [self._v[i] for i in idx]
        if since is not None:
            first = next((k for k, t in enumerate(times) if t >= since), len(times))
            times, values = times[first:], values[first:]
        return times, values


class Decimator:
    """Whole-run history at decreasing resolution, never more than ``capacity`` points.

    Points are averaged in groups of ``stride``; when the buffer fills, neighbouring
    pairs are merged and the stride doubles, so the covered span grows without bound
    while memory stays fixed.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 4 or capacity % 2:
            raise ValueError(f"Decimator capacity must be even and >= 4, got {capacity}")
        self.capacity = capacity
        self.stride = 1
        self._t = array("d")
        self._v = array("d")
        self._acc_n = 0
        self._acc_v = 0.0

    def __len__(self) -> int:
        return len(self._v)

    def append(self, t: float, value: float) -> None:
        """Accumulate one point; emit a bucket mean every ``stride`` points."""
        self._acc_n += 1
        self._acc_v += value
        if self._acc_n < self.stride:
            return
        self._t.append(t)
        self._v.append(self._acc_v / self._acc_n)
        self._acc_n, self._acc_v = 0, 0.0
        if len(self._v) >= self.capacity:
            self._compact()

    def _compact(self) -> None:
        half = len(self._v) // 2
        self._t = array("d", (self._t[2 * i + 1] for i in range(half)))
        self._v = array("d", ((self._v[2 * i] + self._v[2 * i + 1]) / 2 for i in range(half)))
        self.stride *= 2

    def points(self, since: float | None = None) -> tuple[list[float], list[float]]:
        """Return ``(times, values)`` in time order, optionally only those at or after ``since``."""
        times, values = list(self._t), list(self._v)
        if since is not None:
            first = next((k for k, t in enumerate(times) if t >= since), len(times))
            times, values = times[first:], values[first:]
        return times, values


class History:
    """Recent points at full resolution plus a decimated whole-run tier."""

    def __init__(self, recent: int = 1024, whole: int = 1024) -> None:
        self.recent = Ring(recent)
        self.whole = Decimator(whole)

    def append(self, t: float, value: float) -> None:
        """Record one point in both tiers."""
        self.recent.append(t, value)
        self.whole.append(t, value)

    def window(self, seconds: float | None, now: float) -> list[float]:
        """Values of the last ``seconds`` (None: whole run) from the finest tier covering them."""
        if seconds is None:
            if len(self.recent) < self.recent.capacity:
                return self.recent.points()[1]
            return self.whole.points()[1]
        since = now - seconds
        oldest = self.recent.oldest_t()
        if oldest is not None and (oldest <= since or len(self.recent) < self.recent.capacity):
            return self.recent.points(since)[1]
        return self.whole.points(since)[1]
