"""bench_gpu.py without a GPU: one line saying why, exit 0, nothing measured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"


def test_without_a_gpu_it_says_so_and_exits_cleanly() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the benchmark would run for minutes")
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == [
        "bench_gpu: no CUDA GPU visible (torch.cuda.is_available() is False): not run"
    ]
