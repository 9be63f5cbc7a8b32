"""psutil sampling of the machine and of the training process tree, on its own thread.

psutil calls cost tens to hundreds of microseconds each, and walking the process tree
(main process plus DataLoader workers) costs more, so none of this runs in a batch
hook: a daemon thread samples at about 1 Hz and publishes the latest sample by
swapping one reference, which batch hooks read without locking.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

import psutil

from bridge import names

log = logging.getLogger(__name__)

Sample = dict[str, float]


def process_tree_memory(pid: int | None = None) -> tuple[int, int]:
    """RSS of a process and all its descendants (bytes), and how many processes that is."""
    root = psutil.Process(pid or os.getpid())
    total, count = 0, 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
            count += 1
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total, count


class SystemSampler:
    """Computes one resource sample; rates are deltas since the previous call.

    Process objects are cached by pid so that per-process counters survive between
    samples; a worker that appears contributes its whole I/O history once, a worker
    that exits simply stops contributing (rates never go negative).
    """

    def __init__(self, pid: int | None = None) -> None:
        self._root = psutil.Process(pid or os.getpid())
        self._procs: dict[int, psutil.Process] = {}
        self._io: dict[int, tuple[int, int]] = {}
        self._last_time: float | None = None
        self.peak_rss = 0
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
        now = time.monotonic()
        try:
            children = self._root.children(recursive=True)
        except psutil.Error:
            children = []
        alive = {self._root.pid: self._root}
        for child in children:
            alive[child.pid] = self._procs.get(child.pid, child)
        self._procs = alive
        rss, read_delta, write_delta, io_known = 0, 0, 0, False
        new_io: dict[int, tuple[int, int]] = {}
        for pid, proc in alive.items():
            try:
                with proc.oneshot():
                    rss += proc.memory_info().rss
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
        self.peak_rss = max(self.peak_rss, rss)
        values: Sample = {
            names.PROC_RSS_BYTES: float(rss),
            names.PROC_RSS_PEAK_BYTES: float(self.peak_rss),
        }
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
