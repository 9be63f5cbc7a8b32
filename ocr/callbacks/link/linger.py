"""Close the bridge a little after a stage ends, unless another stage follows.

Lightning tears callbacks down after every stage, and ``runners/train.py`` tests the best
checkpoint right after fitting. Closing the publisher in between would unregister the job
for the seconds the test stage takes to set up: ``ocrtop attach`` would then report that
the job does not exist, and a dashboard would have to notice a second publisher under the
same id. So the close is deferred by a grace period that the next ``setup`` cancels.
Pending closes still run at interpreter exit, so ``events.jsonl`` is always fsynced.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from collections.abc import Callable


class DeferredClose:
    """Runs ``close`` ``delay_s`` seconds after ``schedule()`` unless ``cancel()`` comes first."""

    def __init__(self, close: Callable[[], None], delay_s: float) -> None:
        if delay_s < 0:
            raise ValueError(f"linger_s must be >= 0, got {delay_s}")
        self._close = close
        self.delay_s = delay_s
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    @property
    def pending(self) -> bool:
        return self._timer is not None

    def schedule(self) -> None:
        """Close after the grace period (at once when it is 0)."""
        if self.delay_s == 0:
            self._close()
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            timer = threading.Timer(self.delay_s, self._fire)
            timer.daemon = True
            timer.name = "ocrtop-bridge-linger"
            self._timer = timer
            _PENDING.add(self)
            timer.start()

    def cancel(self) -> bool:
        """Keep the resource open; True when a close was pending.

        Returns once a close that already began has finished.
        """
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is None:
            return False
        timer.cancel()
        _PENDING.discard(self)
        return True

    def fire_now(self) -> None:
        """Close now if a close is pending (interpreter exit)."""
        if self.cancel():
            self._close()

    def _fire(self) -> None:
        # Closing under the lock makes a concurrent cancel() wait for the close to finish:
        # the next stage's setup then sees the resource closed and reopens it, instead of
        # keeping one that is being closed under it.
        with self._lock:
            if self._timer is None or threading.current_thread() is not self._timer:
                return  # cancelled, or replaced by a newer schedule
            self._timer = None
            _PENDING.discard(self)
            self._close()


_PENDING: weakref.WeakSet[DeferredClose] = weakref.WeakSet()


@atexit.register
def _close_pending() -> None:
    for deferred in list(_PENDING):
        deferred.fire_now()
