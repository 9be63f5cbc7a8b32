"""The one clock of a training step: how long the loop waited for its batch, and the rest.

Data wait is the time the training loop is blocked in ``next()`` on Lightning's train
data fetcher (``trainer.fit_loop._data_fetcher``), and nothing else: the clock times that
call itself, by giving the fetcher object a subclass whose ``__next__`` takes a timestamp
on each side (the object keeps its state and type checks; the class is restored when
training ends). A step runs from the end of its fetch to the start of the next fetch, or
to the start of validation, the end of the epoch or of training, whichever comes first;
everything in that span is compute: the host-to-device copy, forward, backward, the
optimizer, every callback's hooks, logging. A slow callback therefore shows up as
compute (``after_ms``: the part after the batch-end hooks began), never as data wait.

Each finished step becomes one :class:`StepRecord` with the fetch wait, the compute span
and its parts, and the batch's own figures (size, instances, the workers' load/transform/
target ms, carried by the batch; see :mod:`ocrtop.ocr.callbacks.timing.batch_info`). Every consumer
(the throughput monitor, the profiler's step split, rank stats, the alerts' stall watchdog,
the LightningModule's samples/s) reads these records instead of keeping a timer of its
own: :meth:`StepClock.subscribe` hands it a deque the clock appends to.

On a GPU nothing here synchronises: the batch's tensors are never read, and the GPU time
of each step comes from a pair of CUDA events read back only once the GPU has passed them
(:class:`~ocrtop.ocr.callbacks.timing.cuda_timing.LazyCudaStepTimer`).

The clock is a callback placed first in ``trainer.callbacks`` by :meth:`StepClock.of`, so
that it closes a step at validation or epoch end before any other callback runs.
A ``training_step(self, dataloader_iter)`` fetches inside the step, as often as it likes.
There the step runs from the loop handing the iterator out to the next hand-out (or a
boundary), the data wait is the time spent in ``next(dataloader_iter)`` during it, the
batch figures add up over its fetches, and compute is the rest of the span.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, cast

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ocrtop.ocr.callbacks.timing.batch_info import BatchInfo, BatchSizeFn, inspect_batch
from ocrtop.ocr.callbacks.timing.cuda_timing import LazyCudaStepTimer
from ocrtop.ocr.callbacks.timing.overhead import OverheadMeter

log = logging.getLogger(__name__)

_now = time.perf_counter  # module-level so tests can drive a fake clock
_wall = time.time
_thread_time = time.thread_time
SINK_STEPS = 10_000
"""Records a consumer may fall behind by before the oldest are dropped."""


class StepRecord(NamedTuple):
    """One training step as the clock saw it (milliseconds unless named otherwise)."""

    seq: int
    """Steps the clock has closed before this one (0-based, over the whole fit)."""
    wait_ms: float
    """The loop blocked in ``next()`` on the train data fetcher."""
    compute_ms: float
    """From the end of the fetch to the end of the step: everything but the wait."""
    forward_backward_ms: float
    """Fetch end to ``on_before_optimizer_step`` (transfer, batch-start hooks, forward,
    backward); the whole span to the batch end when no optimizer step was seen."""
    optimizer_ms: float
    """``on_before_optimizer_step`` to the first ``on_train_batch_end`` hook."""
    after_ms: float
    """The first ``on_train_batch_end`` hook to the end of the step (the batch-end hooks
    of every callback, logging, the loop's own bookkeeping)."""
    ready_t: float
    """``perf_counter()`` at the end of the fetch."""
    ready_wall: float
    """``time.time()`` at the end of the fetch (comparable across DDP ranks)."""
    size: int
    instances: int | None
    timing: Mapping[str, float] | None


class _Open:
    """The step in progress: fetched, not yet closed."""

    __slots__ = (
        "end_t",
        "fetch_t",
        "info",
        "inner",
        "inner_at_end",
        "inner_at_opt",
        "opt_t",
        "ready_t",
        "ready_wall",
    )

    def __init__(self, fetch_t: float, ready_t: float, ready_wall: float, info: BatchInfo):
        self.fetch_t, self.ready_t, self.ready_wall, self.info = fetch_t, ready_t, ready_wall, info
        self.opt_t: float | None = None
        self.end_t: float | None = None
        self.inner = 0.0
        """Seconds in ``next(dataloader_iter)`` inside the step (0 for ordinary steps)."""
        self.inner_at_opt: float | None = None
        self.inner_at_end: float | None = None
        """``inner`` when the optimizer step and the batch end began, to split it."""


ITER_FETCHER = "_DataLoaderIterDataFetcher"
"""Lightning's fetcher when ``training_step`` takes ``dataloader_iter`` (matched by name:
the class is private)."""


_TIMED_CLASSES: dict[tuple[type, bool], type] = {}


def _timed_class(cls: Any, pulled: bool = False) -> type:
    """A subclass of ``cls`` whose ``__next__`` reports to the clock set on the object.

    ``cls`` is the train data fetcher's class or, with ``pulled``, the class of the
    ``dataloader_iter`` a ``training_step`` pulls its batches from. The object keeps its
    state; without a clock in its ``__dict__`` it behaves as ``cls``.
    """
    sub = _TIMED_CLASSES.get((cls, pulled))
    if sub is None:
        body = {"__next__": _timed_next(cls, pulled), "_ocrtop_timed": cls}
        sub = type(f"Timed{cls.__name__}", (cls,), body)
        _TIMED_CLASSES[cls, pulled] = sub
    return sub


def _timed_next(cls: Any, pulled: bool) -> Callable[[Any], Any]:
    """``cls.__next__`` between the clock's timestamps."""
    hands_out_iterator = cls.__name__ == ITER_FETCHER

    def __next__(self: Any) -> Any:
        clock: StepClock | None = self.__dict__.get("_ocrtop_clock")
        if clock is None:
            return cls.__next__(self)
        t0 = _now() if pulled else clock._before_fetch()
        out = cls.__next__(self)
        if pulled:  # next(dataloader_iter) inside the step
            clock._inner_fetch(t0, _now(), out)
        elif hands_out_iterator:  # out is the iterator the step will pull from
            clock._open_iter_step(t0, out)
        else:
            clock._after_fetch(t0, out)
        return out

    return __next__


class StepClock(Callback):
    """Times the train fetch, closes steps at the right boundaries, hands out records.

    Use :meth:`of` to get the trainer's clock; do not add one to the callbacks yourself.
    """

    shared_by_monitors = True
    """Created by whichever monitor needs it first: not a monitor the user added (so
    ``ocrtop.compat``'s auto copies do not stand aside because of it)."""

    def __init__(self) -> None:
        self.batch_size_fn: BatchSizeFn | None = None
        self.batch_size_hint = "ThroughputMonitorCallback(batch_size_fn=...)"
        self.meter = OverheadMeter()
        self.steps = 0
        self.samples = 0
        self.seconds = 0.0
        """Wall seconds of all closed steps (wait + compute): training time, no validation."""
        self.last_activity = _now()
        """``perf_counter()`` of the last fetch start or end (read by the stall watchdog)."""
        self.gpu_ms: float | None = None
        """GPU time of the latest step the GPU has finished (CUDA only)."""
        self.worker_cache: dict[int, int] = {}
        """Latest dataset cache bytes reported by each DataLoader worker id."""
        self._sinks: list[deque[StepRecord]] = []
        self._open: _Open | None = None
        self._gpu: LazyCudaStepTimer | None = None
        self._fetcher: Any = None
        self._warned = False

    @staticmethod
    def of(trainer: pl.Trainer) -> StepClock:
        """The trainer's clock, created and placed first in ``trainer.callbacks`` if needed.

        The list is replaced, not mutated, so a hook loop iterating over it (this is
        called from ``setup`` hooks) is not disturbed.
        """
        callbacks = list(getattr(trainer, "callbacks", None) or ())
        for cb in callbacks:
            if isinstance(cb, StepClock):
                return cb
        clock = StepClock()
        cast(Any, trainer).callbacks = [clock, *callbacks]
        return clock

    def subscribe(self, maxlen: int = SINK_STEPS) -> deque[StepRecord]:
        """A deque that receives every record from now on; the consumer pops from it."""
        sink: deque[StepRecord] = deque(maxlen=maxlen)
        self._sinks.append(sink)
        return sink

    def unsubscribe(self, sink: deque[StepRecord]) -> None:
        """Stop appending to ``sink``."""
        self._sinks = [s for s in self._sinks if s is not sink]

    # --- Lightning hooks (the clock is the first callback) ---
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        device = getattr(pl_module, "device", None)
        self._gpu = LazyCudaStepTimer() if getattr(device, "type", None) == "cuda" else None
        for cb in cast(Any, trainer).callbacks:
            if cb is not self and type(cb).__module__.startswith("ocrtop.ocr.callbacks."):
                self.meter.wrap(cb)
        self._attach(trainer)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._open = None
        self._attach(trainer)  # a reloaded dataloader comes with a new fetcher

    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: Any
    ) -> None:
        if self._open is not None and self._open.opt_t is None:
            self._open.opt_t = _now()
            self._open.inner_at_opt = self._open.inner

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        if self._open is not None:
            self._open.end_t = _now()
            self._open.inner_at_end = self._open.inner

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.close()  # validation between two training steps is neither data nor compute

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.close()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.close()
        self._detach()
        self.meter.unwrap()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self._detach()
        self.meter.unwrap()

    # --- the fetch ---
    def _attach(self, trainer: pl.Trainer) -> None:
        fetcher = getattr(getattr(trainer, "fit_loop", None), "_data_fetcher", None)
        if fetcher is None or fetcher is self._fetcher:
            return
        self._detach()
        cls = type(fetcher)
        if not getattr(cls, "_ocrtop_timed", None):
            fetcher.__class__ = _timed_class(cls)
        fetcher.__dict__["_ocrtop_clock"] = self
        self._fetcher = fetcher

    def _detach(self) -> None:
        fetcher, self._fetcher = self._fetcher, None
        if fetcher is None:
            return
        for obj in (fetcher, fetcher.__dict__.get("iterator_wrapper")):
            if obj is None:
                continue
            obj.__dict__.pop("_ocrtop_clock", None)
            original = getattr(type(obj), "_ocrtop_timed", None)
            if original is not None:
                obj.__class__ = original

    def _before_fetch(self) -> float:
        """Close the step in progress; return the fetch's start time."""
        if self._open is not None:
            if self.meter.sampling:  # the closing step was a sampled one: time our part
                c0 = _thread_time()
                self.close()
                self.meter.add(_thread_time() - c0)
            else:
                self.close()
        self.meter.step()
        t0 = _now()
        self.last_activity = t0
        return t0

    def _open_iter_step(self, t0: float, iterator: Any) -> None:
        """The loop handed ``dataloader_iter`` out: a step opens, its fetches come later."""
        t1 = _now()
        self.last_activity = t1
        cls = type(iterator)
        if not getattr(cls, "_ocrtop_timed", None):
            iterator.__class__ = _timed_class(cls, pulled=True)
        iterator.__dict__["_ocrtop_clock"] = self
        if self._gpu is not None:
            self._gpu.start()
        self._open = _Open(t0, t1, _wall(), BatchInfo(size=0, instances=None, timing=None))

    def _inner_fetch(self, t0: float, t1: float, out: Any) -> None:
        """``next(dataloader_iter)`` took ``t0..t1`` inside the open step: wait, and a batch."""
        self.last_activity = t1
        o = self._open
        if o is None:  # pulled outside a training step (a hook): not a step's data
            return
        o.inner += t1 - t0
        info = self._inspect(_batch_of(out))
        seen = o.info
        if seen.size:  # a second batch in the same step: its samples count too
            instances = None
            if seen.instances is not None and info.instances is not None:
                instances = seen.instances + info.instances
            timing = info.timing or seen.timing
            if seen.timing and info.timing:
                timing = {k: seen.timing.get(k, 0.0) + v for k, v in info.timing.items()}
            info = BatchInfo(seen.size + info.size, instances, timing)
        o.info = info

    def _after_fetch(self, t0: float, out: Any) -> None:
        t1 = _now()
        self.last_activity = t1
        c0 = _thread_time() if self.meter.sampling else 0.0
        self.record_fetch(t0, t1, _batch_of(out))
        if self.meter.sampling:
            self.meter.add(_thread_time() - c0)

    # --- public for tests and for loops that are not Lightning's ---
    def record_fetch(self, t0: float, t1: float, batch: Any) -> None:
        """A batch was fetched between ``t0`` and ``t1`` (``perf_counter`` seconds)."""
        info = self._inspect(batch)
        if self._gpu is not None:
            self._gpu.start()
        self._open = _Open(t0, t1, _wall(), info)

    def _inspect(self, batch: Any) -> BatchInfo:
        """The batch's figures; warns once about a guessed size, notes worker cache bytes."""
        info = inspect_batch(batch, self.batch_size_fn)
        if info.guess is not None and not self._warned:
            self._warned = True
            log.warning(
                "ocrtop: samples/s counts %s; if that is not the number of samples per "
                "batch, pass %s (a callable or a dotted path 'pkg.module.fn' taking the "
                "batch and returning its size)",
                info.guess,
                self.batch_size_hint,
            )
        if info.worker is not None:
            self.worker_cache[info.worker[0]] = info.worker[1]
        return info

    def close(self, t: float | None = None) -> StepRecord | None:
        """End the step in progress (at ``t``, default now) and hand its record out."""
        o = self._open
        if o is None:
            return None
        self._open = None
        now = _now() if t is None else t
        end = o.end_t if o.end_t is not None else now
        opt = o.opt_t if o.opt_t is not None and o.opt_t <= end else end
        # Fetches inside the step (dataloader_iter) are wait, taken from the part they fell in.
        at_end = o.inner_at_end if o.end_t is not None and o.inner_at_end is not None else o.inner
        at_opt = o.inner_at_opt if opt < end and o.inner_at_opt is not None else at_end
        info = o.info
        rec = StepRecord(
            seq=self.steps,
            wait_ms=(o.ready_t - o.fetch_t + o.inner) * 1e3,
            compute_ms=(now - o.ready_t - o.inner) * 1e3,
            forward_backward_ms=(opt - o.ready_t - at_opt) * 1e3,
            optimizer_ms=(end - opt - (at_end - at_opt)) * 1e3,
            after_ms=(now - end - (o.inner - at_end)) * 1e3,
            ready_t=o.ready_t,
            ready_wall=o.ready_wall,
            size=info.size,
            instances=info.instances,
            timing=info.timing,
        )
        self.steps += 1
        self.samples += info.size
        self.seconds += now - o.fetch_t
        if self._gpu is not None:
            self._gpu.end()
            done = self._gpu.resolve()
            if done:
                self.gpu_ms = done[-1]
        for sink in self._sinks:
            sink.append(rec)
        return rec

    def cache_bytes(self) -> int | None:
        """Dataset cache bytes summed over the workers' latest reports (None: no reports)."""
        return sum(self.worker_cache.values()) if self.worker_cache else None


def _batch_of(out: Any) -> Any:
    """The batch from a fetcher's ``(batch, batch_idx, dataloader_idx)``."""
    if isinstance(out, tuple) and len(out) == 3 and isinstance(out[1], int):
        return out[0]
    return out


def find_clock(trainer: Any) -> StepClock | None:
    """The trainer's clock if one was created (no side effect)."""
    for cb in getattr(trainer, "callbacks", None) or ():
        if isinstance(cb, StepClock):
            return cb
    return None
