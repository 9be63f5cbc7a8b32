"""Profiler panel: the top-k operators of the latest window, its time and trace path.

While a window is requested, armed or recording, a marker says so, so a key press
never looks like it was ignored.
"""

from __future__ import annotations

import time
from collections.abc import Hashable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ocrtop.tui.core.fmt import num
from ocrtop.tui.core.state import AppState
from ocrtop.tui.widgets.panel import Panel

MARKERS = {"requested": "◌ requested", "armed": "◎ armed", "started": "● recording"}


def tail(path: str, width: int) -> str:
    """Keep the end of a long path (the file name is what you copy), eliding the front."""
    return path if len(path) <= width else "…" + path[-max(1, width - 1) :]


class ProfilerPanel(Panel):
    """Top-k table of the latest profiling window (``p`` starts one)."""

    TITLE = "Profiler"
    KEY = "4"

    def signature(self, state: AppState) -> Hashable:
        """The profiler panel changes only with the profiling state."""
        rank = state.rank
        prof = rank.profile if rank else None
        return (state.view_key(), prof and (prof.state, prof.since, prof.result_t))

    def render_state(self, state: AppState, width: int, height: int) -> RenderableType:
        """See the module docstring."""
        rank = state.rank
        if rank is None:
            return Text("")
        prof = rank.profile
        parts: list[RenderableType] = []
        if prof.running:
            parts.append(
                Text(f"{MARKERS[prof.state]} — {prof.steps or '?'} steps", style="bold yellow")
            )
        elif prof.state == "error":
            parts.append(Text(f"profiling failed: {prof.error}", style="bold red"))
        result = prof.result
        if result is None:
            if not parts:
                parts.append(Text("no profile yet — press p", style="dim"))
            return Group(*parts)
        stamp = time.strftime("%H:%M:%S", time.localtime(prof.result_t or 0))
        split = result.get("split") or {}
        info = Text(f"{stamp} · {result.get('steps', '?')} steps · ", style="dim")
        info.append(" ".join(f"{k.removesuffix('_ms')} {num(v)}ms" for k, v in split.items()))
        parts.append(info)
        table = Table(box=None, expand=True, pad_edge=False, show_edge=False, padding=(0, 1))
        table.add_column("op", ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("self cpu", justify="right")
        table.add_column("self cuda", justify="right")
        if width >= 60:
            table.add_column("total", justify="right")
            table.add_column("calls", justify="right")
        rows = max(1, height - len(parts) - 3)
        for op in (result.get("top_k") or [])[:rows]:
            cells = [
                str(op.get("name", "?")),
                num(op.get("self_cpu_ms")),
                num(op.get("self_cuda_ms")),
            ]
            if width >= 60:
                cells += [num(op.get("cpu_total_ms")), str(op.get("calls", ""))]
            table.add_row(*cells)
        parts.append(table)
        parts.append(
            Text(f"trace {tail(str(result.get('trace_path') or '—'), width - 6)}", style="dim")
        )
        if result.get("summary"):
            parts.append(
                Text(str(result["summary"]), style="italic", no_wrap=True, overflow="ellipsis")
            )
        return Group(*parts)
