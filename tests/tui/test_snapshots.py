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

from tests.helpers.streams import T0, StreamBuilder, make_stream
from tui.app import OcrtopApp
from tui.state import AppState


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


class Recorded:
    """Feeds a fixed list of messages at once; records commands instead of sending them."""

    def __init__(self, state: AppState, messages: list[dict[str, Any]]) -> None:
        self.state, self.messages = state, messages
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def run(self) -> None:
        for msg in self.messages:
            self.state.ingest(msg, "rank0")
        self.state.set_connection("rank0", "live")

    async def send(self, command: str, rank: int | None = None, **args: Any) -> list[str]:
        self.sent.append((command, args))
        return []


def dashboard_app() -> OcrtopApp:
    builder = StreamBuilder()
    stream = make_stream(steps=45, builder=builder)
    stream += builder.profile(T0 + 25.0, steps=20, step=45)
    state = AppState(clock=lambda: T0 + 26.0)
    return OcrtopApp(state, lambda app: Recorded(state, stream), mode="attach")


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
