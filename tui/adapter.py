"""The one place plain feed events become Textual messages.

Feeds announce :mod:`ocrtop.tui.core.events` dataclasses through a ``post`` callable; here
that callable is bound to the app's queue. ``can_replace`` defers to the event's own
``replaces``, so the collapsing of a flapping connection's events is defined once, in
the core, for the app and for anything else that queues them.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.message import Message

from ocrtop.tui.core.events import FeedEvent
from ocrtop.tui.core.feeds.base import Post


class FeedMessage(Message):
    """A feed event on its way through the app's message queue."""

    def __init__(self, event: FeedEvent) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        """An older, unhandled message whose event this one makes redundant."""
        return isinstance(message, FeedMessage) and self.event.replaces(message.event)


def poster(app: App[Any]) -> Post:
    """A ``post`` for feeds that queues each event on ``app`` (safe from its loop)."""

    def post(event: FeedEvent) -> bool:
        return app.post_message(FeedMessage(event))

    return post
