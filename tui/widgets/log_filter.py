"""The ``/`` prompt that filters the log tail as you type (Escape clears it)."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input


class LogFilter(Input):
    """A one-line input, hidden until ``/`` is pressed."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "clear_filter", "clear", show=False)]

    def __init__(self) -> None:
        super().__init__(placeholder="filter log (Enter keeps, Esc clears)", id="log-filter")

    def action_clear_filter(self) -> None:
        """Empty the filter and hide the prompt."""
        self.value = ""
        self.display = False
        self.screen.focus_next()
