"""``OCRTOP=1``: Lightning's callback-factory entry points add the monitor to every Trainer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ocrtop.autoload import requested
from tests.helpers.entry_points import entry_points_dir, env_with

PROBE = r"""
import os, sys
import pytorch_lightning as pl
import lightning.pytorch as L
import ocrtop

def names(trainer):
    ours = [c for c in trainer.callbacks if c.__module__.startswith("ocrtop.ocr.")]
    return sorted(type(c).__name__ for c in ours)

kw = dict(logger=False, enable_checkpointing=False, enable_progress_bar=False,
          enable_model_summary=False)
print("off", names(pl.Trainer(**kw)), names(L.Trainer(**kw)))
os.environ["OCRTOP"] = "1"
t = L.Trainer(**kw)
print("lightning", names(t), all(isinstance(c, L.Callback) for c in t.callbacks))
t = pl.Trainer(**kw)
print("pl", names(t), all(isinstance(c, pl.Callback) for c in t.callbacks))
own = ocrtop.callbacks()
n_own = len(own)  # Lightning extends the list it is given
t = pl.Trainer(callbacks=own, **kw)
auto = [c for c in t.callbacks if getattr(c, "_ocrtop_auto", False)]
print("both", n_own, len(auto))
"""

MONITORS = (
    "['AlertsCallback', 'BridgeCallback', 'RankStatsCallback', 'ResourceMonitorCallback', "
    "'ThroughputMonitorCallback']"
)


def test_the_env_switch_reads_common_spellings() -> None:
    assert requested({"OCRTOP": "1"}) and requested({"OCRTOP": " Yes "})
    assert not requested({}) and not requested({"OCRTOP": "0"}) and not requested({"OCRTOP": ""})
    assert not requested({"OCRTOP": "maybe"})  # unknown: off, with a warning


@pytest.mark.slow
def test_every_trainer_of_both_namespaces_gets_the_monitor_only_when_asked(
    tmp_path: Path,
) -> None:
    pytest.importorskip("lightning.pytorch", reason="the lightning package is not installed")
    env = env_with(entry_points_dir(tmp_path))
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert lines["off"] == "[] []"  # nothing happens without OCRTOP
    profiler = "'ProfilerCallback', "
    expected = MONITORS.replace("'RankStatsCallback'", profiler + "'RankStatsCallback'")
    assert lines["lightning"] == f"{expected} True"
    assert lines["pl"] == f"{expected} True"
    own, auto = map(int, lines["both"].split())
    assert own == 6 and auto >= 6  # added, but they stand aside (test_compat checks how)
