"""Plain events a feed announces (and that the headless printer and the app receive).

Feeds update :class:`ocrtop.tui.core.state.AppState` directly (same event loop, no locks); these
events only announce the rare discrete happenings a screen or printer reacts to. They
are dataclasses, not Textual messages, so headless mode and the feeds never import
Textual: the app wraps them (``ocrtop.tui.adapter``). ``replaces`` says which older, not yet
handled event a new one makes redundant, so a flapping connection cannot flood a queue.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FeedEvent:
    """Base of every feed event."""

    def replaces(self, older: FeedEvent) -> bool:
        """True when ``older``, still waiting to be handled, need not be handled at all."""
        return False


@dataclass(frozen=True)
class ConnectionChanged(FeedEvent):
    """A stream connected, lost its connection, is retrying, or closed for good."""

    stream: str
    condition: str
    detail: str = ""

    def replaces(self, older: FeedEvent) -> bool:
        """Only the latest condition of a stream matters."""
        return isinstance(older, ConnectionChanged) and older.stream == self.stream


@dataclass(frozen=True)
class SnapshotLoaded(FeedEvent):
    """A stream's late-join snapshot is in the state: draw now rather than at the next tick."""

    stream: str

    def replaces(self, older: FeedEvent) -> bool:
        """Several snapshots waiting to be drawn need one redraw."""
        return isinstance(older, SnapshotLoaded)


@dataclass(frozen=True)
class ValuesArrived(FeedEvent):
    """A stream's first metric values are in the state: the first frame with numbers in
    it should not wait for the next redraw tick (up to 1/4 s at the app's 4 Hz)."""

    stream: str

    def replaces(self, older: FeedEvent) -> bool:
        """Several streams' first values waiting to be drawn need one redraw."""
        return isinstance(older, ValuesArrived)


@dataclass(frozen=True)
class JobFinished(FeedEvent):
    """A job reported its final status, or its process exited."""

    job_key: str

    def replaces(self, older: FeedEvent) -> bool:
        """Several ranks finishing the same job announce it once."""
        return isinstance(older, JobFinished) and older.job_key == self.job_key


@dataclass(frozen=True)
class SourceFailed(FeedEvent):
    """The feed cannot go on (no such job, unreadable event log); say why."""

    error: str


@dataclass(frozen=True)
class CommandFailed(FeedEvent):
    """A command could not be sent (not connected, or the trainer refused it)."""

    command: str
    error: str
