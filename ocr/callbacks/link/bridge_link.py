"""The one handle every monitor uses to reach the bridge: :class:`BridgeLink`.

The :class:`~ocrtop.ocr.callbacks.bridge.BridgeCallback` owns the link and puts the running
publisher in it; the throughput, resource, alert, profiler and DDP monitors (and the
runner's notices) find the link on the trainer and publish through it. They depend on
the link, not on the callback that keeps it, so none of them imports the bridge
callback and each stays log-only when the trainer has no link or the bridge never
started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocrtop.ocr.callbacks.link.commands import CommandHandler, CommandRouter

if TYPE_CHECKING:
    from ocrtop.bridge.publisher import Publisher


class BridgeLink:
    """This process's connection to the bridge: the publisher (or None) and the commands.

    Attributes:
        publisher: The running :class:`ocrtop.bridge.publisher.Publisher`; None before the
            bridge starts, after it closes, or when it could not start (log-only mode).
        router: Which callback answers which dashboard command (``stop``, ``profile``).
    """

    def __init__(self) -> None:
        self.publisher: Publisher | None = None
        self.router = CommandRouter()

    @staticmethod
    def of(trainer: Any) -> BridgeLink | None:
        """The link of the trainer's bridge callback (any callback with a ``link``), or None."""
        for cb in getattr(trainer, "callbacks", None) or ():
            link = getattr(cb, "link", None)
            if isinstance(link, BridgeLink):
                return link
        return None

    def register_command(self, name: str, handler: CommandHandler) -> None:
        """Let a callback (e.g. the profiler) answer the bridge command ``name``."""
        self.router.register(name, handler)


def publisher_of(trainer: Any) -> Publisher | None:
    """The trainer's running publisher, or None (the monitor then only logs)."""
    link = BridgeLink.of(trainer)
    return link.publisher if link is not None else None
