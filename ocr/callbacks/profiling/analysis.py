"""Turn a finished ``torch.profiler`` window into a top-k table, a split and a verdict.

Everything here runs on the profiler's analysis thread, never on the training thread:
``key_averages()`` is where torch parses the kineto results (lazily, in Python), and
``export_chrome_trace`` writes a file that can be tens of megabytes.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocrtop.ocr.callbacks.profiling.window import ProfileWindow

_STEP_RE = re.compile(r"^ProfilerStep#\d+$")
STEP_SCOPE = "ProfilerStep*"
"""Name under which every ``ProfilerStep#N`` scope is merged: its self time is the Python
work between operators (Lightning's loop, hooks, the data fetch)."""


@dataclass(frozen=True)
class StepSplit:
    """Mean milliseconds per recorded step, from the step clock's records.

    ``data_wait_ms`` is the loop blocked fetching the batch; ``forward_backward_ms`` runs
    from the fetch end to the optimizer step (transfer, batch-start hooks, forward,
    backward); ``optimizer_ms`` from there to the batch-end hooks; ``after_ms`` is the
    batch-end hooks of every callback, logging and the loop until the next fetch.
    """

    data_wait_ms: float
    forward_backward_ms: float
    optimizer_ms: float
    after_ms: float
    steps: int

    def as_payload(self) -> dict[str, float]:
        """The ``split`` field of a bridge ``profile`` message."""
        return {
            "data_wait_ms": self.data_wait_ms,
            "forward_backward_ms": self.forward_backward_ms,
            "optimizer_ms": self.optimizer_ms,
            "after_ms": self.after_ms,
        }


SplitRow = tuple[float, float, float, float]
"""(data wait, forward-backward, optimizer, after) ms of one step."""


def split_from_steps(rows: list[SplitRow]) -> StepSplit:
    """Average the rows of the recorded steps."""
    if not rows:
        return StepSplit(0.0, 0.0, 0.0, 0.0, 0)
    n = len(rows)
    wait, fwd_bwd, opt, after = (sum(col) / n for col in zip(*rows, strict=True))
    return StepSplit(wait, fwd_bwd, opt, after, n)


def top_k_ops(averages: Any, k: int) -> list[dict[str, Any]]:
    """The ``k`` operators with the highest self time from ``prof.key_averages()``.

    Self times exclude children, so nested events (``aten::conv2d`` ->
    ``aten::convolution`` -> ``aten::mkldnn_convolution``) are not counted twice.
    When device time was recorded, ranks by self device time, else by self CPU time.
    """
    merged: dict[str, dict[str, Any]] = {}
    for evt in averages:
        name = STEP_SCOPE if _STEP_RE.match(evt.key) else evt.key
        row = merged.setdefault(
            name,
            {
                "name": name,
                "self_cpu_ms": 0.0,
                "self_cuda_ms": 0.0,
                "cpu_total_ms": 0.0,
                "calls": 0,
            },
        )
        row["self_cpu_ms"] += evt.self_cpu_time_total / 1e3
        row["self_cuda_ms"] += _self_device_us(evt) / 1e3
        row["cpu_total_ms"] += evt.cpu_time_total / 1e3
        row["calls"] += int(evt.count)
    rows = list(merged.values())
    on_device = any(r["self_cuda_ms"] > 0 for r in rows)
    key = "self_cuda_ms" if on_device else "self_cpu_ms"
    rows.sort(key=lambda r: r[key], reverse=True)
    return [
        {**r, **{f: round(r[f], 3) for f in ("self_cpu_ms", "self_cuda_ms", "cpu_total_ms")}}
        for r in rows[:k]
    ]


def _self_device_us(evt: Any) -> float:
    for attr in ("self_device_time_total", "self_cuda_time_total"):
        value = getattr(evt, attr, None)
        if value is not None:
            return float(value)
    return 0.0


def format_table(rows: list[dict[str, Any]]) -> str:
    """A fixed-width text table for the log."""
    head = (
        f"{'operator':<44} {'self CPU ms':>12} {'self CUDA ms':>12} "
        f"{'CPU total ms':>13} {'calls':>7}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        name = r["name"] if len(r["name"]) <= 44 else r["name"][:41] + "..."
        lines.append(
            f"{name:<44} {r['self_cpu_ms']:>12.3f} {r['self_cuda_ms']:>12.3f} "
            f"{r['cpu_total_ms']:>13.3f} {r['calls']:>7d}"
        )
    return "\n".join(lines)


def bottleneck_summary(split: StepSplit, rows: list[dict[str, Any]]) -> str:
    """One or two sentences: where the window's step time went and the hottest operator."""
    total = split.data_wait_ms + split.forward_backward_ms + split.optimizer_ms + split.after_ms
    if split.steps == 0 or total <= 0:
        head = "no complete step was recorded"
    else:
        shares = {
            "data loading": split.data_wait_ms / total,
            "forward/backward": split.forward_backward_ms / total,
            "optimizer": split.optimizer_ms / total,
            "hooks and logging": split.after_ms / total,
        }
        part, share = max(shares.items(), key=lambda kv: kv[1])
        verdict = {
            "data loading": "input-bound: the model waits for batches",
            "forward/backward": "compute-bound",
            "optimizer": "optimizer-bound: consider a fused/foreach optimizer",
            "hooks and logging": "overhead-bound: callbacks and logging after each batch",
        }[part]
        head = f"{verdict} ({part} {share:.0%} of {total:.1f} ms/step over {split.steps} steps)"
    if rows:
        top = rows[0]
        key = "self_cuda_ms" if top["self_cuda_ms"] > 0 else "self_cpu_ms"
        ops_total = sum(r[key] for r in rows) or 1.0
        share_of_top = top[key] / ops_total
        head += (
            f"; hottest op {top['name']} ({top[key]:.1f} ms self, "
            f"{share_of_top:.0%} of the top-{len(rows)} self time)"
        )
    return head


def cap_trace(path: str, max_bytes: int) -> dict[str, int] | None:
    """Shrink a Chrome trace over ``max_bytes`` by keeping its longest events.

    Metadata events (``ph == "M"``) are always kept so the trace still loads with thread
    names. Returns ``{"kept", "dropped"}`` when trimmed, None when already small enough.
    """
    size = os.path.getsize(path)
    if size <= max_bytes:
        return None
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    events = data.get("traceEvents", [])
    meta = [e for e in events if e.get("ph") == "M"]
    rest = [e for e in events if e.get("ph") != "M"]
    keep = max(1, int(len(events) * max_bytes / size * 0.9) - len(meta))
    rest.sort(key=lambda e: float(e.get("dur", 0.0) or 0.0), reverse=True)
    kept = rest[:keep]
    kept.sort(key=lambda e: float(e.get("ts", 0.0) or 0.0))
    data["traceEvents"] = meta + kept
    data["ocrtopTrimmed"] = {"kept": len(kept), "dropped": len(rest) - len(kept)}
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh)
    os.replace(tmp, path)
    return {"kept": len(kept), "dropped": len(rest) - len(kept)}


def analyze_window(
    w: ProfileWindow, out_dir: str | None, k: int, max_trace_bytes: int
) -> tuple[dict[str, Any], str]:
    """Export, rank and summarise a finished window (analysis thread).

    Returns:
        The ``profile`` payload (state ``finished``) and the text table for the log.
    """
    t0 = time.perf_counter()
    trace_path, trimmed = None, None
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        name = f"{w.epoch}-{w.start_step}-{w.trigger}.json"
        trace_path = os.path.abspath(os.path.join(out_dir, name))
        w.prof.export_chrome_trace(trace_path)
        trimmed = cap_trace(trace_path, max_trace_bytes)
    rows = top_k_ops(w.prof.key_averages(), k)
    split = split_from_steps(w.rows)
    payload = w.payload(
        "finished",
        top_k=rows,
        trace_path=trace_path,
        split=split.as_payload(),
        summary=bottleneck_summary(split, rows),
        recorded_steps=split.steps,
        on_thread_ms=round(w.on_thread_ms, 3),
        trimmed=trimmed,
    )
    payload["analysis_ms"] = round((time.perf_counter() - t0) * 1e3, 3)
    return payload, format_table(rows)
