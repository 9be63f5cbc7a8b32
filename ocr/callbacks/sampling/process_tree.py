"""The one process-tree walker: this rank's process and its DataLoader workers.

Every memory figure ocrtop shows (the resource monitor's PSS/USS/RSS, the throughput
monitor's RSS, DDP ranks' PSS) comes from :func:`tree_memory`, so they cannot disagree
on which processes belong to the tree. :mod:`ocrtop.ocr.callbacks.sampling.system` samples it
on a thread.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psutil

from ocrtop.bridge import names

log = logging.getLogger(__name__)

Sample = dict[str, float]


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
    root: psutil.Process,
    prune: Callable[[psutil.Process], bool] | None = None,
    known: Mapping[int, psutil.Process] | None = None,
) -> list[psutil.Process]:
    """``root`` and its descendants, without the subtree of any descendant ``prune`` accepts.

    On Linux the tree is walked down from ``root`` through ``/proc/<pid>/task/*/children``
    (:func:`child_pids`): a few small reads per process of the tree. Elsewhere, one
    ``children(recursive=True)`` call, which scans every process of the machine (on
    Linux, psutil reads ``/proc/<pid>/stat`` of all of them: 4-5 ms of CPU per call on a
    busy trainer with ~90 processes on the machine, which at 1 Hz was most of what the
    resource sampler cost). ``known`` maps pids to the ``psutil.Process`` objects of the
    previous walk, so a process already seen is not looked up again.
    """
    if isinstance(root, psutil.Process) and HAVE_TASK_CHILDREN:
        walked = _walk_down(root, prune, known or {})
        if walked is not None:
            return walked
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


HAVE_TASK_CHILDREN = os.path.exists(f"/proc/self/task/{os.getpid()}/children")
"""Whether this kernel lists each thread's children (``CONFIG_PROC_CHILDREN``, Linux 3.5+)."""


def child_pids(pid: int) -> list[int] | None:
    """The direct children of ``pid``: ``/proc/<pid>/task/<tid>/children`` of each thread.

    A child is listed under the thread that forked it (the sampler's own subprocesses,
    a DataLoader's workers), so every thread's file is read. None when ``pid`` cannot
    be read (gone, or no /proc); a thread that exits meanwhile lists nothing.
    """
    base = f"/proc/{pid}/task"
    try:
        tids = os.listdir(base)
    except OSError:
        return None
    out: list[int] = []
    for tid in tids:
        try:
            fd = os.open(f"{base}/{tid}/children", os.O_RDONLY)
        except OSError:
            continue  # the thread exited between the listing and the open
        try:
            out.extend(int(c) for c in os.read(fd, 1 << 16).split())
        except OSError:
            continue
        finally:
            os.close(fd)
    return out


def _walk_down(
    root: psutil.Process,
    prune: Callable[[psutil.Process], bool] | None,
    known: Mapping[int, psutil.Process],
) -> list[psutil.Process] | None:
    """:func:`tree_processes` through :func:`child_pids`; None when ``root`` is unreadable."""
    top = child_pids(root.pid)
    if top is None:
        return None
    out = [root]
    seen = {root.pid}
    pending = [top]
    while pending:
        for pid in pending.pop():
            if pid in seen:
                continue
            seen.add(pid)
            proc = known.get(pid)
            try:
                if proc is None:
                    proc = psutil.Process(pid)
                if prune is not None and prune(proc):
                    continue  # another rank: neither it nor its workers are ours
            except psutil.Error:
                continue  # exited meanwhile
            out.append(proc)
            below = child_pids(pid)
            if below:
                pending.append(below)
    return out


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
