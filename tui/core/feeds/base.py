"""The one interface every feed offers, and what a feed says it can do.

The app and the headless loop hold a :class:`Feed` and never look at its type: what a
key may do (send ``profile``/``stop``, pause a replay, read back jobs that ended
unseen) is decided by the feed's :class:`Capabilities`, which the feed fills in from
what it is (a recorded run takes no commands; a read-only attach neither).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from ocrtop.tui.core.events import CommandFailed, FeedEvent, ValuesArrived

Post = Callable[[FeedEvent], Any]
"""Where a feed announces its events: the app's adapter, or the headless printer."""


@dataclass(frozen=True)
class Capabilities:
    """What a feed can do, as data the app asks instead of inspecting the feed's type."""

    live: bool = False
    """Follows running jobs: reconnects, and ``catch_up`` reads jobs that ended unseen."""
    commands: bool = False
    """``send`` reaches a trainer (``profile``, ``stop``)."""
    playback: bool = False
    """``toggle_pause``, ``step`` and ``faster`` control the pace (a recording)."""


class Feed(Protocol):
    """A source of bridge messages poured into an ``AppState``, plus its controls."""

    capabilities: Capabilities

    @property
    def done(self) -> bool:
        """True once the feed delivered everything it will (run() returning is not enough:
        a replay that failed to open returns early without being done)."""
        ...

    async def run(self) -> None:
        """Feed the state until the feed ends or is cancelled."""

    def choose(self, target: str) -> None:
        """Follow ``target`` (picked from a list) when ``run`` starts."""

    async def send(self, command: str, rank: int | None = None, **args: Any) -> list[str]:
        """Send a command to the job on screen; returns the ids of the commands sent."""
        ...

    async def catch_up(self) -> None:
        """Read back what ended unseen (the jobs of a sweep that finished between polls)."""

    async def aclose(self) -> None:
        """Stop and close every connection."""

    def toggle_pause(self) -> None:
        """Freeze or continue (``playback`` only)."""

    def step(self) -> None:
        """Pause and release one message (``playback`` only)."""

    def faster(self, delta: int) -> None:
        """Next (``+1``) or previous (``-1``) speed (``playback`` only)."""


class FeedBase:
    """Defaults for a feed that lacks a capability: each control does nothing, and a
    command is refused with a ``CommandFailed`` event instead of being lost silently."""

    capabilities = Capabilities()

    def __init__(self, post: Post) -> None:
        self.post = post
        self.target: str | None = None
        self.finished_feeding = False
        self.valued: set[str] = set()
        """Streams whose first metrics were announced (``ValuesArrived``)."""

    @property
    def done(self) -> bool:
        """See :attr:`Feed.done`."""
        return self.finished_feeding

    def announce_values(self, kind: str, stream: str) -> None:
        """Call after ingesting a message of type ``kind``: a stream's first metrics are
        announced once, so the first frame with values is drawn at once."""
        if kind == "metrics" and stream not in self.valued:
            self.valued.add(stream)
            self.post(ValuesArrived(stream))

    def choose(self, target: str) -> None:
        """See :meth:`Feed.choose`."""
        self.target = target

    async def send(self, command: str, rank: int | None = None, **args: Any) -> list[str]:
        """See :meth:`Feed.send`: this feed cannot, and says so."""
        self.post(CommandFailed(command, "this feed sends no commands"))
        return []

    async def catch_up(self) -> None:
        """See :meth:`Feed.catch_up`: nothing to read back."""

    async def aclose(self) -> None:
        """See :meth:`Feed.aclose`: nothing to close."""

    def toggle_pause(self) -> None:
        """See :meth:`Feed.toggle_pause`."""

    def step(self) -> None:
        """See :meth:`Feed.step`."""

    def faster(self, delta: int) -> None:
        """See :meth:`Feed.faster`."""
