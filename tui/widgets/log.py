"""Log tail: the trainer's forwarded log lines, newest at the bottom, optionally filtered."""

from __future__ import annotations

import time
from collections.abc import Hashable

from rich.console import Group, RenderableType
from rich.text import Text

from ocrtop.tui.core.records import LogRecord
from ocrtop.tui.core.state import AppState
from ocrtop.tui.widgets.panel import Panel

LEVEL_STYLE = {"ERROR": "bold red", "CRITICAL": "bold red", "WARNING": "yellow", "DEBUG": "dim"}


def matching(records: list[LogRecord], needle: str) -> list[LogRecord]:
    """Records whose level, logger or message contains ``needle`` (case-insensitive)."""
    if not needle:
        return records
    needle = needle.lower()
    return [r for r in records if needle in f"{r.level} {r.logger} {r.message}".lower()]


class LogPanel(Panel):
    """The last lines of the trainer's log (``/`` filters)."""

    TITLE = "Log"
    KEY = "6"

    def signature(self, state: AppState) -> Hashable:
        """New lines, another filter, or another job/rank."""
        job = state.job
        totals = tuple(r.logs_total for r in job.ranks.values()) if job else ()
        return (state.view_key(), totals, state.view.log_filter, state.notice)

    def render_state(self, state: AppState, width: int, height: int) -> RenderableType:
        """See the module docstring."""
        self.border_subtitle = f"filter: {state.view.log_filter}" if state.view.log_filter else ""
        job = state.job
        if job is None:
            return Text(state.notice or "", style="dim")
        ranks = state.listed_ranks()
        records = sorted((rec for r in ranks for rec in r.logs), key=lambda rec: rec.t)
        shown = matching(records, state.view.log_filter)[-height:]
        text = Text(no_wrap=True, overflow="ellipsis")
        for i, rec in enumerate(shown):
            if i:
                text.append("\n")
            text.append(time.strftime("%H:%M:%S ", time.localtime(rec.t)), style="dim")
            text.append(f"{rec.level[:4]:<4} ", style=LEVEL_STYLE.get(rec.level, "green"))
            if len(job.ranks) > 1:
                text.append(f"r{rec.rank} ", style="dim")
            first, *more = rec.message.splitlines() or [""]
            text.append(first + (" …" if more else ""))
        if not shown:
            text.append(
                "no matching lines" if state.view.log_filter else "no log lines yet", style="dim"
            )
        return Group(text)  # rendered by Rich, so no_wrap holds: one record, one line
