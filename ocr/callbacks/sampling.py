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
from dataclasses import dataclass
from typing import Any

import psutil

from bridge import names

log = logging.getLogger(__name__)

Sample = dict[str, float]

_now = time.monotonic  # module-level so tests can drive a fake clock


@dataclass(frozen=True)
class TreeMemory:
    """Memory of a process tree (the trainer and its DataLoader workers), in bytes.

    Forked workers share the parent's pages copy-on-write, so summed RSS counts every
    shared page once per process: three times for a trainer with two workers
    (``benchmarks/bench_memory.py``: 2.9x the summed PSS for a real run).
    PSS (proportional set size) charges a page shared by n processes 1/n to each, so the
    summed PSS of a tree is what the tree really holds. USS is a process's private part,
    what the kernel would free if it exited.

    Attributes:
        rss: Summed RSS; a diagnostic, it double counts shared pages.
        pss: Summed PSS; None where the OS gives no PSS (not Linux) or a process's
            ``smaps_rollup`` could not be read (then the sum would be short).
        workers_uss: Summed USS of the descendants (the workers' private memory); None
            where the OS gives no USS.
        processes: How many processes were read.
    """

    rss: int = 0
    pss: int | None = 0
    workers_uss: int | None = 0
    processes: int = 0

    def add(self, full: Any, is_root: bool) -> TreeMemory:
        """This total plus one process's ``memory_full_info()`` (or ``memory_info()``)."""
        pss = getattr(full, "pss", None)
        uss = getattr(full, "uss", None)
        return TreeMemory(
            self.rss + int(full.rss),
            None if self.pss is None or pss is None else self.pss + int(pss),
            self.workers_uss
            if is_root
            else (None if self.workers_uss is None or uss is None else self.workers_uss + int(uss)),
            self.processes + 1,
        )


def tree_processes(
    root: psutil.Process, prune: Callable[[psutil.Process], bool] | None = None
) -> list[psutil.Process]:
    """``root`` and its descendants, without the subtree of any descendant ``prune`` accepts.

    One ``children(recursive=True)`` call (one scan of /proc), then a parent walk per
    process for pruning, rather than one /proc scan per tree node.
    """
    try:
        children = root.children(recursive=True)
    except psutil.Error:
        children = []
    if prune is None:
        return [root, *children]
    by_pid = {p.pid: p for p in children}
    verdicts: dict[int, bool] = {root.pid: True}

    def kept(proc: psutil.Process) -> bool:
        if proc.pid not in verdicts:
            try:
                keep = not prune(proc) and kept(by_pid.get(proc.ppid()) or root)
            except psutil.Error:
                keep = False
            verdicts[proc.pid] = keep
        return verdicts[proc.pid]

    return [root, *(p for p in children if kept(p))]


def local_rank_env(proc: psutil.Process) -> str | None:
    """The ``LOCAL_RANK`` a process was started with (None: not set, or not readable)."""
    try:
        return proc.environ().get("LOCAL_RANK")
    except (psutil.AccessDenied, psutil.NoSuchProcess, OSError):
        return None


def other_ranks(root: psutil.Process) -> Callable[[psutil.Process], bool]:
    """A ``prune`` for :func:`tree_processes`: descendants that are other DDP ranks.

    Lightning starts ranks > 0 as children of rank 0, so a plain tree sum of rank 0 would
    hold every rank. Forked DataLoader workers inherit their rank's ``LOCAL_RANK``; a
    child with another one is another rank. Verdicts are cached by pid (an environment
    does not change), so a 1 Hz sampler reads each ``/proc/<pid>/environ`` once.
    """
    own = local_rank_env(root)
    seen: dict[int, bool] = {}

    def prune(proc: psutil.Process) -> bool:
        if proc.pid not in seen:
            seen[proc.pid] = local_rank_env(proc) != own
        return seen[proc.pid]

    return prune


def read_memory(proc: psutil.Process, full: bool = True) -> Any:
    """One process's RSS, PSS and USS (``memory_full_info``); RSS alone if that is denied.

    On Linux the full reading parses ``/proc/<pid>/smaps_rollup``, for which the kernel
    walks every mapping and checks each resident page's map count: about 0.2 ms of CPU
    for a plain 1 GiB numpy process, but 7 ms for a process that imported torch (its
    hundreds of file-backed library mappings), against 8 us for RSS from ``statm``.
    So it runs on the sampler thread only, and less often than the 1 Hz samples
    (``SystemSampler.pss_interval_s``). ``full=False`` reads RSS alone.
    """
    if not full:
        return proc.memory_info()
    try:
        return proc.memory_full_info()
    except psutil.AccessDenied:
        return proc.memory_info()


def tree_memory(
    pid: int | None = None,
    prune: Callable[[psutil.Process], bool] | None = None,
    full: bool = True,
) -> TreeMemory:
    """PSS, RSS and workers' USS of a process (default: this one) and its descendants.

    ``full=False`` reads RSS only (``pss``/``workers_uss`` are None): cheap, double counts.
    """
    root = psutil.Process(pid or os.getpid())
    total = TreeMemory()
    for proc in tree_processes(root, prune):
        try:
            total = total.add(read_memory(proc, full), proc is root)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # a worker that exited in between holds nothing any more
    return total


def memory_metrics(mem: TreeMemory) -> Sample:
    """The ``sys/proc_*`` figures of one reading (PSS ones only where PSS is known)."""
    values: Sample = {names.PROC_RSS_BYTES: float(mem.rss)}
    if mem.pss is not None:
        values[names.PROC_PSS_BYTES] = float(mem.pss)
    if mem.workers_uss is not None:
        values[names.WORKERS_USS_BYTES] = float(mem.workers_uss)
    return values


def process_tree_memory(pid: int | None = None) -> tuple[int, int]:
    """Summed RSS of a process and its descendants (bytes), and how many processes.

    Kept for callers that publish ``sys/proc_rss_bytes``; RSS double counts pages the
    workers share with the trainer, so anything that judges memory uses
    :func:`tree_memory`'s PSS instead.
    """
    mem = tree_memory(pid, full=False)
    return mem.rss, mem.processes


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
        for child in tree_processes(self._root, self._prune)[1:]:
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
