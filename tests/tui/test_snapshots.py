"""SVG snapshots of the dashboard over a fixed stream and a fixed clock.

Run ``pytest tests/tui --snapshot-update`` after an intended visual change and review
the SVGs in ``tests/tui/__snapshots__``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import pytest

from ocrtop.tui.app import OcrtopApp
from ocrtop.tui.core.state import AppState
from tests.helpers.streams import T0, StreamBuilder, make_stream
from tests.helpers.tui_fakes import RecordedFeed


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Log and alert times are local; pin the zone so the SVG is the same everywhere."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = old
    time.tzset()


def dashboard_app() -> OcrtopApp:
    builder = StreamBuilder()
    stream = make_stream(steps=45, builder=builder)
    stream += builder.profile(T0 + 25.0, steps=20, step=45)
    state = AppState(clock=lambda: T0 + 26.0)
    feed = RecordedFeed(state, [(m, "rank0") for m in stream], sent_ids=())
    return OcrtopApp(state, lambda post: feed, mode="attach")


async def settle(pilot: Any) -> None:
    await pilot.pause(0.1)
    pilot.app.tick()
    await pilot.pause(0.1)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_dashboard_snapshot(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(dashboard_app(), terminal_size=size, run_before=settle)


def test_maximised_training_panel_snapshot(snap_compare: Any) -> None:
    async def maximise(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("3", "m")
        await settle(pilot)

    assert snap_compare(dashboard_app(), terminal_size=(80, 24), run_before=maximise)
