"""Process-tree memory against /proc, and disk rates against a counter we advance ourselves."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import psutil
import pytest

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.sampling import process_tree
from ocrtop.ocr.callbacks.sampling.process_tree import (
    TreeMemory,
    local_rank_env,
    memory_metrics,
    other_ranks,
    tree_memory,
    tree_processes,
)
from ocrtop.ocr.callbacks.sampling.system import SystemSampler
from tests.helpers.proc_memory import ARRAY_BYTES, linux_only, readers_of, smaps_rollup_kib


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


needs_task_children = pytest.mark.skipif(
    not process_tree.HAVE_TASK_CHILDREN, reason="needs /proc/<pid>/task/<tid>/children"
)
GRANDPARENT = (
    "import subprocess, sys, time\n"
    "kid = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
    "print(kid.pid, flush=True)\n"
    "time.sleep(30)\n"
)
GRANDPARENT_CMD = [sys.executable, "-c", GRANDPARENT]


@needs_task_children
def test_the_walk_down_finds_what_a_scan_of_every_process_finds() -> None:
    """The per-thread children lists against psutil's scan of all of /proc (the reference).

    One child is started from another thread, which lives on (the child is listed under
    that thread, not the main one; once a thread ends its children move to another), and
    one has a child of its own.
    """
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    procs: list[subprocess.Popen[str]] = []
    started, done = threading.Event(), threading.Event()

    def spawn() -> None:
        procs.append(subprocess.Popen(sleeper, text=True))
        started.set()
        done.wait(30)

    thread = threading.Thread(target=spawn)
    thread.start()
    started.wait(30)
    parent = subprocess.Popen(GRANDPARENT_CMD, stdout=subprocess.PIPE, text=True)
    procs.append(parent)
    try:
        assert parent.stdout is not None
        grandchild = int(parent.stdout.readline())
        me = psutil.Process()
        walked = [p.pid for p in tree_processes(me)]
        scanned = {me.pid, *(p.pid for p in me.children(recursive=True))}
        mem = tree_memory()
    finally:
        done.set()
        thread.join()
        for proc in procs:
            proc.kill()
            proc.wait()
    assert sorted(walked) == sorted(scanned)
    assert {procs[0].pid, parent.pid, grandchild} <= set(walked)
    assert mem.processes == len(scanned)


@needs_task_children
def test_the_walk_down_reuses_known_processes_and_prunes_before_descending() -> None:
    parent = subprocess.Popen(GRANDPARENT_CMD, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        grandchild = int(parent.stdout.readline())
        me = psutil.Process()
        first = {p.pid: p for p in tree_processes(me)}
        again = tree_processes(me, known=first)
        pruned = {p.pid for p in tree_processes(me, prune=lambda p: p.pid == parent.pid)}
    finally:
        parent.kill()
        parent.wait()
    assert all(p is first[p.pid] for p in again)  # no new lookup of a process seen before
    assert {parent.pid, grandchild} <= set(first)
    assert parent.pid not in pruned and grandchild not in pruned  # its subtree goes with it


def test_without_task_children_the_tree_comes_from_psutil(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process_tree, "HAVE_TASK_CHILDREN", False)
    with readers_of(np.ones(8), 2) as kids:
        found = {p.pid for p in tree_processes(psutil.Process())}
    assert set(kids) <= found
