"""Process memory references read without psutil: /proc's rollup and forked page readers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

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
