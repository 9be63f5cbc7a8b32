"""perf/monitor_overhead_pct: known CPU burnt in a hook and in an ocrtop thread comes back."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from ocrtop.ocr.callbacks.timing.overhead import OverheadMeter


def burn(seconds: float) -> None:
    """Spend ``seconds`` of this thread's CPU."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


class Hooked:
    """Stands for one of our callbacks: 1 ms of CPU per batch end."""

    def on_train_batch_end(self, *args: Any) -> None:
        burn(0.001)

    def on_validation_batch_end(self, *args: Any) -> None:  # not a per-step hook
        burn(0.002)


def test_hook_and_thread_cpu_over_step_time() -> None:
    meter = OverheadMeter(sample_every=4)
    cb = Hooked()
    meter.wrap(cb)
    assert meter.overhead_pct(1.0) is None  # the first call only sets the marks
    done, burnt = threading.Event(), threading.Event()

    def work() -> None:
        burn(0.03)
        burnt.set()
        done.wait()  # stays alive: a thread's CPU is read while it lives

    worker = threading.Thread(target=work, name="ocrtop-test-burn")
    worker.start()
    try:
        for _ in range(40):  # 40 steps x 1 ms in the hook; 1 in 4 timed and scaled up
            meter.step()
            cb.on_train_batch_end()
            cb.on_validation_batch_end()
        assert burnt.wait(10.0)
        # 40 ms in hooks + 30 ms in our thread, over 200 ms of steps = 35 %
        pct = meter.overhead_pct(0.2)
    finally:
        done.set()
        worker.join()
    assert pct == pytest.approx(35.0, abs=4.0)
    meter.unwrap()
    assert "on_train_batch_end" not in vars(cb)


def test_a_callback_that_only_inherits_a_hook_is_not_wrapped() -> None:
    import pytorch_lightning as pl

    meter = OverheadMeter()
    cb = pl.Callback()
    meter.wrap(cb)
    assert not vars(cb)
