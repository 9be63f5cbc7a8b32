"""Process-tree memory against /proc, and disk rates against a counter we advance ourselves."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import psutil
import pytest
import torch

from bridge import names
from ocr.callbacks.sampling import process_tree, system
from ocr.callbacks.sampling.process_tree import (
    TreeMemory,
    local_rank_env,
    memory_metrics,
    other_ranks,
    tree_memory,
    tree_processes,
)
from ocr.callbacks.sampling.system import SystemSampler

ARRAY_BYTES = 200 * 2**20
linux_only = pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/smaps_rollup").exists(), reason="needs /proc/<pid>/smaps_rollup"
)


def smaps_rollup_kib(pid: int, field: str) -> int:
    """One field of the kernel's rollup, read here without psutil (the reference)."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key == field:
            return int(rest.split()[0])
    raise KeyError(field)


@contextmanager
def readers_of(array: np.ndarray, n: int) -> Iterator[list[int]]:
    """Fork ``n`` children that read every page of ``array`` and wait until released."""
    pids, release_fds = [], []
    for _ in range(n):
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: read (never write) the shared pages, then wait
            try:
                os.close(ready_r)
                os.close(go_w)
                checksum = float(array.sum())
                os.write(ready_w, b"1" if checksum > 0 else b"0")
                os.read(go_r, 1)
            finally:
                os._exit(0)
        os.close(ready_w)
        os.close(go_r)
        assert os.read(ready_r, 1) == b"1"
        os.close(ready_r)
        pids.append(pid)
        release_fds.append(go_w)
    try:
        yield pids
    finally:
        for fd in release_fds:
            os.close(fd)  # EOF on the child's read: it exits
        for pid in pids:
            os.waitpid(pid, 0)


@linux_only
def test_pss_counts_pages_shared_with_forked_workers_once() -> None:
    array = np.ones(ARRAY_BYTES // 8)  # written here, so resident in the parent
    with readers_of(array, 2) as children:
        tree = [os.getpid(), *children]
        for _ in range(5):  # other processes mapping the same libraries move our PSS
            before = sum(smaps_rollup_kib(p, "Pss") * 1024 for p in tree)
            mem = tree_memory()
            after = sum(smaps_rollup_kib(p, "Pss") * 1024 for p in tree)
            if abs(after - before) < 0.005 * before:
                break
        private = sum(
            (smaps_rollup_kib(p, "Private_Clean") + smaps_rollup_kib(p, "Private_Dirty")) * 1024
            for p in children
        )
    assert mem.processes == 3
    assert mem.pss is not None and mem.workers_uss is not None
    # the same pages as the kernel's own rollup, read just before and just after
    assert 0.99 * min(before, after) <= mem.pss <= 1.01 * max(before, after)
    # each reader's RSS counts the whole array again; PSS counts it once in total
    assert mem.rss - mem.pss > 1.8 * ARRAY_BYTES
    assert mem.pss < mem.rss / 2
    # the readers wrote nothing of the array: their private part is small
    assert mem.workers_uss < 0.25 * ARRAY_BYTES
    assert abs(mem.workers_uss - private) < 0.1 * ARRAY_BYTES
    values = memory_metrics(mem)
    assert values[names.PROC_PSS_BYTES] == float(mem.pss)
    assert values[names.PROC_RSS_BYTES] == float(mem.rss)


@linux_only
def test_system_sampler_publishes_pss_and_workers_uss() -> None:
    array = np.ones(ARRAY_BYTES // 8)
    sampler = SystemSampler()
    with readers_of(array, 2):
        v = sampler.sample()
    assert v[names.PROC_RSS_BYTES] - v[names.PROC_PSS_BYTES] > 1.8 * ARRAY_BYTES
    assert v[names.WORKERS_USS_BYTES] < 0.25 * ARRAY_BYTES
    assert v[names.PROC_PSS_PEAK_BYTES] >= v[names.PROC_PSS_BYTES]


def test_without_pss_only_rss_is_published(monkeypatch: pytest.MonkeyPatch) -> None:
    # macOS and Windows: memory_full_info has uss but no pss
    def no_pss(proc: psutil.Process, full: bool = True) -> Any:
        return SimpleNamespace(rss=proc.memory_info().rss, uss=1)

    monkeypatch.setattr(process_tree, "read_memory", no_pss)
    mem = tree_memory()
    assert mem.pss is None and mem.rss > 0
    values = memory_metrics(mem)
    assert names.PROC_PSS_BYTES not in values and values[names.PROC_RSS_BYTES] > 0


def test_tree_memory_totals_skip_nothing_and_keep_uss_for_workers_only() -> None:
    root = SimpleNamespace(rss=10, pss=6, uss=5)
    worker = SimpleNamespace(rss=8, pss=2, uss=1)
    total = TreeMemory().add(root, True).add(worker, False).add(worker, False)
    assert total == TreeMemory(rss=26, pss=10, workers_uss=2, processes=3)


@linux_only
def test_pruned_subtrees_are_left_out() -> None:
    me = psutil.Process()
    with readers_of(np.ones(8), 2) as (keep, drop):
        kept = {p.pid for p in tree_processes(me, prune=lambda p: p.pid == drop)}
        everything = {p.pid for p in tree_processes(me)}
    assert {keep, drop} <= everything
    assert keep in kept and drop not in kept and me.pid in kept


class FakeProc:
    """A process whose disk counters we advance by hand."""

    def __init__(self) -> None:
        self.pid = 4242
        self.read_bytes = self.write_bytes = 0
        self.pss = 50
        self.full_reads = 0

    def children(self, recursive: bool = False) -> list[Any]:
        return []

    @contextmanager
    def oneshot(self) -> Iterator[None]:
        yield

    def memory_info(self) -> Any:
        return SimpleNamespace(rss=100)

    def memory_full_info(self) -> Any:
        self.full_reads += 1
        return SimpleNamespace(rss=100, pss=self.pss, uss=40)

    def io_counters(self) -> Any:
        return SimpleNamespace(read_bytes=self.read_bytes, write_bytes=self.write_bytes)


def test_disk_rates_are_bytes_per_second_not_cumulative_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(system, "_now", lambda: clock[0])
    sampler = SystemSampler(pss_interval_s=0.0)
    proc = FakeProc()
    proc.read_bytes, proc.write_bytes = 7_000_000, 1_000_000  # history before the first sample
    monkeypatch.setattr(sampler, "_root", proc)
    first = sampler.sample()
    assert names.DISK_READ_BPS not in first  # a rate needs an interval
    proc.read_bytes += 10_000_000
    proc.write_bytes += 3_000_000
    clock[0] += 2.0
    second = sampler.sample()
    assert second[names.DISK_READ_BPS] == pytest.approx(5_000_000)
    assert second[names.DISK_WRITE_BPS] == pytest.approx(1_500_000)
    clock[0] += 0.5  # idle half second: the rate drops to zero, not the running total
    third = sampler.sample()
    assert third[names.DISK_READ_BPS] == 0.0 and third[names.DISK_WRITE_BPS] == 0.0
    assert second[names.PROC_PSS_BYTES] == 50.0 and second[names.PROC_RSS_BYTES] == 100.0


def test_pss_is_read_every_pss_interval_and_carried_in_between(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [0.0]
    monkeypatch.setattr(system, "_now", lambda: clock[0])
    sampler = SystemSampler(pss_interval_s=5.0)
    proc = FakeProc()
    monkeypatch.setattr(sampler, "_root", proc)
    seen = []
    for second in range(12):  # the 1 Hz sampler
        clock[0] = float(second)
        proc.pss = 50 + second
        seen.append(sampler.sample()[names.PROC_PSS_BYTES])
    assert proc.full_reads == 3  # at 0, 5 and 10 s: the costly walk, not every second
    assert seen == [50.0] * 5 + [55.0] * 5 + [60.0] * 2  # every sample carries the latest


@linux_only
def test_other_ddp_ranks_under_this_process_are_not_its_memory() -> None:
    env = {k: v for k, v in os.environ.items() if k != "LOCAL_RANK"}
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    other_rank = subprocess.Popen(sleeper, env={**env, "LOCAL_RANK": "7"})
    worker = subprocess.Popen(sleeper, env=env)
    try:
        deadline = time.monotonic() + 10
        me = psutil.Process()
        while time.monotonic() < deadline:  # environ is readable once the child exec'd
            if local_rank_env(psutil.Process(other_rank.pid)) == "7":
                break
            time.sleep(0.02)
        kept = {p.pid for p in tree_processes(me, other_ranks(me))}
        sampler = SystemSampler(pss_interval_s=0.0)
        assert {p.pid for p in tree_processes(me, sampler._prune)} == kept
    finally:
        for proc in (other_rank, worker):
            proc.kill()
            proc.wait()
    assert worker.pid in kept and other_rank.pid not in kept


def test_rank_stats_takes_the_samplers_pss_instead_of_walking_proc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ocr.callbacks import rank_stats
    from ocr.callbacks.resource_monitor import ResourceMonitorCallback

    monitor = ResourceMonitorCallback(write_csv=False, gpu=False)
    monkeypatch.setattr(monitor, "latest_values", lambda: {names.PROC_PSS_BYTES: 123.0})
    trainer = SimpleNamespace(callbacks=[monitor])

    def walk(pid: int | None = None) -> float:
        raise AssertionError("walked /proc on the training thread")

    monkeypatch.setattr(rank_stats, "rank_memory", walk)
    cb = rank_stats.RankStatsCallback()
    row = cb._row(torch.device("cpu"), trainer)  # type: ignore[arg-type]
    assert row[rank_stats.ROW.index("pss_bytes")] == 123.0
    assert rank_stats.sampled_memory(SimpleNamespace(callbacks=[])) is None  # type: ignore[arg-type]
