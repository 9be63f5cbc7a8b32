"""Lightning callbacks that measure a training run and publish it over the bridge.

Every callback here is cheap on the hot path (timestamps, counters, enqueue), works
without a :class:`~ocr.callbacks.bridge.BridgeCallback` (log-only), and never raises
into training because of a monitoring failure.

The modules at this level hold the ``Callback`` classes and delegate to sub-packages:
``timing`` (the step clock and what it reads), ``sampling`` (process tree, machine, GPUs),
``alerting`` (rules and their engine), ``profiling`` (torch.profiler windows) and ``link``
(the bridge link every monitor publishes through). Nothing here imports the rest of
``ocr``; ``alerting``, ``sampling`` and ``link`` import no Lightning or torch either.
"""

from ocr.callbacks.alerts import AlertsCallback
from ocr.callbacks.bridge import BridgeCallback
from ocr.callbacks.link import BridgeLink, publisher_of
from ocr.callbacks.profiler import ProfilerCallback
from ocr.callbacks.rank_stats import RankStatsCallback
from ocr.callbacks.resource_monitor import ResourceMonitorCallback
from ocr.callbacks.throughput_monitor import ThroughputMonitorCallback

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
