"""Hydra multirun reuses the process: start/stop must leave nothing behind."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocrtop.bridge.publisher import Publisher
from tests.helpers.bridge_client import count_fds


@pytest.fixture
def fast_run_dir() -> Iterator[Path]:
    """A run dir in RAM when possible: every close fsyncs, and this test is about fds."""
    base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    d = Path(tempfile.mkdtemp(prefix="obf", dir=base))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_1000_start_stop_cycles_leak_nothing(registry_dir: Path, fast_run_dir: Path) -> None:
    def cycle(i: int) -> None:
        pub = Publisher(fast_run_dir, job_id=f"c{i}", flush_interval=0.0)
        pub.start()
        pub.metrics({"x": i}, step=i)
        pub.close()

    for i in range(20):  # warm up lazily created fds (selectors, logging...)
        cycle(i)
    fds, threads = count_fds(), threading.active_count()
    for i in range(1000):
        cycle(i)
    assert count_fds() == fds
    assert threading.active_count() == threads
    assert list(registry_dir.iterdir()) == []  # sockets and entries removed
    lines = (fast_run_dir / "events.jsonl").read_bytes().splitlines()
    assert len(lines) == 2 * 1020  # a hello and an event per cycle, all logged


def test_close_without_start_and_restart_refused(registry_dir: Path, tmp_path: Path) -> None:
    pub = Publisher(tmp_path)
    pub.close()  # never started: nothing to undo, no error
    with pytest.raises(RuntimeError, match="create a new one"):
        pub.start()
    assert list(registry_dir.iterdir()) == []
