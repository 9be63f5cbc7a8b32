"""Test doubles for the TUI: a fake bridge client and a panel-to-text helper."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from rich.console import Console

from tests.helpers.streams import T0


def panel_text(app: Any, panel_id: str) -> str:
    """The plain text a dashboard panel currently shows."""
    panel = app.dashboard.query_one(f"#{panel_id}")
    with open(os.devnull, "w") as sink:
        console = Console(width=max(20, panel.content_size.width), record=True, file=sink)
        console.print(panel.content)
        return console.export_text()


class FakeClient:
    """Stands in for ``bridge.client.BridgeClient``: a queue of messages and a command log.

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
