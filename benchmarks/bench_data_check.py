"""What checking a dataset at setup costs: building a split with every image decoded.

Since issue 14 a canonical split is checked when it is built (the rules of ``ocrtop data
check``, every image decoded to catch truncated files). This prints the setup time of
one split with the check's decode on 1 thread and on N threads, against the baseline
of reading the labels alone (what setup cost before), in the same run, plus the load.

    OMP_NUM_THREADS=1 python benchmarks/bench_data_check.py [--num 120] [--size 640]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from ocrtop.ocr.data.canonical import CanonicalSource, read_labels, split_paths
from ocrtop.ocr.data.synthetic import write_dataset


def timed(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--num", type=int, default=120)
    p.add_argument("--size", type=int, default=640)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ds"
        write_dataset(root, num=args.num, seed=0, width=args.size, height=args.size)
        labels, _ = split_paths(root, "train")
        n = len(read_labels(labels))
        load = os.getloadavg()[0]
        base = timed(lambda: read_labels(labels), args.repeats)
        one = timed(lambda: CanonicalSource(str(root), "train", check_workers=1), args.repeats)
        workers = os.cpu_count() or 1
        many = timed(
            lambda: CanonicalSource(str(root), "train", check_workers=workers), args.repeats
        )
    print(f"train split: {n} images {args.size}x{args.size}, load {load:.1f}, {workers} cores")
    print(f"labels only (before): {base * 1e3:8.1f} ms")
    print(f"checked, 1 thread:    {one * 1e3:8.1f} ms  ({one / n * 1e3:.2f} ms/image)")
    print(f"checked, {workers} threads:   {many * 1e3:8.1f} ms  (x{one / many:.2f} vs 1 thread)")
    print(json.dumps({"images": n, "labels_ms": base * 1e3, "one_ms": one * 1e3,
                      "threads_ms": many * 1e3, "threads": workers, "load": load}))  # fmt: skip


if __name__ == "__main__":
    main()
