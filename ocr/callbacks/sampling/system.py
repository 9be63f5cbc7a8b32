"""psutil sampling of the machine and of the training process tree, on its own thread.

psutil calls cost tens to hundreds of microseconds each, walking the process tree
(main process plus DataLoader workers) costs more, and a PSS reading costs milliseconds
per process, so none of this runs in a batch hook: a daemon thread samples at about
1 Hz and publishes the latest sample by swapping one reference, which batch hooks read
without locking.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

import psutil

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.sampling.process_tree import (
    Sample,
    TreeMemory,
    memory_metrics,
    other_ranks,
    read_memory,
    tree_processes,
)

log = logging.getLogger(__name__)

_now = time.monotonic  # module-level so tests can drive a fake clock

_PSS_KEYS = (names.PROC_PSS_BYTES, names.WORKERS_USS_BYTES)


class SystemSampler:
    """Computes one resource sample; rates are deltas since the previous call.

    Process objects are cached by pid so that per-process counters survive between
    samples; a worker that appears contributes its whole I/O history once, a worker
    that exits simply stops contributing (rates never go negative).

    The tree is this rank's: other DDP ranks started under it are left out
    (:func:`other_ranks`). RSS is read every sample; PSS and USS (the costly
    ``smaps_rollup`` walk, see :func:`read_memory`) at most every ``pss_interval_s``, and
    every sample in between carries the latest PSS reading, so alert rules that need a
    sustained value see one.

    Args:
        pid: Root of the process tree (default: this process).
        pss_interval_s: Seconds between PSS readings; 0 reads PSS every sample.
    """

    def __init__(self, pid: int | None = None, pss_interval_s: float = 10.0) -> None:
        if pss_interval_s < 0:
            raise ValueError(f"pss_interval_s must be >= 0, got {pss_interval_s}")
        self.pss_interval_s = pss_interval_s
        self._pss: Sample = {}
        self._pss_time: float | None = None
        self._root = psutil.Process(pid or os.getpid())
        self._prune = other_ranks(self._root)
        self._procs: dict[int, psutil.Process] = {}
        self._io: dict[int, tuple[int, int]] = {}
        self._last_time: float | None = None
        self.peak_rss = 0
        self.peak_pss = 0
        self.num_cores = psutil.cpu_count(logical=True) or 1
        psutil.cpu_percent(interval=None, percpu=True)  # prime the CPU deltas
        psutil.cpu_times_percent(interval=None)

    def sample(self) -> Sample:
        """One sample of CPU, memory and process-tree disk I/O, keyed by metric names."""
        values: Sample = {}
        per_core = psutil.cpu_percent(interval=None, percpu=True)
        if per_core:
            values[names.CPU_PERCENT] = sum(per_core) / len(per_core)
            for i, pct in enumerate(per_core):
                values[names.cpu_core(i)] = float(pct)
        iowait = getattr(psutil.cpu_times_percent(interval=None), "iowait", None)
        if iowait is not None:
            values[names.CPU_IOWAIT] = float(iowait)
        vm = psutil.virtual_memory()
        # "used" = total - available: what the kernel could not hand to a new process.
        values[names.RAM_USED_BYTES] = float(vm.total - vm.available)
        values[names.RAM_TOTAL_BYTES] = float(vm.total)
        values[names.RAM_PERCENT] = float(vm.percent)
        values.update(self._process_tree())
        return values

    def _process_tree(self) -> Sample:
        now = _now()
        alive = {self._root.pid: self._root}
        for child in tree_processes(self._root, self._prune, self._procs)[1:]:
            alive[child.pid] = self._procs.get(child.pid, child)
        self._procs = alive
        full = self._pss_time is None or now - self._pss_time >= self.pss_interval_s
        mem = TreeMemory() if full else TreeMemory(pss=None, workers_uss=None)
        read_delta, write_delta, io_known = 0, 0, False
        new_io: dict[int, tuple[int, int]] = {}
        for pid, proc in alive.items():
            try:
                with proc.oneshot():
                    mem = mem.add(read_memory(proc, full), proc is self._root)
                    io = proc.io_counters() if hasattr(proc, "io_counters") else None
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if io is not None:
                io_known = True
                prev = self._io.get(pid, (0, 0) if self._last_time is not None else None)
                new_io[pid] = (io.read_bytes, io.write_bytes)
                if prev is not None:
                    read_delta += max(0, io.read_bytes - prev[0])
                    write_delta += max(0, io.write_bytes - prev[1])
        values = memory_metrics(mem)
        self.peak_rss = max(self.peak_rss, mem.rss)
        values[names.PROC_RSS_PEAK_BYTES] = float(self.peak_rss)
        if full:
            self._pss_time = now
            self._pss = {k: values[k] for k in _PSS_KEYS if k in values}
            if mem.pss is not None:
                self.peak_pss = max(self.peak_pss, mem.pss)
                self._pss[names.PROC_PSS_PEAK_BYTES] = float(self.peak_pss)
        values.update(self._pss)
        if io_known and self._last_time is not None and now > self._last_time:
            dt = now - self._last_time
            values[names.DISK_READ_BPS] = read_delta / dt
            values[names.DISK_WRITE_BPS] = write_delta / dt
        self._io, self._last_time = new_io, now
        return values


class BackgroundSampler:
    """Calls ``sample_fn`` every ``interval_s`` on a daemon thread and keeps the latest.

    ``on_sample`` listeners run on the sampler thread (CSV rows, bridge publishing);
    their exceptions are logged once and do not stop sampling.
    """

    def __init__(
        self,
        sample_fn: Callable[[], Sample],
        interval_s: float = 1.0,
        on_sample: Sequence[Callable[[float, Sample], None]] = (),
        name: str = "ocrtop-resource-sampler",
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        self._sample_fn = sample_fn
        self.interval_s = interval_s
        self._listeners = list(on_sample)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.latest: Sample = {}
        self._errors: set[str] = set()

    def start(self) -> None:
        """Start sampling (the first sample is taken immediately)."""
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread and wait for it (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            self._tick()
            next_t += self.interval_s
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def _tick(self) -> None:
        try:
            sample = self._sample_fn()
        except Exception as exc:
            self._once("sample", exc)
            return
        t = time.time()
        self.latest = sample
        for listener in self._listeners:
            try:
                listener(t, sample)
            except Exception as exc:
                self._once(getattr(listener, "__name__", repr(listener)), exc)

    def _once(self, what: str, exc: Exception) -> None:
        if what not in self._errors:
            self._errors.add(what)
            log.warning(
                "resource sampler: %s failed (%s: %s); sampling continues",
                what,
                type(exc).__name__,
                exc,
            )
