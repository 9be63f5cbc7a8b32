"""Lightning's callback-factory entry points: ``OCRTOP=1 python my_train.py`` monitors any job.

Every Lightning ``Trainer`` calls the functions registered under its namespace's
``callbacks_factory`` entry-point group (``pytorch_lightning.callbacks_factory`` or
``lightning.pytorch.callbacks_factory``, see ``pyproject.toml``) and appends what they
return. So this module is imported by every Trainer of every script in an environment
where ocrtop is installed: it reads one environment variable and returns ``[]`` unless
``OCRTOP`` asks for the monitor, and a monitor that cannot be built costs a warning, never
the user's training.
"""

from __future__ import annotations

import logging
import os
from typing import Any

ENV = "OCRTOP"
"""``OCRTOP=1`` (or true/yes/on) adds ocrtop's monitors to every Trainer the process makes."""

_ON = {"1", "true", "yes", "on"}
_OFF = {"", "0", "false", "no", "off"}

log = logging.getLogger("ocrtop.ocr.callbacks.autoload")


def requested(environ: Any = None) -> bool:
    """Whether ``$OCRTOP`` asks for the monitor (an unknown value is a one-line warning)."""
    value = (environ if environ is not None else os.environ).get(ENV, "").strip().lower()
    if value in _ON:
        return True
    if value not in _OFF:
        log.warning("%s=%r is not one of 1/true/yes/on or 0/false/no/off: monitor off", ENV, value)
    return False


def _factory(namespace: str) -> list[Any]:
    if not requested():
        return []
    try:
        from ocrtop.monitor import build
        from ocrtop.ocr.callbacks.link.console import install_console_fallback

        install_console_fallback()
        return build({}, namespaces=(namespace,), auto=True)
    except Exception as exc:  # the user's training matters more than our monitor
        log.warning(
            "%s=1: ocrtop's monitor could not be added (%s: %s)", ENV, type(exc).__name__, exc
        )
        return []


def pytorch_lightning_callbacks() -> list[Any]:
    """Entry point ``pytorch_lightning.callbacks_factory:ocrtop``."""
    return _factory("pytorch_lightning")


def lightning_callbacks() -> list[Any]:
    """Entry point ``lightning.pytorch.callbacks_factory:ocrtop``."""
    return _factory("lightning.pytorch")
