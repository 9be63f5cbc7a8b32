"""ocrtop's own records on the console when the script has set up no logging.

A script that never calls ``logging.basicConfig`` has no handler on the root logger:
Python then drops INFO records and prints WARNING ones bare, and ocrtop's alerts,
profile summaries and warnings vanish or lose their context. Our runner configures
logging through Hydra; a user's script usually does not. The fallback handler sits on
the ``ocrtop.ocr.callbacks`` logger and prints only while the root logger has no handler of the
user's (the bridge's forwarding handler does not count): as soon as the script sets up
logging, records reach the console through it instead, never twice.
"""

from __future__ import annotations

import logging
import sys

from ocrtop.ocr.callbacks.link.log_handler import BridgeLogHandler

LOGGER = "ocrtop.ocr.callbacks"
FORMAT = "[ocrtop] %(levelname)s %(name)s: %(message)s"


def user_has_logging() -> bool:
    """Whether the root logger has a handler that is not ocrtop's own."""
    return any(not isinstance(h, BridgeLogHandler) for h in logging.getLogger().handlers)


class ConsoleFallbackHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` while :func:`user_has_logging` is False."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        """Print the record unless a handler of the user's will (it propagates to root)."""
        if user_has_logging():
            return
        self.stream = sys.stderr  # follow redirections made after install
        super().emit(record)


def install_console_fallback(level: int = logging.INFO) -> ConsoleFallbackHandler:
    """Attach the fallback handler once and let INFO records through (idempotent).

    The logger's level is set only when the user has not set it, so ``logging.getLogger(
    "ocrtop.ocr.callbacks").setLevel(logging.WARNING)`` before this call still quiets ocrtop.
    """
    logger = logging.getLogger(LOGGER)
    for handler in logger.handlers:
        if isinstance(handler, ConsoleFallbackHandler):
            return handler
    if logger.level == logging.NOTSET:
        logger.setLevel(level)
    handler = ConsoleFallbackHandler()
    logger.addHandler(handler)
    return handler
