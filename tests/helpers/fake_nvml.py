"""A fake ``pynvml`` module with the calls ``ocrtop.ocr.callbacks.sampling.nvml.NvmlGpus`` makes."""

from __future__ import annotations

import types
from typing import Any


class NVMLError(Exception):
    pass


def fake_pynvml(
    count: int = 2, power_broken: tuple[int, ...] = (), init_fails: bool = False
) -> Any:
    """A module with the pynvml calls NvmlGpus makes; GPU i reports 10*(i+1) % util."""
    m: Any = types.ModuleType("pynvml")
    m.NVML_TEMPERATURE_GPU = 0
    m.calls = {"init": 0, "shutdown": 0}

    def init() -> None:
        if init_fails:
            raise NVMLError("Driver Not Loaded")
        m.calls["init"] += 1

    def shutdown() -> None:
        m.calls["shutdown"] += 1

    def power(h: int) -> int:
        if h in power_broken:
            raise NVMLError("Not Supported")
        return 150_000 + h  # milliwatts

    m.nvmlInit = init
    m.nvmlShutdown = shutdown
    m.nvmlDeviceGetCount = lambda: count
    m.nvmlDeviceGetHandleByIndex = lambda i: i
    m.nvmlDeviceGetUtilizationRates = lambda h: types.SimpleNamespace(gpu=10 * (h + 1), memory=5)
    m.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(used=2**30 * (h + 1), total=2**34)
    m.nvmlDeviceGetTemperature = lambda h, sensor: 60 + h
    m.nvmlDeviceGetPowerUsage = power
    m.nvmlDeviceGetCurrentClocksThrottleReasons = lambda h: 0x1 if h == 0 else 0x40
    return m
