"""The sweep screen (``s``): every job of a multirun in one table; Enter shows one.

It follows the sweep while open (rebuilt once a second, the running job marked), and
finished jobs stay in it, so any of them can be picked and browsed in the dashboard.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ocrtop.tui.core import derive
from ocrtop.tui.core.state import AppState
from ocrtop.tui.core.sweep import HEADER, format_row


class SweepScreen(ModalScreen[str | None]):
    """Answers with the key of the chosen job, or None (Escape / ``s``)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,s", "dismiss(None)", "close", show=False)
    ]

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state
        self._shown: list[str] = []

    def compose(self) -> ComposeResult:
        """Title, column header, one option per job."""
        with Vertical(id="dialog", classes="sweep"):
            yield Static("sweep — Enter shows a job, Esc closes", id="sweep-title")
            yield Static(HEADER, id="sweep-header")
            yield OptionList(id="sweep-jobs")

    def on_mount(self) -> None:
        """Fill the table, highlight the job on screen, keep following."""
        self.rebuild()
        self.set_interval(1.0, self.rebuild)

    def rebuild(self) -> None:
        """Redraw the rows, keeping the highlighted job."""
        rows = derive.sweep_rows(self.state.jobs, self.state.now())
        lines = [format_row(r, r.key == self.state.view.current) for r in rows]
        if lines == self._shown:
            return
        self._shown = lines
        jobs = self.query_one(OptionList)
        keep = jobs.highlighted_option.id if jobs.highlighted_option is not None else None
        jobs.clear_options()
        jobs.add_options([Option(line, id=r.key) for line, r in zip(lines, rows, strict=True)])
        target = keep or self.state.view.current
        for i, r in enumerate(rows):
            if r.key == target:
                jobs.highlighted = i

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Answer with the chosen job's key."""
        self.dismiss(event.option.id)
