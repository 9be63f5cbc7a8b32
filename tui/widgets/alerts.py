"""Alerts panel: active alerts with their hints first, then the recent transitions."""

from __future__ import annotations

import time
from collections.abc import Hashable

from rich.console import Group, RenderableType
from rich.text import Text

from ocrtop.tui.core.state import AppState
from ocrtop.tui.widgets.panel import Panel

SEVERITY = {"critical": "bold white on red", "warning": "bold yellow", "info": "cyan"}


class AlertsPanel(Panel):
    """What needs attention now, and what happened lately."""

    TITLE = "Alerts"
    KEY = "5"

    def signature(self, state: AppState) -> Hashable:
        """Alerts change only on alert messages."""
        job = state.job
        totals = tuple(r.alerts_total for r in job.ranks.values()) if job else ()
        return (state.view_key(), totals)

    def render_state(self, state: AppState, width: int, height: int) -> RenderableType:
        """See the module docstring."""
        job = state.job
        if job is None:
            return Text("")
        ranks = state.listed_ranks()
        active = sorted((a for r in ranks for a in r.alerts_active.values()), key=lambda a: a.t)
        recent = sorted((a for r in ranks for a in r.alerts_recent), key=lambda a: -a.t)
        lines: list[RenderableType] = []
        for a in active:
            line = Text()
            line.append(f" {a.severity.upper()} ", style=SEVERITY.get(a.severity, "bold"))
            rank = f" r{a.rank}" if len(job.ranks) > 1 else ""
            line.append(f" {a.code}{rank}: {a.message}")
            lines.append(line)
            if a.hint:
                lines.append(Text(f"   → {a.hint}", style="italic dim"))
        if not active:
            lines.append(Text("no active alerts", style="green"))
        room = max(0, height - len(lines))
        for a in recent[:room]:
            stamp = time.strftime("%H:%M:%S", time.localtime(a.t))
            style = "dim" if a.state == "cleared" else SEVERITY.get(a.severity, "")
            lines.append(
                Text(
                    f"{stamp} {a.state:<7} {a.code} {a.message}",
                    style=style,
                    no_wrap=True,
                    overflow="ellipsis",
                )
            )
        return Group(*lines)
