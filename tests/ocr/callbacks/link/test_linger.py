"""DeferredClose: the bridge stays open between stages, and closes when none follows."""

from __future__ import annotations

import threading
import time

import pytest

from ocrtop.ocr.callbacks.link.linger import DeferredClose, _close_pending


def test_closes_after_the_grace_period() -> None:
    calls: list[int] = []
    done = threading.Event()
    d = DeferredClose(lambda: (calls.append(1), done.set()), 0.05)
    d.schedule()
    assert d.pending and not calls
    assert done.wait(5)
    assert calls == [1] and not d.pending


def test_cancel_keeps_it_open() -> None:
    calls: list[int] = []
    d = DeferredClose(lambda: calls.append(1), 0.05)
    d.schedule()
    assert d.cancel() is True
    time.sleep(0.2)
    assert calls == [] and d.cancel() is False


def test_rescheduling_closes_once() -> None:
    calls: list[int] = []
    d = DeferredClose(lambda: calls.append(1), 0.05)
    d.schedule()
    d.schedule()
    time.sleep(0.3)
    assert calls == [1]


def test_cancel_during_a_close_waits_for_it() -> None:
    started, release = threading.Event(), threading.Event()
    d = DeferredClose(lambda: (started.set(), release.wait(5)), 0.01)
    d.schedule()
    assert started.wait(5)
    result: list[bool] = []
    canceller = threading.Thread(target=lambda: result.append(d.cancel()))
    canceller.start()
    canceller.join(0.2)
    assert canceller.is_alive()  # a setup must not reuse what is being closed
    release.set()
    canceller.join(5)
    assert result == [False]


def test_zero_closes_at_once_and_exit_flushes_pending() -> None:
    calls: list[int] = []
    DeferredClose(lambda: calls.append(1), 0).schedule()
    assert calls == [1]
    d = DeferredClose(lambda: calls.append(2), 60)
    d.schedule()
    _close_pending()  # what atexit runs
    assert calls == [1, 2] and not d.pending


def test_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="linger_s"):
        DeferredClose(lambda: None, -1)
