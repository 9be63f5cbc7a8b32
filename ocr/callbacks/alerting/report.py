"""Tell the user and the viewers about one alert change: a log record and an ``alert``.

Shared by the alert callback and the DDP straggler rule. It needs only what any trainer
has (``global_step``, ``current_epoch``, its callbacks), not Lightning itself.
"""

from __future__ import annotations

import logging
from typing import Any

from ocrtop.ocr.callbacks.alerting.engine import Alert
from ocrtop.ocr.callbacks.link import publisher_of
from ocrtop.ocr.callbacks.link.emit import Emitter

log = logging.getLogger("ocrtop.ocr.callbacks.alerts")  # the name users filter on (console, tests)


def report_alert(trainer: Any, emit: Emitter, alert: Alert) -> None:
    """Log one alert change (firing: warning, or error when critical) and publish it."""
    if alert.state == "firing":
        level = logging.ERROR if alert.severity == "critical" else logging.WARNING
        log.log(level, "alert %s: %s (hint: %s)", alert.code, alert.message, alert.hint)
    else:
        log.info("alert %s %s", alert.code, alert.message)
    emit.publish(
        publisher_of(trainer),
        "alert",
        alert.payload(),
        step=trainer.global_step,
        epoch=trainer.current_epoch,
    )
