"""Warnings the run's own machinery has for the user, put on the dashboard as alerts.

:class:`DataReport`: what the dataset check left out. :class:`EventLogWatch`: the event
log stopped being written (a full disk). Both would otherwise reach train.log only.

What the dataset check left out:

With ``data.on_error=skip`` the canonical sources drop invalid words and unreadable
images and log one warning. The datasets are built in the datamodule's ``setup``, before
the bridge's publisher starts, so that warning never reaches a viewer. This callback
publishes each split's summary as a warning alert (``data_skipped``) once the bridge is
up: the dashboard's alerts panel shows it and headless mode prints it as an
``[alert]`` line.
"""

from __future__ import annotations

import time
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.link import publisher_of

ALERT_CODE = names.ALERT_DATA_SKIPPED
EVENT_LOG_ALERT = names.ALERT_EVENT_LOG_FAILED


class DataReport(Callback):
    """Publish the datamodule's ``skipped_summaries()`` as one alert per split, once."""

    def __init__(self) -> None:
        self.published: set[str] = set()

    def _publish(self, trainer: pl.Trainer) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        summaries = getattr(datamodule, "skipped_summaries", None)
        publisher = publisher_of(trainer)
        if not callable(summaries) or publisher is None:
            return
        root = getattr(datamodule, "root", None) or "DIR"
        for split, text in summaries().items():
            if split in self.published:
                continue
            self.published.add(split)
            payload: dict[str, Any] = {
                "code": ALERT_CODE,
                "severity": "warning",
                "state": "firing",
                "message": f"{split}: {text}",
                "values": {"split": split},
                "hint": f"`ocrtop data check {root}` lists each entry (data.on_error=skip)",
            }
            publisher.publish("alert", payload, step=trainer.global_step)

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._publish(trainer)

    def on_test_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._publish(trainer)


class EventLogWatch(Callback):
    """Say once, as an alert, that ``events.jsonl`` could not be written (ENOSPC, ...).

    The bridge keeps streaming and training goes on (``bridge/eventlog.py`` cuts the file
    back to its last whole line and stops writing it); only replay and late joiners lose
    the rest of the run. The bridge's own log records are not forwarded to viewers, so
    this callback reads the server's ``log_errors`` count, at most every ``every_s``
    seconds at a batch end (one dict copy), and publishes one alert the first time.
    """

    def __init__(self, every_s: float = 2.0) -> None:
        self.every_s = every_s
        self._next = 0.0
        self.alerted = False

    def check(self, trainer: pl.Trainer) -> None:
        """Look at the publisher's counters; alert once when the log failed."""
        publisher = publisher_of(trainer)
        if publisher is None or self.alerted:
            return
        try:
            errors = int(publisher.stats().get("log_errors", 0))
        except Exception:  # a monitor must never stop training
            return
        if not errors:
            return
        self.alerted = True
        path = getattr(publisher, "events_path", "events.jsonl")
        publisher.publish(
            "alert",
            {
                "code": EVENT_LOG_ALERT,
                "severity": "error",
                "state": "firing",
                "message": f"cannot write the event log {path} (disk full?): training and "
                "the live view go on; replay will miss the rest of this run",
                "values": {"log_errors": errors},
                "hint": "free disk space in the run directory; train.log has the OS error",
            },
            step=trainer.global_step,
        )

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.every_s
            self.check(trainer)

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.check(trainer)
