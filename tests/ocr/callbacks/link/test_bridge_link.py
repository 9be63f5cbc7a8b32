"""The bridge link: monitors find the publisher and the command router through it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.alerting.engine import Alert
from ocrtop.ocr.callbacks.alerting.report import report_alert
from ocrtop.ocr.callbacks.bridge import BridgeCallback
from ocrtop.ocr.callbacks.link import BridgeLink, publisher_of
from ocrtop.ocr.callbacks.link.emit import Emitter
from ocrtop.ocr.callbacks.profiler import ProfilerCallback
from ocrtop.ocr.callbacks.throughput_monitor import ThroughputMonitorCallback


def test_no_bridge_means_no_link_and_no_publisher() -> None:
    trainer = SimpleNamespace(callbacks=[ThroughputMonitorCallback()])
    assert BridgeLink.of(trainer) is None and publisher_of(trainer) is None
    assert publisher_of(SimpleNamespace()) is None  # a trainer-like object without callbacks


def test_the_bridge_callbacks_link_carries_its_publisher_and_commands() -> None:
    bridge = BridgeCallback()
    trainer = SimpleNamespace(callbacks=[ThroughputMonitorCallback(), bridge])
    link = BridgeLink.of(trainer)
    assert link is bridge.link and publisher_of(trainer) is None  # not started yet
    pub = SimpleNamespace(published=[])
    bridge.publisher = pub  # type: ignore[assignment]
    assert publisher_of(trainer) is pub and link.publisher is pub
    ProfilerCallback().setup(trainer, None, "validate")  # type: ignore[arg-type]
    assert link.router.names() == ["profile", "stop"]  # the profiler answers through the link


def test_a_monitor_publishes_through_the_link_and_only_logs_without_it() -> None:
    sent: list[tuple[str, dict[str, Any]]] = []
    pub = SimpleNamespace(publish=lambda kind, payload, **kw: sent.append((kind, payload)))
    bridge = BridgeCallback()
    bridge.publisher = pub  # type: ignore[assignment]
    alert = Alert(names.ALERT_STALLED, "critical", "firing", "no step for 300 s", {}, "hint", 0.0)
    emit = Emitter("test")
    report_alert(SimpleNamespace(callbacks=[bridge], global_step=3, current_epoch=0), emit, alert)
    assert sent == [("alert", alert.payload())]
    report_alert(SimpleNamespace(callbacks=[], global_step=3, current_epoch=0), emit, alert)
    assert len(sent) == 1 and emit.failures == 0  # no link: logged only, nothing raised
