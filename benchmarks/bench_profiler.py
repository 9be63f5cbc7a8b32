"""The cost of one profiling window on the training loop.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_profiler.py   (--quick: smoke)

One ``Trainer.fit`` of the compute-bound toy config of ``bench_monitor_overhead.py``
with ``--repeats`` ``ProfilerCallback`` windows (``--warmup`` + ``--window`` steps each),
``--gap`` steps apart. Step times come from the module's own ``training_step``
timestamps. For each window: the extra wall time it cost the training loop, i.e. the
sum, over the step that starts it, its steps, the step that stops it and the
``--after`` steps while its analysis thread runs, of (step time - local baseline),
where the local baseline is the median of the ``--after`` steps just before the window.
Also: the training thread's time to stop the profiler (``on_thread_ms``), the analysis
time off the training thread (parse, top-k, Chrome trace export) and the trace size.
Medians over the windows are printed; the last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytorch_lightning as pl
import torch
from bench_monitor_overhead import InMemoryImages, StepTimed, collate
from torch.utils.data import DataLoader

from ocrtop.ocr.callbacks import ProfilerCallback


def window_cost(dt: list[float], first: int, last: int, after: int) -> dict[str, float]:
    """Costs of the window whose steps are ``[first, last)``; ``dt[i]`` is step i's time."""
    base = statistics.median(dt[first - 1 - after : first - 1])
    touched = dt[first - 1 : last + after]  # start step .. window .. stop step .. analysis
    return {
        "baseline_ms": base,
        "inside_ms": statistics.median(dt[first : last - 1]),
        "start_step_ms": dt[first - 1],
        "stop_step_ms": dt[last - 1],
        "during_analysis_ms": statistics.median(dt[last : last + after]),
        "extra_ms": sum(x - base for x in touched),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="windows in the run")
    parser.add_argument(
        "--gap", type=int, default=40, help="steps from one window start to the next"
    )
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--window", type=int, default=10, help="recorded steps")
    parser.add_argument("--after", type=int, default=10, help="steps for baseline / analysis")
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="2 windows of 3 steps")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.window, args.gap, args.after = 2, 3, 20, 5
    if args.gap < args.warmup + args.window + 2 * args.after + 2:
        raise SystemExit("--gap must leave room for the window, its analysis and a baseline")
    starts = [args.gap * (i + 1) for i in range(args.repeats)]
    torch.manual_seed(0)
    data = DataLoader(
        InMemoryImages(args.batch * 16, args.size), batch_size=args.batch, collate_fn=collate
    )
    with tempfile.TemporaryDirectory() as tmp:
        prof = ProfilerCallback(
            profile_steps=starts, warmup_steps=args.warmup, window_steps=args.window, run_dir=tmp
        )
        module = StepTimed(args.width)
        trainer = pl.Trainer(
            accelerator="cpu",
            devices=1,
            max_steps=starts[-1] + args.gap,
            callbacks=[prof],
            logger=False,
            default_root_dir=tmp,
            enable_progress_bar=False,
            enable_checkpointing=False,
            enable_model_summary=False,
        )
        trainer.fit(module, data)
        prof.wait()
        results = prof.results
        trace_bytes = [os.path.getsize(r["trace_path"]) for r in results]
    if len(results) != len(starts):
        raise SystemExit(f"expected {len(starts)} windows, got {len(results)}")
    dt = [(b - a) * 1e3 for a, b in itertools.pairwise(module.stamps)]
    span = args.warmup + args.window
    costs = [window_cost(dt, s, s + span, args.after) for s in starts]

    def med(key: str, rows: list[dict[str, float]] = costs) -> float:
        return round(statistics.median(r[key] for r in rows), 3)

    out = {
        "baseline_step_ms_p50": med("baseline_ms"),
        "window_step_ms_p50": med("inside_ms"),
        "start_step_ms_p50": med("start_step_ms"),
        "stop_step_ms_p50": med("stop_step_ms"),
        "during_analysis_step_ms_p50": med("during_analysis_ms"),
        "window_extra_wall_ms_p50": med("extra_ms"),
        "window_extra_wall_ms_all": [round(c["extra_ms"], 1) for c in costs],
        "on_thread_stop_ms_p50": round(statistics.median(r["on_thread_ms"] for r in results), 3),
        "analysis_ms_off_thread_p50": round(
            statistics.median(r["analysis_ms"] for r in results), 3
        ),
        "trace_bytes_p50": int(statistics.median(trace_bytes)),
        "windows": len(results),
        "top_op": results[0]["top_k"][0]["name"],
        "config": {k: getattr(args, k) for k in ("warmup", "window", "size", "width", "batch")},
    }
    print(f"baseline step p50            {out['baseline_step_ms_p50']:9.3f} ms")
    print(f"step inside a window p50     {out['window_step_ms_p50']:9.3f} ms")
    print(
        f"step that starts / stops it  {out['start_step_ms_p50']:9.3f} / "
        f"{out['stop_step_ms_p50']:.3f} ms"
    )
    print(f"step during analysis p50     {out['during_analysis_step_ms_p50']:9.3f} ms")
    print(f"on-thread profiler stop      {out['on_thread_stop_ms_p50']:9.3f} ms")
    print(f"analysis, off-thread         {out['analysis_ms_off_thread_p50']:9.3f} ms")
    print(f"trace size                   {out['trace_bytes_p50'] / 1e6:9.3f} MB")
    print(
        f"extra wall time per window   {out['window_extra_wall_ms_p50']:9.3f} ms (median of "
        f"{len(costs)}: {out['window_extra_wall_ms_all']})"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
