"""Messages the feed sources post to the app (and that the headless printer receives).

Sources update :class:`tui.state.AppState` directly (same event loop, no locks); these
messages only announce the rare discrete events a screen reacts to. A burst of
connection changes for one stream collapses into the latest (``can_replace``), so a
flapping connection cannot flood the app's queue.
"""

from __future__ import annotations

from textual.message import Message


class ConnectionChanged(Message):
    """A stream connected, lost its connection, is retrying, or closed for good."""

    def __init__(self, stream: str, condition: str, detail: str = "") -> None:
        super().__init__()
        self.stream = stream
        self.condition = condition
        self.detail = detail

    def can_replace(self, message: Message) -> bool:
        """Only the latest condition of a stream matters."""
        return isinstance(message, ConnectionChanged) and message.stream == self.stream


class SnapshotLoaded(Message):
    """A stream's late-join snapshot is in the state: draw now rather than at the next tick."""

    def __init__(self, stream: str) -> None:
        super().__init__()
        self.stream = stream

    def can_replace(self, message: Message) -> bool:
        """Several snapshots waiting to be drawn need one redraw."""
        return isinstance(message, SnapshotLoaded)


class JobFinished(Message):
    """A job reported its final status, or its process exited."""

    def __init__(self, job_key: str) -> None:
        super().__init__()
        self.job_key = job_key

    def can_replace(self, message: Message) -> bool:
        """Several ranks finishing the same job announce it once."""
        return isinstance(message, JobFinished) and message.job_key == self.job_key


class SourceFailed(Message):
    """The source cannot go on (no such job, unreadable event log); the app should say why."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class CommandFailed(Message):
    """A command could not be sent (not connected, or the trainer refused it)."""

    def __init__(self, command: str, error: str) -> None:
        super().__init__()
        self.command = command
        self.error = error
