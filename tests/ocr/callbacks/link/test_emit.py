"""A broken sink costs a log line, never the training run."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest

from ocrtop.ocr.callbacks.link.emit import Emitter


class Broken:
    def publish(self, *args: Any, **kwargs: Any) -> None:
        raise BrokenPipeError("socket gone")

    def metrics(self, *args: Any, **kwargs: Any) -> None:
        raise BrokenPipeError("socket gone")

    def log_metrics(self, *args: Any, **kwargs: Any) -> None:
        raise OSError("disk full")


def test_failures_are_counted_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    emit = Emitter("test")
    trainer = SimpleNamespace(loggers=[Broken()])
    with caplog.at_level(logging.WARNING, logger="ocrtop.ocr.callbacks.test"):
        for _ in range(5):
            emit.publish(Broken(), "status", {"status": "train"})
            emit.metrics(Broken(), {"perf/step_ms": 1.0})
            emit.log_metrics(trainer, {"perf/step_ms": 1.0}, step=1)  # type: ignore[arg-type]
    assert emit.failures == 15
    assert len(caplog.records) == 3
    assert "training continues" in caplog.records[0].getMessage()


def test_no_publisher_and_non_finite_values_are_fine() -> None:
    logged: list[dict[str, float]] = []
    trainer = SimpleNamespace(
        loggers=[SimpleNamespace(log_metrics=lambda v, step: logged.append(v))]
    )
    emit = Emitter("test")
    emit.publish(None, "status", {})
    emit.metrics(None, {"x": 1.0})
    emit.log_metrics(trainer, {"a": 1.0, "b": float("nan"), "c": "text"}, step=3)  # type: ignore[arg-type, dict-item]
    assert logged == [{"a": 1.0}] and emit.failures == 0
