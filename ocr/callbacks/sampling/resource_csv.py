"""The resource time series as CSV: stable columns, one new file per run.

Columns are fixed when the file is created (time, step, epoch, system gauges, one column
per core and per GPU gauge), so every row has the same shape and a missing reading is an
empty cell. The file is created exclusively: a second run in the same directory gets a
new file instead of appending to the first one's.
"""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path
from typing import IO

from ocrtop.bridge import names

BASE_COLUMNS = (
    names.CPU_PERCENT,
    names.CPU_IOWAIT,
    names.RAM_USED_BYTES,
    names.RAM_TOTAL_BYTES,
    names.RAM_PERCENT,
    names.PROC_PSS_BYTES,
    names.PROC_PSS_PEAK_BYTES,
    names.WORKERS_USS_BYTES,
    names.PROC_RSS_BYTES,
    names.PROC_RSS_PEAK_BYTES,
    names.DISK_READ_BPS,
    names.DISK_WRITE_BPS,
)


def resource_columns(num_cores: int, gpu_ids: list[int]) -> list[str]:
    """The CSV header for a machine with these cores and GPUs."""
    cols = ["time", "elapsed_s", "step", "epoch", *BASE_COLUMNS]
    cols += [names.cpu_core(i) for i in range(num_cores)]
    cols += [names.gpu(i, f) for i in gpu_ids for f in names.GPU_FIELDS]
    return cols


class ResourceCsv:
    """Append-only writer of one run's resource samples (one thread writes).

    Args:
        directory: ``<run_dir>/resource_logs``; created if missing.
        columns: Header from :func:`resource_columns`.
        rank: Global rank, part of the file name so DDP ranks do not collide.
        stage: Trainer stage (``fit``, ``test``...), part of the file name: a run that
            fits and then tests writes one file per stage.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        columns: list[str],
        rank: int = 0,
        stage: str = "fit",
    ) -> None:
        self.columns = columns
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.path, self._fh = _create_new(directory, f"resources_{stamp}_{stage}_rank{rank}")
        self._writer = csv.writer(self._fh)
        self._writer.writerow(columns)
        self._fh.flush()
        self._t0 = time.time()

    def write(
        self, t: float, step: int | None, epoch: int | None, sample: dict[str, float]
    ) -> None:
        """Write one row; keys not in the header are ignored, absent ones left empty."""
        fixed = {
            "time": f"{t:.3f}",
            "elapsed_s": f"{t - self._t0:.3f}",
            "step": step,
            "epoch": epoch,
        }
        row = [fixed[c] if c in fixed else sample.get(c) for c in self.columns]
        self._writer.writerow(["" if v is None else v for v in row])
        self._fh.flush()

    def close(self) -> None:
        """Close the file (idempotent)."""
        if not self._fh.closed:
            self._fh.close()


def _create_new(directory: Path, stem: str) -> tuple[Path, IO[str]]:
    for n in range(1000):
        path = directory / (f"{stem}.csv" if n == 0 else f"{stem}_{n}.csv")
        try:
            return path, open(path, "x", newline="", encoding="utf-8")
        except FileExistsError:
            continue
    raise RuntimeError(f"could not create a new resource CSV in {directory}: 1000 files exist")
