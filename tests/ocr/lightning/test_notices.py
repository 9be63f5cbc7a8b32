"""Warnings of the run's machinery reach the dashboard as alerts, once."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ocrtop.ocr.callbacks.bridge import BridgeCallback
from ocrtop.ocr.lightning.notices import DataReport, EventLogWatch


class FakePublisher:
    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.log_errors = 0
        self.events_path = "run/events.jsonl"

    def stats(self) -> dict[str, int]:
        return {"log_errors": self.log_errors}

    def publish(self, kind: str, payload: dict[str, Any], **kwargs: Any) -> None:
        self.events.append((kind, payload))


def _trainer(publisher: FakePublisher, datamodule: Any = None) -> Any:
    bridge = BridgeCallback()
    bridge.publisher = publisher  # type: ignore[assignment]
    return SimpleNamespace(callbacks=[bridge], global_step=3, datamodule=datamodule)


def test_an_event_log_that_cannot_be_written_is_said_once() -> None:
    pub = FakePublisher()
    trainer, watch = _trainer(pub), EventLogWatch()
    watch.check(trainer)
    assert pub.events == []  # healthy: nothing to say
    pub.log_errors = 1
    watch.check(trainer)
    pub.log_errors = 7
    watch.check(trainer)
    assert [(k, p["code"], p["severity"]) for k, p in pub.events] == [
        ("alert", "event_log_failed", "error")
    ]
    assert "run/events.jsonl" in pub.events[0][1]["message"]


def test_skipped_data_is_published_per_split_once() -> None:
    pub = FakePublisher()
    datamodule = SimpleNamespace(root="ds", skipped_summaries=lambda: {"train": "skipped 2"})
    trainer, report = _trainer(pub, datamodule), DataReport()
    report.on_train_start(trainer, None)  # type: ignore[arg-type]
    report.on_test_start(trainer, None)  # type: ignore[arg-type]
    assert len(pub.events) == 1
    alert = pub.events[0][1]
    assert alert["code"] == "data_skipped" and alert["message"] == "train: skipped 2"
    assert "ocrtop data check ds" in alert["hint"]
