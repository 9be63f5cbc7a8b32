"""The throughput panel's head line: samples/s, step time and ocrtop's own cost."""

from __future__ import annotations

from rich.console import Console

from ocrtop.bridge import names
from ocrtop.tui.core.state import AppState
from ocrtop.tui.widgets.throughput import ThroughputPanel
from tests.helpers.streams import T0, StreamBuilder, step_metrics


def rendered(values: dict[str, float]) -> str:
    b = StreamBuilder()
    state = AppState(clock=lambda: T0 + 5.0)
    state.ingest(b.hello(T0))
    state.ingest(b.msg("metrics", T0 + 1.0, {"values": values}, 1, 0))
    console = Console(width=100, record=True, color_system=None)
    console.print(ThroughputPanel().render_state(state, 100, 8))
    return console.export_text()


def test_the_monitor_overhead_is_shown_when_published() -> None:
    perf, _ = step_metrics(0)
    assert "ocrtop" not in rendered(perf)
    text = rendered({**perf, names.MONITOR_OVERHEAD_PCT: 0.43})
    assert "ocrtop 0.4%" in text.splitlines()[0]
