"""Per-GPU gauges through NVML (nvidia-ml-py), with a fake-able import boundary.

``pynvml`` is imported only by :func:`load_pynvml`, so tests inject a fake module into
``sys.modules`` and exercise the real code path on machines without a GPU. A machine
without NVML or without GPUs gets no GPU metrics and one log line, never a crash.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType
from typing import Any

from ocrtop.bridge import names

log = logging.getLogger(__name__)

THROTTLE_HARMFUL_MASK = 0x4 | 0x8 | 0x20 | 0x40 | 0x80
"""SW power cap, HW slowdown, SW/HW thermal slowdown, HW power brake.

Idle (0x1), application clocks (0x2), sync boost (0x10) and display clocks (0x100) are
normal and must not raise an alert.
"""


def load_pynvml() -> ModuleType | None:
    """Import ``pynvml``; None when nvidia-ml-py is not installed."""
    try:
        return importlib.import_module("pynvml")
    except ImportError:
        return None


class NvmlGpus:
    """Open NVML handles for the GPUs this process can see and read their gauges.

    GPUs are named by their index among ``CUDA_VISIBLE_DEVICES`` (as torch sees them)
    when that variable lists integer indices, else by NVML index.
    """

    def __init__(self, nvml: ModuleType, handles: list[tuple[int, Any]]) -> None:
        self._nvml = nvml
        self.handles = handles
        self._broken: set[tuple[int, str]] = set()

    @classmethod
    def open(cls) -> NvmlGpus | None:
        """Initialise NVML; None (logged once by the caller's sampler) when unusable."""
        nvml = load_pynvml()
        if nvml is None:
            log.info("GPU metrics off: nvidia-ml-py (pynvml) is not installed")
            return None
        try:
            nvml.nvmlInit()
            count = int(nvml.nvmlDeviceGetCount())
        except Exception as exc:
            log.info("GPU metrics off: NVML unavailable (%s)", exc)
            return None
        if count == 0:
            log.info("GPU metrics off: NVML reports no GPU")
            nvml.nvmlShutdown()
            return None
        indices = _visible_indices(count)
        if not indices:
            log.info("GPU metrics off: CUDA_VISIBLE_DEVICES hides every GPU")
            nvml.nvmlShutdown()
            return None
        try:
            handles = [(i, nvml.nvmlDeviceGetHandleByIndex(phys)) for i, phys in enumerate(indices)]
        except Exception as exc:
            log.info("GPU metrics off: cannot open GPU handles (%s)", exc)
            nvml.nvmlShutdown()
            return None
        return cls(nvml, handles)

    def read(self) -> dict[str, float]:
        """One reading of every gauge of every GPU; unsupported gauges are left out."""
        values: dict[str, float] = {}
        n = self._nvml
        for i, h in self.handles:
            self._field(values, i, "util", lambda h=h: n.nvmlDeviceGetUtilizationRates(h).gpu)
            mem = self._call(i, "mem", lambda h=h: n.nvmlDeviceGetMemoryInfo(h))
            if mem is not None:
                values[names.gpu(i, "mem_used_bytes")] = float(mem.used)
                values[names.gpu(i, "mem_total_bytes")] = float(mem.total)
            self._field(
                values,
                i,
                "temp_c",
                lambda h=h: n.nvmlDeviceGetTemperature(h, n.NVML_TEMPERATURE_GPU),
            )
            self._field(values, i, "power_w", lambda h=h: n.nvmlDeviceGetPowerUsage(h) / 1000.0)
            self._field(values, i, "throttle", lambda h=h: self._throttle(h))
        return values

    def close(self) -> None:
        """Shut NVML down (idempotent)."""
        if self.handles:
            self.handles = []
            try:
                self._nvml.nvmlShutdown()
            except Exception as exc:
                log.debug("nvmlShutdown failed: %s", exc)

    def _throttle(self, handle: Any) -> int:
        fn = (
            getattr(self._nvml, "nvmlDeviceGetCurrentClocksEventReasons", None)
            or self._nvml.nvmlDeviceGetCurrentClocksThrottleReasons
        )
        return int(fn(handle))

    def _field(self, values: dict[str, float], i: int, field: str, fn: Any) -> None:
        value = self._call(i, field, fn)
        if value is not None:
            values[names.gpu(i, field)] = float(value)

    def _call(self, i: int, field: str, fn: Any) -> Any:
        if (i, field) in self._broken:
            return None
        try:
            return fn()
        except Exception as exc:  # e.g. NVMLError_NotSupported for power on some boards
            self._broken.add((i, field))
            log.info("gpu%d: %s not available from NVML (%s); leaving it out", i, field, exc)
            return None


def _visible_indices(count: int) -> list[int]:
    raw = os.environ.get("CUDA_VISIBLE_DEVICES")
    if raw is None or raw.strip() == "":
        return list(range(count)) if raw is None else []
    try:
        idx = [int(x) for x in raw.split(",") if x.strip()]
    except ValueError:  # UUIDs or MIG names: fall back to every device
        return list(range(count))
    return [i for i in idx if 0 <= i < count]
