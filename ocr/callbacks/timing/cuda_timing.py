"""GPU time per step from CUDA events, resolved lazily.

``torch.cuda.synchronize()`` per batch would serialise the CPU with the GPU and cost
exactly the overlap the user is trying to measure. Instead each step records a pair of
events (asynchronous, a few microseconds) and old pairs are read back only once the GPU
has passed them (``Event.query()`` never blocks).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

EventFactory = Callable[[], Any]
"""Returns an object with ``record()``, ``query() -> bool`` and ``elapsed_time(other)``."""


def cuda_event_factory() -> Any:
    """A timing-enabled CUDA event (imported lazily: CPU runs never touch CUDA)."""
    import torch

    return torch.cuda.Event(enable_timing=True)


class LazyCudaStepTimer:
    """Pairs of start/end events per step; completed pairs turn into milliseconds.

    Args:
        event_factory: Creates events; tests pass a fake.
        max_pending: Pending pairs kept before the oldest is dropped, so a stalled GPU
            cannot grow memory without bound.
    """

    def __init__(
        self, event_factory: EventFactory = cuda_event_factory, max_pending: int = 64
    ) -> None:
        self._factory = event_factory
        self._pending: deque[tuple[Any, Any]] = deque(maxlen=max_pending)
        self._free: list[Any] = []
        self._start: Any | None = None

    def start(self) -> None:
        """Record the start event of a step on the current stream."""
        self._start = self._event()
        self._start.record()

    def end(self) -> None:
        """Record the end event of the step started by :meth:`start`."""
        if self._start is None:
            return
        end = self._event()
        end.record()
        self._pending.append((self._start, end))
        self._start = None

    def resolve(self) -> list[float]:
        """GPU milliseconds of every pending step the GPU has finished, oldest first."""
        done: list[float] = []
        while self._pending and self._pending[0][1].query():
            start, end = self._pending.popleft()
            done.append(float(start.elapsed_time(end)))
            self._free.extend((start, end))
        return done

    def _event(self) -> Any:
        return self._free.pop() if self._free else self._factory()
