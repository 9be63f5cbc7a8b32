"""Test doubles for the TUI: a fake bridge client, a fixed feed and a panel-to-text helper."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from rich.console import Console

from ocrtop.tui.core.feeds.base import Capabilities, FeedBase
from ocrtop.tui.core.state import AppState
from tests.helpers.streams import T0


def panel_text(app: Any, panel_id: str) -> str:
    """The plain text a dashboard panel currently shows."""
    panel = app.dashboard.query_one(f"#{panel_id}")
    with open(os.devnull, "w") as sink:
        console = Console(width=max(20, panel.content_size.width), record=True, file=sink)
        console.print(panel.content)
        return console.export_text()


class FakeClient:
    """Stands in for ``ocrtop.bridge.client.BridgeClient``: a queue of messages and a command log.

    ``push(None)`` ends the stream (a disconnect); commands are recorded and acknowledged
    the way the trainer would, and ``on_command`` lets a test answer with more messages.
    """

    def __init__(self, hello: dict[str, Any]) -> None:
        self.hello = hello["payload"]
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.commands: list[tuple[str, dict[str, Any]]] = []
        self.closed = False

    def push(self, msg: dict[str, Any] | None) -> None:
        """Deliver a message (None: the connection drops)."""
        self.queue.put_nowait(msg)

    def __aiter__(self) -> FakeClient:
        return self

    async def __anext__(self) -> dict[str, Any]:
        msg = await self.queue.get()
        if msg is None:
            raise StopAsyncIteration
        return msg

    async def send_command(self, command: str, **args: Any) -> str:
        """Record the command and acknowledge it."""
        self.commands.append((command, args))
        cmd_id = f"c{len(self.commands)}"
        self.push(
            {
                "type": "ack",
                "t": T0,
                "seq": 0,
                "step": None,
                "epoch": None,
                "payload": {"id": cmd_id, "command": command, "ok": True, "result": {}},
            }
        )
        return cmd_id

    async def close(self) -> None:
        """Mark closed (the source must close what it opened)."""
        self.closed = True


ATTACHED = Capabilities(live=True, commands=True)


class RecordedFeed(FeedBase):
    """A feed that pours fixed ``(message, stream)`` pairs into the state once and records
    the commands sent instead of sending them (``sent_ids``: what ``send`` returns).

    It says it is live and takes commands, like an attach, unless told otherwise.
    """

    def __init__(
        self,
        state: AppState,
        messages: list[tuple[dict[str, Any], str]] | None = None,
        capabilities: Capabilities = ATTACHED,
        sent_ids: tuple[str, ...] = ("c1",),
    ) -> None:
        super().__init__(lambda event: None)
        self.state, self.messages = state, messages or []
        self.capabilities, self.sent_ids = capabilities, sent_ids
        self.sent: list[tuple[str, dict[str, Any]]] = []

    async def run(self) -> None:
        """Ingest every message at once; every stream is then live."""
        for msg, stream in self.messages:
            self.state.ingest(msg, stream)
        for stream in dict.fromkeys(stream for _, stream in self.messages):
            self.state.set_connection(stream, "live")
        self.finished_feeding = True

    async def send(self, command: str, rank: int | None = None, **args: Any) -> list[str]:
        """Record the command."""
        self.sent.append((command, args))
        return list(self.sent_ids)
