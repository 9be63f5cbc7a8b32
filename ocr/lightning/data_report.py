"""Put what the dataset check left out on the dashboard, not only in train.log.

With ``data.on_error=skip`` the canonical sources drop invalid words and unreadable
images and log one warning. The datasets are built in the datamodule's ``setup``, before
the bridge's publisher starts, so that warning never reaches a viewer. This callback
publishes each split's summary as a warning alert (``data_skipped``) once the bridge is
up: the dashboard's alerts panel shows it and headless mode prints it as an
``[alert]`` line.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ocr.callbacks.bridge import find_publisher

ALERT_CODE = "data_skipped"


class DataReport(Callback):
    """Publish the datamodule's ``skipped_summaries()`` as one alert per split, once."""

    def __init__(self) -> None:
        self.published: set[str] = set()

    def _publish(self, trainer: pl.Trainer) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        summaries = getattr(datamodule, "skipped_summaries", None)
        publisher = find_publisher(trainer)
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
