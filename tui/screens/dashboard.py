"""The dashboard screen: header, six panels in a grid that adapts to the terminal, key bar."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid
from textual.events import Resize
from textual.screen import Screen

from tui.state import AppState
from tui.widgets.alerts import AlertsPanel
from tui.widgets.header import HeaderBar
from tui.widgets.keys import KeysBar
from tui.widgets.log import LogPanel
from tui.widgets.log_filter import LogFilter
from tui.widgets.panel import Panel
from tui.widgets.profiler import ProfilerPanel
from tui.widgets.resources import ResourcesPanel
from tui.widgets.throughput import ThroughputPanel
from tui.widgets.training import TrainingPanel

PANELS = (ThroughputPanel, ResourcesPanel, TrainingPanel, ProfilerPanel, AlertsPanel, LogPanel)
WIDE = 150
"""Terminals at least this wide get three columns; narrower ones two."""


class DashboardScreen(Screen[None]):
    """Composes the panels; the app's timer calls :meth:`refresh_from`."""

    def __init__(self, profile_steps: int, mode: str, readonly: bool) -> None:
        super().__init__()
        self.keys = KeysBar(profile_steps, mode, readonly)

    def compose(self) -> ComposeResult:
        """Header, panel grid, filter prompt, key bar."""
        yield HeaderBar(id="header")
        with Grid(id="panels"):
            for cls in PANELS:
                yield cls(id=cls.__name__.removesuffix("Panel").lower())
        log_filter = LogFilter()
        log_filter.display = False
        yield log_filter
        yield self.keys

    def on_resize(self, event: Resize) -> None:
        """Switch between the two- and three-column layouts."""
        self.set_class(event.size.width >= WIDE, "-wide")

    @property
    def panels(self) -> list[Panel]:
        """The six panels in key order."""
        return list(self.query(Panel))

    def refresh_from(self, state: AppState) -> None:
        """Redraw the header always and each visible panel when the state changed."""
        headers = self.query(HeaderBar)
        if not headers:
            return  # not composed yet
        headers.first().refresh_from(state)
        maximized = self.maximized
        for panel in self.panels:
            if maximized is None or maximized is panel:
                panel.refresh_from(state)
