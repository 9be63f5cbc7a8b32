"""The panel base: data-only changes are throttled, first values and view changes are not."""

from __future__ import annotations

import re

from ocrtop.tui.adapter import FeedMessage
from ocrtop.tui.app import OcrtopApp
from ocrtop.tui.core.events import ValuesArrived
from ocrtop.tui.core.state import AppState
from tests.helpers.streams import T0, make_stream
from tests.helpers.tui_fakes import RecordedFeed, panel_text

VALUE = re.compile(r"\d+\.\d samples/s")


def hello_only_app(tick_hz: float) -> tuple[OcrtopApp, AppState, list[dict[str, object]]]:
    """An app whose state holds a job's hello only; the rest of its stream is returned."""
    state = AppState(clock=lambda: T0 + 30)
    hello, *rest = make_stream(steps=5)
    app = OcrtopApp(state, lambda post: RecordedFeed(state, [(hello, "s")]), tick_hz=tick_hz)
    return app, state, rest


async def test_first_values_replace_the_placeholder_despite_the_throttle() -> None:
    app, state, rest = hello_only_app(tick_hz=20)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        panel = app.dashboard.query_one("#throughput")
        assert "— samples/s" in panel_text(app, "throughput")  # the placeholder was drawn
        for msg in rest:
            state.ingest(msg, "s")
        panel.refresh_from(state)  # well within MIN_INTERVAL of the placeholder's draw
        assert VALUE.search(panel_text(app, "throughput"))
        state.ingest({**rest[-2], "seq": 10_000}, "s")  # the same names again: throttled
        version = panel._seen
        panel.refresh_from(state)
        assert panel._seen == version


async def test_values_arrived_redraws_without_waiting_for_the_tick() -> None:
    app, state, rest = hello_only_app(tick_hz=0.1)  # the timer would take 10 s
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        app.dashboard.refresh_from(state)  # the placeholder frame (the tick is far off)
        for msg in rest:
            state.ingest(msg, "s")
        assert not VALUE.search(panel_text(app, "throughput"))
        app.post_message(FeedMessage(ValuesArrived("s")))
        await pilot.pause(0.05)
        assert VALUE.search(panel_text(app, "throughput"))
