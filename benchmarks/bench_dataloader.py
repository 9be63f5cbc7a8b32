"""Data loading throughput: samples/s with 0 and 2 DataLoader workers.

Run: ``python benchmarks/bench_dataloader.py [--num 64] [--batch-size 8] [--size 640]``

The pipeline is the DBNet training one: on-the-fly synthetic pages (or ``--root DIR`` for
a canonical dataset), train transforms, DB targets, ``collate_batch``. The first batch
(worker start-up, lazy imports) is excluded from the rate; the per-stage means come from
the Dataset's own ``timing``.
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch.utils.data import DataLoader

from ocr.data.canonical import CanonicalSource
from ocr.data.collate import collate_batch
from ocr.data.dataset import TextDetectionDataset
from ocr.data.source import PageSource
from ocr.data.synthetic import SyntheticPages
from ocr.data.targets import DBTargets
from ocr.data.transforms import train_transforms


def measure(
    dataset: TextDetectionDataset, workers: int, batch_size: int
) -> tuple[float, dict[str, float]]:
    """Samples per second after the first batch, and mean per-sample stage times (ms)."""
    loader = DataLoader(
        dataset, batch_size=batch_size, num_workers=workers, collate_fn=collate_batch, shuffle=False
    )
    iterator = iter(loader)
    next(iterator)
    start, samples = time.perf_counter(), 0
    stages: dict[str, float] = {}
    for batch in iterator:
        samples += batch["batch_size"]
        for key, value in batch["timing"].items():
            stages[key] = stages.get(key, 0.0) + value
    elapsed = time.perf_counter() - start
    return samples / elapsed, {k: v / max(samples, 1) for k, v in stages.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num", type=int, default=64, help="samples per run")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--size", type=int, default=640, help="network input and page size")
    parser.add_argument("--root", default=None, help="canonical dataset dir (default: synthetic)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    source: PageSource
    if args.root:
        source = CanonicalSource(args.root, "train")
    else:
        source = SyntheticPages(num=args.num, seed=0, width=args.size, height=args.size)
    dataset = TextDetectionDataset(source, train_transforms(size=args.size), DBTargets())
    name = args.root or f"synthetic {args.size}px"
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"{name}, {len(dataset)} samples, batch {args.batch_size}, DB targets")
    print(f"({os.cpu_count()} CPUs, load average {load}; workers compete with other jobs)")
    for workers in (0, 2):
        rate, stages = measure(dataset, workers, args.batch_size)
        parts = ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
        print(f"workers={workers}: {rate:6.1f} samples/s  (per sample ms: {parts})")


if __name__ == "__main__":
    main()
