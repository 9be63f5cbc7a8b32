"""How a run ended: the monitor's :mod:`ocrtop.ocr.callbacks.link.outcome`, under the OCR name.

The controlled ways a run ends early (:class:`ConfigError`, :class:`StopRequested`,
:class:`StopEscalated`) and :func:`final_status` are nothing OCR-specific: the bridge
callback publishes them for any Lightning script, and ``ocrtop.ocr.callbacks`` imports nothing
else from ``ocr``. The runner, the data checks and the Lightning module keep importing
them from here.
"""

from ocrtop.ocr.callbacks.link.outcome import (
    ConfigError,
    ConfigProblem,
    StopEscalated,
    StopRequested,
    describe,
    final_status,
    root_cause,
    summary_line,
)

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "StopEscalated",
    "StopRequested",
    "describe",
    "final_status",
    "root_cause",
    "summary_line",
]
