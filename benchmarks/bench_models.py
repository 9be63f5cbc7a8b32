"""Forward + backward time of each architecture on CPU, as configured by default.

Builds the detector and loss exactly as ``runners/train.py`` would (Hydra compose of
``configs/train.yaml`` with ``model/architectures=<arch>``), feeds a batch of random images
with plausible targets (a few text boxes per image), and times ``forward + loss +
backward`` (no optimiser step, no data loading). Prints one row per architecture with the
median and the best run: on a shared machine the best run is the closest to the cost of
the model itself, the median to what a training run will see.

    python benchmarks/bench_models.py                      # dbnet, dbnetpp, craft; 4 x 640 x 640
    python benchmarks/bench_models.py --archs craft \\
        --override model/backbone@model.net.backbone=vgg16_bn   # CRAFT's original backbone
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


def fake_batch(arch: str, n: int, size: int) -> dict[str, torch.Tensor]:
    """Targets of the right shapes with three text lines per image (values do not matter
    for speed, but empty targets would take a cheaper path through OHEM)."""
    if arch == "craft":
        h = size // 2
        region = torch.zeros(n, h, h)
        for k in range(3):
            region[:, 20 + 60 * k : 36 + 60 * k, 20 : h - 20] = 0.8
        return {
            "region_map": region,
            "affinity_map": region * 0.5,
            "craft_mask": torch.ones(n, h, h),
        }
    shrink = torch.zeros(n, size, size)
    thresh_mask = torch.zeros(n, size, size)
    for k in range(3):
        y = 40 + 120 * k
        shrink[:, y : y + 30, 40 : size - 40] = 1
        thresh_mask[:, y - 15 : y + 45, 25 : size - 25] = 1
    return {
        "shrink_map": shrink,
        "shrink_mask": torch.ones(n, size, size),
        "thresh_map": thresh_mask * 0.5,
        "thresh_mask": thresh_mask,
    }


def bench(
    arch: str, overrides: list[str], n: int, size: int, iters: int, warmup: int
) -> dict[str, Any]:
    """Median forward+backward milliseconds for one architecture."""
    with initialize_config_dir(str(CONFIG_DIR), version_base=None):
        cfg = compose("train", overrides=[f"model/architectures={arch}", *overrides])
    torch.manual_seed(0)
    model = instantiate(cfg.model.net).train()
    loss_fn = instantiate(cfg.model.loss)
    images = torch.randn(n, 3, size, size)
    batch = fake_batch(arch, n, size)
    times = []
    for i in range(warmup + iters):
        model.zero_grad(set_to_none=True)
        start = time.perf_counter()
        loss = loss_fn(model(images), batch)["loss"]
        loss.backward()
        if i >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    ms = statistics.median(times)
    return {
        "arch": arch,
        "backbone": cfg.model.net.backbone.name,
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
        "batch": n,
        "size": size,
        "threads": torch.get_num_threads(),
        "fwd_bwd_ms": round(ms, 1),
        "best_ms": round(min(times), 1),
        "ms_per_image": round(ms / n, 1),
        "runs_ms": [round(t, 1) for t in times],
    }


def main() -> None:
    """Parse arguments, run each architecture, print a table (or JSON lines)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--archs", nargs="+", default=["dbnet", "dbnetpp", "craft"])
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, default=640)
    parser.add_argument(
        "--iters", type=int, default=3, help="timed iterations (median and best reported)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs (oneDNN setup)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    parser.add_argument("--override", action="append", default=[], help="extra Hydra override")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if not args.json:
        print(
            f"{'arch':8} {'backbone':24} {'params':>7} {'batch':>5} {'size':>5} {'thr':>3} "
            f"{'median ms':>10} {'best ms':>9} {'ms/img':>7}"
        )
    for arch in args.archs:
        row = bench(arch, args.override, args.batch, args.size, args.iters, args.warmup)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(
                f"{row['arch']:8} {row['backbone']:24} {row['params_m']:>6}M {row['batch']:>5} "
                f"{row['size']:>5} {row['threads']:>3} {row['fwd_bwd_ms']:>10} "
                f"{row['best_ms']:>9} {row['ms_per_image']:>7}",
                flush=True,
            )


if __name__ == "__main__":
    main()
