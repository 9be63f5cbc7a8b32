"""Lightning callbacks that measure a training run and publish it over the bridge.

Every callback here is cheap on the hot path (timestamps, counters, enqueue), works
without a :class:`~ocrtop.ocr.callbacks.bridge.BridgeCallback` (log-only), and never raises
into training because of a monitoring failure.

The modules at this level hold the ``Callback`` classes and delegate to sub-packages:
``timing`` (the step clock and what it reads), ``sampling`` (process tree, machine, GPUs),
``alerting`` (rules and their engine), ``profiling`` (torch.profiler windows) and ``link``
(the bridge link every monitor publishes through). Nothing here imports the rest of
``ocr``; ``alerting``, ``sampling`` and ``link`` import no Lightning or torch either.

The names below load on first use: ``ocrtop.ocr.failures`` re-exports ``link.outcome``, and
``ocrtop eval`` or the config checks must not pay for importing Lightning through this
``__init__``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_WHERE = {
    "AlertsCallback": "ocrtop.ocr.callbacks.alerts",
    "BridgeCallback": "ocrtop.ocr.callbacks.bridge",
    "BridgeLink": "ocrtop.ocr.callbacks.link",
    "ProfilerCallback": "ocrtop.ocr.callbacks.profiler",
    "RankStatsCallback": "ocrtop.ocr.callbacks.rank_stats",
    "ResourceMonitorCallback": "ocrtop.ocr.callbacks.resource_monitor",
    "ThroughputMonitorCallback": "ocrtop.ocr.callbacks.throughput_monitor",
    "publisher_of": "ocrtop.ocr.callbacks.link",
}

__all__ = [
    "AlertsCallback",
    "BridgeCallback",
    "BridgeLink",
    "ProfilerCallback",
    "RankStatsCallback",
    "ResourceMonitorCallback",
    "ThroughputMonitorCallback",
    "publisher_of",
]

if TYPE_CHECKING:
    from ocrtop.ocr.callbacks.alerts import AlertsCallback
    from ocrtop.ocr.callbacks.bridge import BridgeCallback
    from ocrtop.ocr.callbacks.link import BridgeLink, publisher_of
    from ocrtop.ocr.callbacks.profiler import ProfilerCallback
    from ocrtop.ocr.callbacks.rank_stats import RankStatsCallback
    from ocrtop.ocr.callbacks.resource_monitor import ResourceMonitorCallback
    from ocrtop.ocr.callbacks.throughput_monitor import ThroughputMonitorCallback


def __getattr__(name: str) -> Any:
    """Import a callback class on first access (PEP 562)."""
    if name not in _WHERE:
        raise AttributeError(f"module 'ocrtop.ocr.callbacks' has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
