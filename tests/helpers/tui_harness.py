"""A dashboard app wired to fake bridge clients, for Pilot tests of the live source."""

from __future__ import annotations

from typing import Any

from ocrtop.tui.app import OcrtopApp
from ocrtop.tui.core.feeds.live import LiveFeed
from ocrtop.tui.core.state import AppState
from tests.helpers.streams import T0, StreamBuilder, make_stream
from tests.helpers.tui_fakes import FakeClient, panel_text


def text_of(app: OcrtopApp, panel_id: str) -> str:
    return panel_text(app, panel_id)


class Harness:
    """An app whose live source connects to fake clients (one per connection attempt)."""

    def __init__(
        self, steps: int = 45, size: tuple[int, int] = (120, 40), readonly: bool = False
    ) -> None:
        self.builder = StreamBuilder()
        self.stream = make_stream(steps=steps, builder=self.builder)
        self.clients: list[FakeClient] = []
        self.size = size
        self.state = AppState(clock=lambda: T0 + 30.0, readonly=readonly)

        async def connect(target: str) -> Any:
            client = FakeClient(self.stream[0])
            for msg in self.stream[1:]:
                client.push(msg)
            self.clients.append(client)
            return client

        self.app = OcrtopApp(
            self.state,
            lambda post: LiveFeed(
                self.state, post, target="fake-job", connect=connect, retry_s=0.05
            ),
            tick_hz=20,
        )


async def settle(pilot: Any, rounds: int = 4) -> None:
    for _ in range(rounds):
        await pilot.pause(0.06)
