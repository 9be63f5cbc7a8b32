"""The sampler thread's readings: PSS against /proc, disk rates against counters we advance."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.sampling import system
from ocrtop.ocr.callbacks.sampling.system import SystemSampler
from tests.helpers.proc_memory import ARRAY_BYTES, linux_only, readers_of


@linux_only
def test_system_sampler_publishes_pss_and_workers_uss() -> None:
    array = np.ones(ARRAY_BYTES // 8)
    sampler = SystemSampler()
    with readers_of(array, 2):
        v = sampler.sample()
    assert v[names.PROC_RSS_BYTES] - v[names.PROC_PSS_BYTES] > 1.8 * ARRAY_BYTES
    assert v[names.WORKERS_USS_BYTES] < 0.25 * ARRAY_BYTES
    assert v[names.PROC_PSS_PEAK_BYTES] >= v[names.PROC_PSS_BYTES]


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
