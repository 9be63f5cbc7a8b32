"""OHEM's two paths on this machine's device: topk (reads k on the host) vs sort (no read).

``ocrtop.ocr.losses.ohem`` sorts on accelerators, where topk's ``int(k.max())`` is a host sync
every step, and keeps topk on the CPU, where that read is free. This prints both paths'
time on the same inputs so the CPU choice rests on a figure (and, with a GPU, the price
of the sync-free path). DB mines over the whole batch: one row of N x H x W pixels.

    python benchmarks/bench_ohem.py                 # 4 x 640 x 640, 3% text pixels
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ocrtop.ocr.losses import ohem


def timed(fn, repeats: int, device: str) -> float:
    """Median milliseconds of ``fn()`` (synchronised around each call on a GPU)."""
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--size", type=int, default=640)
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    g = torch.Generator().manual_seed(0)
    pixels = args.batch * args.size * args.size
    loss = torch.rand(1, pixels, generator=g).to(device)
    positive = (torch.rand(1, pixels, generator=g) < 0.03).float().to(device)
    negative = 1 - positive
    results = {}
    for name, free in (("topk_with_host_read", False), ("sort_sync_free", True)):
        ohem.sync_free = lambda t, free=free: free  # type: ignore[misc]
        results[name] = timed(
            lambda: ohem.ohem_mean(loss, positive, negative, 3.0, 100), args.repeats, device
        )
    row = {
        "device": device,
        "pixels": pixels,
        **{k: round(v, 2) for k, v in results.items()},
        "sort_over_topk": round(results["sort_sync_free"] / results["topk_with_host_read"], 2),
    }
    print(json.dumps(row))


if __name__ == "__main__":
    main()
