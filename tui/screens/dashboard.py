"""The dashboard screen: header, six panels in a grid that adapts to the terminal, key bar."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid
from textual.events import Resize
from textual.screen import Screen

from ocrtop.tui.core.state import AppState
from ocrtop.tui.widgets.alerts import AlertsPanel
from ocrtop.tui.widgets.header import HeaderBar
from ocrtop.tui.widgets.keys import KeysBar
from ocrtop.tui.widgets.log import LogPanel
from ocrtop.tui.widgets.log_filter import LogFilter
from ocrtop.tui.widgets.panel import Panel
from ocrtop.tui.widgets.profiler import ProfilerPanel
from ocrtop.tui.widgets.resources import ResourcesPanel
from ocrtop.tui.widgets.throughput import ThroughputPanel
from ocrtop.tui.widgets.training import TrainingPanel

PANELS = (ThroughputPanel, ResourcesPanel, TrainingPanel, ProfilerPanel, AlertsPanel, LogPanel)
WIDE = 150
"""Terminals at least this wide get three columns; narrower ones two."""


class DashboardScreen(Screen[None]):
    """Composes the panels; the app's timer calls :meth:`refresh_from`."""

    def __init__(self, profile_steps: int, mode: str, readonly: bool) -> None:
        super().__init__()
        self.keys = KeysBar(profile_steps, mode, readonly)
        self.header = HeaderBar(id="header")
        self.panels: list[Panel] = [
            cls(id=cls.__name__.removesuffix("Panel").lower()) for cls in PANELS
        ]
        """The six panels in key order (built once: the timer walks them every tick)."""

    def compose(self) -> ComposeResult:
        """Header, panel grid, filter prompt, key bar."""
        yield self.header
        with Grid(id="panels"):
            yield from self.panels
        log_filter = LogFilter()
        log_filter.display = False
        yield log_filter
        yield self.keys

    def on_resize(self, event: Resize) -> None:
        """Switch between the two- and three-column layouts."""
        self.set_class(event.size.width >= WIDE, "-wide")

    def refresh_from(self, state: AppState) -> None:
        """Redraw the header always and each visible panel when the state changed."""
        if not self.header.is_mounted:
            return  # not composed yet
        self.header.refresh_from(state)
        maximized = self.maximized
        for panel in self.panels:
            if maximized is None or maximized is panel:
                panel.refresh_from(state)
