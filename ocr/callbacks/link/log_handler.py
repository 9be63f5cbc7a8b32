"""Forward Python log records to the bridge as ``log`` messages.

The dashboard's log tail shows what the terminal would have shown, so the handler sits
on the root logger (and on Lightning's loggers, which do not always propagate).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

_FORMATTER = logging.Formatter()
_LIGHTNING_LOGGERS = ("pytorch_lightning", "lightning.pytorch", "lightning")


class BridgeLogHandler(logging.Handler):
    """A logging handler that publishes each record; never raises, never recurses.

    Records from the ``bridge`` package itself are skipped: the publisher may log about
    a dropped client, and forwarding that record would publish from inside publish.

    Args:
        publisher: Anything with ``publish(type, payload, step=, epoch=)``.
        level: Lowest level forwarded.
    """

    def __init__(self, publisher: Any, level: int = logging.INFO) -> None:
        super().__init__(level)
        self._publisher = publisher
        self._local = threading.local()
        self._attached: list[logging.Logger] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Publish one record as ``{level, logger, message}``."""
        if record.name == "ocrtop.bridge" or record.name.startswith("ocrtop.bridge."):
            return
        if getattr(self._local, "busy", False):
            return
        self._local.busy = True
        try:
            message = record.getMessage()
            if record.exc_info and record.exc_info[0] is not None:
                message = f"{message}\n{_FORMATTER.formatException(record.exc_info)}"
            payload = {"level": record.levelname, "logger": record.name, "message": message}
            self._publisher.publish("log", payload)
        except Exception:
            self.handleError(record)
        finally:
            self._local.busy = False

    def handleError(self, record: logging.LogRecord) -> None:
        """Drop the record silently: printing a traceback per record would flood stderr."""

    def attach(self) -> None:
        """Attach to the root logger and to Lightning loggers that do not propagate."""
        targets = [logging.getLogger()]
        for name in _LIGHTNING_LOGGERS:
            lg = logging.getLogger(name)
            if not lg.propagate:
                targets.append(lg)
        for lg in targets:
            if self not in lg.handlers:
                lg.addHandler(self)
                self._attached.append(lg)

    def detach(self) -> None:
        """Remove the handler from every logger it was attached to (idempotent)."""
        for lg in self._attached:
            lg.removeHandler(self)
        self._attached.clear()
