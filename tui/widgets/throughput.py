"""Throughput panel: samples/s history, data-wait percentiles, efficiency and the verdict.

The head line also shows ``perf/monitor_overhead_pct`` as "ocrtop N%": the CPU that
ocrtop's own hooks and threads cost, over the step time, as the trainer measured it.

This is the panel that answers "is my GPU starving?", so the verdict and its reason are
always visible, and DDP jobs get one row per rank (a slow rank sets the pace).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from ocrtop.bridge import names
from ocrtop.tui.core import derive
from ocrtop.tui.core.charts import chart
from ocrtop.tui.core.fmt import human_bytes, num
from ocrtop.tui.core.state import AppState
from ocrtop.tui.widgets.panel import Panel


def window_label(seconds: float | None) -> str:
    """``60`` -> ``1m``; None -> ``all``."""
    return "all" if seconds is None else f"{int(seconds // 60)}m"


class ThroughputPanel(Panel):
    """Samples/s graph, data wait p50/p95/p99, efficiency, verdict, per-rank rows."""

    TITLE = "Throughput"
    KEY = "1"
    MIN_INTERVAL = 0.5

    def render_state(self, state: AppState, width: int, height: int) -> RenderableType:
        """See the module docstring."""
        rank, job = state.rank, state.job
        if rank is None or job is None:
            return Text("waiting for the first metrics…", style="dim")
        sps = rank.value(names.SAMPLES_PER_SECOND)
        head = Text()
        head.append(f"{num(sps)} samples/s", style="bold cyan")
        head.append(f" · step {num(rank.value(names.STEP_MS), 0)} ms")
        head.append(f" · {window_label(state.view.window_s)}", style="dim")
        overhead = rank.value(names.MONITOR_OVERHEAD_PCT)
        if overhead is not None:  # what ocrtop's own hooks and threads cost this job
            head.append(f" · ocrtop {num(overhead, 1)}%", style="dim")
        wait = Text("wait")
        for label, name in (
            ("p50", names.DATA_WAIT_MS_P50),
            ("p95", names.DATA_WAIT_MS_P95),
            ("p99", names.DATA_WAIT_MS_P99),
        ):
            wait.append(f" {label} {num(rank.value(name))}")
        wait.append(" ms")
        eff, verdict = derive.efficiency(rank), derive.verdict(rank)
        line = Text(f"eff {num(None if eff is None else eff * 100, 0)}% ")
        if verdict is None:
            line.append("verdict —", style="dim")
        else:
            style = "bold red" if verdict.label == "data-bound" else "bold green"
            line.append(verdict.label, style=style)
            line.append(f"  {verdict.reason}", style="dim")
        rows = derive.rank_rows(job) if len(job.ranks) > 1 else []
        graph_h = max(1, height - 3 - (len(rows) + 1 if rows else 0))
        hist = rank.history.get(names.SAMPLES_PER_SECOND)
        values = hist.window(state.view.window_s, state.now()) if hist else []
        lines: list[RenderableType] = [head]
        lines += [Text(r, style="cyan") for r in chart(values, width, graph_h, lo=0.0)]
        lines += [wait, line]
        if rows:
            lines += rank_table(rows, width)
        return Group(*lines)


def rank_table(rows: list[derive.RankRow], width: int = 80) -> list[Text]:
    """The merged DDP view: one line per rank; the straggler (or the slowest) highlighted.

    ``own ms`` is the step time minus the wait for the latest rank: in lockstep the plain
    step times are alike, the own times show who everybody waits for. ``mem`` is GPU
    memory on GPUs, host RSS otherwise.
    """
    lines = [Text("rank  samples/s  wait p95  step ms  own ms  mem", style="bold")]
    slowest = derive.slowest(rows)
    for r in rows:
        style = "bold red" if r.straggler else "yellow" if r.rank == slowest else ""
        text = Text(
            f"{r.rank:>4}  {num(r.samples_per_s):>9}  {num(r.data_wait_p95):>8}  "
            f"{num(r.step_ms, 0):>7}  {num(r.own_step_ms, 0):>6}  {human_bytes(r.memory)}",
            style=style,
        )
        if r.straggler:
            text.append("  ◀ straggler" if len(text) + 13 <= width else " ◀")
        elif r.status == "remote" and len(text) + 14 <= width:
            text.append("  (via rank 0)", style="dim")
        lines.append(text)
    return lines
