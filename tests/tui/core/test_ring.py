"""The history buffers keep bounded memory and still answer time windows."""

from __future__ import annotations

import pytest

from ocrtop.tui.core.ring import Decimator, History, Ring


def test_ring_keeps_only_the_newest_points_in_order() -> None:
    ring = Ring(4)
    for i in range(10):
        ring.append(float(i), float(i * 10))
    assert len(ring) == 4
    assert ring.points() == ([6.0, 7.0, 8.0, 9.0], [60.0, 70.0, 80.0, 90.0])
    assert ring.points(since=8.0)[1] == [80.0, 90.0]
    assert ring.oldest_t() == 6.0


def test_decimator_stays_bounded_and_preserves_the_mean() -> None:
    dec = Decimator(8)
    for i in range(1000):
        dec.append(float(i), 1.0 if i < 500 else 3.0)
    assert len(dec) < 8
    assert dec.stride > 1
    times, values = dec.points()
    assert times == sorted(times)
    assert values[0] == pytest.approx(1.0) and values[-1] == pytest.approx(3.0)


def test_history_window_uses_recent_tier_then_whole_run() -> None:
    hist = History(recent=16, whole=16)
    for i in range(100):
        hist.append(float(i), float(i))
    assert hist.window(5.0, now=99.0) == [94.0, 95.0, 96.0, 97.0, 98.0, 99.0]
    whole = hist.window(None, now=99.0)
    assert len(whole) <= 16 and whole[0] < 20.0 and whole[-1] > 80.0


def test_ring_rejects_useless_capacity() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Ring(1)
