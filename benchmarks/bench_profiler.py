"""The cost of one profiling window on the training loop.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_profiler.py   (--quick: smoke)

One ``Trainer.fit`` of the compute-bound toy config of ``bench_monitor_overhead.py``
with a ``ProfilerCallback`` window (``--warmup`` + ``--window`` steps) starting at
step ``--start``. Step times come from the module's own ``training_step`` timestamps.
Reported: the step time before the window (baseline), inside it, and while the
analysis thread runs after it; the training thread's time to stop the profiler; the
analysis time (off the training thread: parse, top-k, trace export); the trace size;
and the window's total extra wall time on the training loop, i.e. the sum over the
window's steps (and the step that starts it and the ones during analysis) of the step
time minus the baseline. The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

import pytorch_lightning as pl
import torch
from bench_monitor_overhead import InMemoryImages, StepTimed, collate
from torch.utils.data import DataLoader

from ocr.callbacks import ProfilerCallback


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=30, help="global step the window starts at")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--window", type=int, default=10, help="recorded steps")
    parser.add_argument("--tail", type=int, default=40, help="steps after the window")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="short run")
    args = parser.parse_args()
    if args.quick:
        args.start, args.window, args.tail = 10, 3, 10
    steps = args.start + args.warmup + args.window + args.tail
    torch.manual_seed(0)
    data = DataLoader(
        InMemoryImages(args.batch * 16, args.size), batch_size=args.batch, collate_fn=collate
    )
    with tempfile.TemporaryDirectory() as tmp:
        prof = ProfilerCallback(
            profile_steps=[args.start],
            warmup_steps=args.warmup,
            window_steps=args.window,
            run_dir=tmp,
        )
        module = StepTimed(args.width)
        trainer = pl.Trainer(
            accelerator="cpu",
            devices=1,
            max_steps=steps,
            callbacks=[prof],
            logger=False,
            default_root_dir=tmp,
            enable_progress_bar=False,
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        trainer.fit(module, data)
        prof.wait()
        (result,) = prof.results
        trace_bytes = os.path.getsize(result["trace_path"])
    s = module.stamps
    dt = [(b - a) * 1e3 for a, b in itertools.pairwise(s)]  # dt[i]: step i -> i+1
    first, last = args.start, args.start + args.warmup + args.window  # window steps [first, last)
    base = statistics.median(dt[5 : first - 1])
    inside = dt[first : last - 1]
    # dt[first-1] holds prof.start(); dt[last-1] the stop and hand-off to the analysis thread.
    edges = [dt[first - 1], dt[last - 1]]
    after = dt[last : last + 10]
    extra = sum(x - base for x in [*edges, *inside, *after])
    out = {
        "baseline_step_ms_p50": round(base, 3),
        "window_step_ms_p50": round(statistics.median(inside), 3),
        "window_start_step_ms": round(edges[0], 3),
        "window_end_step_ms": round(edges[1], 3),
        "steps_after_window_ms_p50": round(statistics.median(after), 3),
        "on_thread_stop_ms": result["on_thread_ms"],
        "analysis_ms_off_thread": result["analysis_ms"],
        "trace_bytes": trace_bytes,
        "window_extra_wall_ms": round(extra, 3),
        "recorded_steps": result["recorded_steps"],
        "top_op": result["top_k"][0]["name"],
        "config": {
            k: getattr(args, k) for k in ("start", "warmup", "window", "size", "width", "batch")
        },
    }
    print(f"baseline step p50        {base:9.3f} ms")
    print(f"inside window step p50   {out['window_step_ms_p50']:9.3f} ms")
    print(f"start / end step         {edges[0]:9.3f} / {edges[1]:.3f} ms")
    print(
        f"after window p50 (10)    {out['steps_after_window_ms_p50']:9.3f} ms"
        "  (analysis thread running)"
    )
    print(f"on-thread stop           {result['on_thread_ms']:9.3f} ms")
    print(f"analysis (off-thread)    {result['analysis_ms']:9.3f} ms")
    print(f"trace                    {trace_bytes / 1e6:9.3f} MB")
    print(f"window extra wall time   {extra:9.3f} ms over {args.warmup}+{args.window} steps")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
