"""ocrtop's CLEval agrees with the reference ``cleval`` package on random pages.

Runs ``benchmarks/bench_cleval.py`` (which runs the package in a child interpreter of its
own: Polygon3 can abort an interpreter at exit) on a smaller sample than BENCHMARKS.md's.
Skipped, saying why, where the package is not installed; the ``dev`` extra installs it.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "benchmarks" / "bench_cleval.py"


@pytest.mark.skipif(
    importlib.util.find_spec("cleval") is None,
    reason="the reference package is not installed (pip install cleval, or the dev extra)",
)
def test_agrees_with_the_reference_package() -> None:
    cmd = [sys.executable, str(BENCH), "--images", "60", "--seed", "7", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    # The sample exercises the rules that differ from word-level matching.
    assert result["splits"] > 10 and result["merges"] > 10, result
    assert result["splits"] == result["ref_splits"] and result["merges"] == result["ref_merges"]
    assert 0.3 < result["global_reference"]["hmean"] < 0.95, result  # neither trivial case
    assert max(result["max_abs_delta_per_image"].values()) <= 1e-9, result
    assert max(result["max_abs_delta_global"].values()) <= 1e-9, result
