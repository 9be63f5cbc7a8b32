"""Process-tree memory of a real tiny training run with 2 DataLoader workers: PSS vs RSS.

Run: ``python benchmarks/bench_memory.py [--epochs 2] [--num 48] [--interval 0.5]``

It starts ``runners/train.py`` (synthetic pages, 2 persistent workers, CPU) and, from this
process, samples the trainer's process tree while the workers are alive:

- summed RSS (what ocrtop used to show and alert on),
- summed PSS through ``ocrtop.ocr.callbacks.sampling.process_tree.tree_memory`` (psutil), and
- summed PSS parsed here straight from ``/proc/<pid>/smaps_rollup`` (the reference),
  read right after the psutil reading, so the two agree only if the walker is right.

Then it prints what the trainer itself published (the resource CSV) and the cost of one
reading per process: ``memory_info`` (RSS only) vs ``memory_full_info`` (RSS+PSS+USS) vs
a direct ``smaps_rollup`` parse, in the benchmark process after importing torch.
Linux only (PSS comes from ``smaps_rollup``).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.sampling.process_tree import tree_memory, tree_processes

ROOT = Path(__file__).resolve().parents[1]
MIB = 2**20


def rollup_pss(pid: int) -> int:
    """PSS of one process from ``/proc/<pid>/smaps_rollup`` (bytes), parsed here."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"/proc/{pid}/smaps_rollup: no Pss line")


def reference_pss(pid: int) -> tuple[int, int]:
    """Summed PSS of ``pid``'s tree by direct parse, and how many processes were read."""
    total = count = 0
    for proc in tree_processes(psutil.Process(pid)):
        try:
            total += rollup_pss(proc.pid)
            count += 1
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total, count


def train_command(run_dir: Path, epochs: int, num: int) -> list[str]:
    return [
        sys.executable,
        "runners/train.py",
        "experiment=synthetic_debug",
        f"data.train.source.num={num}",
        "data.train.source.width=256",
        "data.train.source.height=256",
        "data.val.source.num=4",
        "data.test.source.num=4",
        "data.num_workers=2",
        "data.persistent_workers=true",
        f"trainer.max_epochs={epochs}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "callbacks.resource_monitor.interval_s=0.5",
        f"hydra.run.dir={run_dir}",
    ]


def sample_run(run_dir: Path, epochs: int, num: int, interval: float) -> list[dict[str, float]]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    log = open(run_dir.parent / "train.log", "w")  # noqa: SIM115 - closed below
    child = subprocess.Popen(
        train_command(run_dir, epochs, num), cwd=ROOT, env=env, stdout=log, stderr=log
    )
    rows: list[dict[str, float]] = []
    try:
        while child.poll() is None:
            time.sleep(interval)
            try:
                c0 = time.process_time()
                mem = tree_memory(child.pid)
                c1 = time.process_time()
                ref, ref_count = reference_pss(child.pid)
                c2 = time.process_time()
                tree_memory(child.pid, full=False)
                c3 = time.process_time()
            except psutil.NoSuchProcess:
                break
            if mem.processes >= 3 and ref_count == mem.processes and mem.pss is not None:
                rows.append(
                    {
                        "procs": mem.processes,
                        "rss": mem.rss,
                        "pss": mem.pss,
                        "ref": ref,
                        "uss": mem.workers_uss or 0,
                        "full_ms": (c1 - c0) * 1e3,
                        "rss_ms": (c3 - c2) * 1e3,
                    }
                )
    finally:
        code = child.wait()
        log.close()
    if code != 0:
        raise SystemExit(f"training failed (exit {code}); see {run_dir.parent / 'train.log'}")
    return rows


def published(run_dir: Path) -> dict[str, float]:
    """Medians of what the trainer's resource monitor wrote, over rows with PSS."""
    (path,) = sorted((run_dir / "resource_logs").glob("*_fit_rank0.csv"))
    with open(path, newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r.get(names.PROC_PSS_BYTES)]
    keys = (names.PROC_RSS_BYTES, names.PROC_PSS_BYTES, names.WORKERS_USS_BYTES)
    return {k: statistics.median(float(r[k]) for r in rows) for k in keys} | {"rows": len(rows)}


def cost_us(call: Callable[[], object], n: int = 300) -> float:
    """Mean wall time of one call, microseconds."""
    t0 = time.perf_counter()
    for _ in range(n):
        call()
    return (time.perf_counter() - t0) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--num", type=int, default=48, help="training pages per epoch")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between samples")
    args = parser.parse_args()
    if not Path(f"/proc/{os.getpid()}/smaps_rollup").exists():
        raise SystemExit("bench_memory: needs Linux /proc/<pid>/smaps_rollup")
    print(f"load before: {Path('/proc/loadavg').read_text().strip()}")
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        t0 = time.perf_counter()
        rows = sample_run(run_dir, args.epochs, args.num, args.interval)
        wall = time.perf_counter() - t0
        pub = published(run_dir)
    if not rows:
        raise SystemExit("bench_memory: no sample while the 2 workers were alive")
    keys = ("rss", "pss", "ref", "uss", "full_ms", "rss_ms")
    counts = statistics.multimode(r["procs"] for r in rows)
    common = [r for r in rows if r["procs"] == counts[0]]
    med = {k: statistics.median(r[k] for r in common) for k in keys}
    diffs = sorted(abs(r["pss"] - r["ref"]) / r["ref"] for r in rows)
    print(f"training run: {wall:.0f} s, {len(rows)} samples with the trainer and its workers")
    print(f"medians over the {len(common)} samples with {counts[0]:.0f} processes:")
    print(f"  summed RSS          {med['rss'] / MIB:8.0f} MiB   (double counts shared pages)")
    ratio = med["rss"] / med["pss"]
    print(f"  summed PSS (ocrtop) {med['pss'] / MIB:8.0f} MiB   RSS/PSS = {ratio:.2f}")
    print(
        f"  summed PSS (/proc)  {med['ref'] / MIB:8.0f} MiB   |ocrtop - /proc| median "
        f"{statistics.median(diffs):.2%}, max {diffs[-1]:.2%} (read one after the other)"
    )
    print(f"  workers' USS        {med['uss'] / MIB:8.0f} MiB   (their private pages)")
    print(
        f"trainer published (median of {pub['rows']:.0f} CSV rows): "
        f"rss {pub[names.PROC_RSS_BYTES] / MIB:.0f} MiB, pss {pub[names.PROC_PSS_BYTES] / MIB:.0f}"
        f" MiB, workers uss {pub[names.WORKERS_USS_BYTES] / MIB:.0f} MiB"
    )
    print(
        f"CPU of one tree reading ({counts[0]:.0f} processes): "
        f"PSS+USS+RSS {med['full_ms']:.1f} ms, "
        f"RSS only {med['rss_ms']:.2f} ms; at the default pss_interval_s=10 the sampler "
        f"spends {med['full_ms'] / 10 / 10:.2f}% of a core on PSS ({med['full_ms'] / 10:.1f}% "
        "if read every 1 s)"
    )
    import torch  # noqa: F401 - a realistic mapped size for the cost of one reading

    me = psutil.Process()
    rss_us = cost_us(me.memory_info)
    full_us = cost_us(me.memory_full_info)
    direct_us = cost_us(lambda: rollup_pss(me.pid))
    print(
        f"cost per process reading (this process, {me.memory_info().rss / MIB:.0f} MiB RSS): "
        f"memory_info {rss_us:.0f} us, memory_full_info {full_us:.0f} us, "
        f"smaps_rollup parse {direct_us:.0f} us"
    )
    print(f"load after: {Path('/proc/loadavg').read_text().strip()}")


if __name__ == "__main__":
    main()
