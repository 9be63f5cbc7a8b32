"""NVML through a fake ``pynvml`` injected at the import boundary (no GPU here)."""

from __future__ import annotations

import logging
import sys
from typing import Any

import pytest

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.sampling.nvml import NvmlGpus
from tests.helpers.fake_nvml import fake_pynvml


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    def _inject(module: Any) -> Any:
        monkeypatch.setitem(sys.modules, "pynvml", module)
        return module

    return _inject


def test_reads_every_gauge_of_every_gpu(inject) -> None:
    nvml = inject(fake_pynvml(count=2))
    gpus = NvmlGpus.open()
    assert gpus is not None
    values = gpus.read()
    assert values[names.gpu(0, "util")] == 10.0 and values[names.gpu(1, "util")] == 20.0
    assert values[names.gpu(1, "mem_used_bytes")] == 2.0 * 2**30
    assert values[names.gpu(1, "mem_total_bytes")] == float(2**34)
    assert values[names.gpu(0, "temp_c")] == 60.0
    assert values[names.gpu(0, "power_w")] == pytest.approx(150.0)
    assert values[names.gpu(1, "throttle")] == float(0x40)
    gpus.close()
    gpus.close()
    assert nvml.calls == {"init": 1, "shutdown": 1}


def test_unsupported_gauge_is_left_out_and_said_once(inject, caplog) -> None:
    inject(fake_pynvml(count=2, power_broken=(1,)))
    gpus = NvmlGpus.open()
    assert gpus is not None
    with caplog.at_level(logging.INFO, logger="ocrtop.ocr.callbacks.sampling.nvml"):
        first, second = gpus.read(), gpus.read()
    assert names.gpu(1, "power_w") not in first and names.gpu(1, "power_w") not in second
    assert names.gpu(0, "power_w") in second
    assert sum("power_w not available" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("module", [None, "init_fails", "no_gpu"])
def test_no_nvml_or_no_gpu_means_no_gpu_metrics(inject, module) -> None:
    if module is None:
        inject(None)  # sys.modules[name] = None makes the import raise ImportError
    else:
        inject(fake_pynvml(count=0 if module == "no_gpu" else 1, init_fails=module == "init_fails"))
    assert NvmlGpus.open() is None


def test_cuda_visible_devices_maps_logical_to_physical(inject, monkeypatch) -> None:
    inject(fake_pynvml(count=4))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2")
    gpus = NvmlGpus.open()
    assert gpus is not None
    values = gpus.read()
    # logical gpu0 is physical device 2 (30 % util in the fake)
    assert values[names.gpu(0, "util")] == 30.0 and names.gpu(1, "util") not in values
