"""The throughput window's arithmetic against figures worked out by hand."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.timing.window import StepWindow


def rec(wait_ms: float, compute_ms: float, size: int = 4, **extra: object) -> SimpleNamespace:
    fields = {"instances": None, "timing": None, **extra}
    return SimpleNamespace(wait_ms=wait_ms, compute_ms=compute_ms, size=size, **fields)


def test_rates_share_and_verdict_over_the_window() -> None:
    win = StepWindow(window_steps=4, data_bound_share=0.2)
    assert win.metrics() == {}
    for _ in range(4):
        win.add(rec(10.0, 30.0))  # type: ignore[arg-type]
    v = win.metrics()
    # 4 steps x 40 ms = 0.16 s for 16 samples: 100 samples/s, 25 batches/s
    assert v[names.SAMPLES_PER_SECOND] == pytest.approx(100.0)
    assert v[names.BATCHES_PER_SECOND] == pytest.approx(25.0)
    assert v[names.THROUGHPUT_EFFICIENCY] == pytest.approx(0.75)
    assert v[names.DATA_BOUND] == 1.0 and v[names.DATA_BOUND_THRESHOLD] == 0.2  # 25% > 20%
    assert names.LOAD_MS not in v and names.INSTANCES_PER_SECOND not in v


def test_old_steps_leave_the_window_and_loader_timing_is_averaged() -> None:
    win = StepWindow(window_steps=2, data_bound_share=0.3)
    win.add(rec(1000.0, 0.0))  # type: ignore[arg-type]  # falls out below
    for _ in range(2):
        win.add(rec(5.0, 45.0, instances=8, timing={"load_ms": 3.0, "target_ms": 1.0}))  # type: ignore[arg-type]
    v = win.metrics()
    assert len(win) == 2 and v[names.DATA_WAIT_MS_AVG] == pytest.approx(5.0)
    assert v[names.DATA_BOUND] == 0.0  # 10% < 30%
    assert v[names.INSTANCES_PER_SECOND] == pytest.approx(16 / 0.1)
    assert v[names.LOAD_MS] == 3.0 and v[names.TRANSFORM_MS] == 0.0 and v[names.TARGET_MS] == 1.0
