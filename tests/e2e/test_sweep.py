"""A Hydra multirun through ``ocrtop train --headless -m``: the sweep table and summary.

Two tiny jobs (DBNet and DBNet++) run one after the other under the basic launcher, and
side by side under ``hydra/launcher=local_parallel`` (joblib; skipped without the
plugin). The headless dashboard must follow both (each job's hello carries its Hydra job number and
overrides), print the sweep table with both jobs done, and the pipeline's Hydra callback
must write ``sweep_summary.csv`` with one row per job.
"""

from __future__ import annotations

import csv
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.tiny_run import TINY_RUN

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

OVERRIDES = [*TINY_RUN, "+trainer.limit_train_batches=3"]


try:
    JOBLIB = importlib.util.find_spec("hydra_plugins.hydra_joblib_launcher") is not None
except ModuleNotFoundError:  # not even the hydra_plugins namespace
    JOBLIB = False


@pytest.mark.parametrize(
    "launcher",
    [
        [],
        pytest.param(
            ["hydra/launcher=local_parallel"],
            marks=pytest.mark.skipif(
                not JOBLIB, reason="hydra-joblib-launcher missing (pip install -e '.[joblib]')"
            ),
            id="local_parallel",
        ),
    ],
    ids=lambda v: "basic" if v == [] else None,
)
def test_two_job_sweep_table_and_summary(tmp_path: Path, launcher: list[str]) -> None:
    sweep_dir = tmp_path / "sweep"
    env = {**os.environ, "OCRTOP_RUNTIME_DIR": str(tmp_path / "rt"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "ocrtop", "train", "--headless", "-m", *launcher, *OVERRIDES]
    cmd += ["model/architectures=dbnet,dbnetpp", f"hydra.sweep.dir={sweep_dir}"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout
    assert proc.returncode == 0, out[-3000:]

    table = [
        line.removeprefix("[sweep] ") for line in out.splitlines() if line.startswith("[sweep]")
    ]
    assert table, out[-3000:]
    final = table[-3:]  # the last table: header and two jobs
    assert final[0].split() == [
        "job",
        "status",
        "best",
        "hmean",
        "samples/s",
        "duration",
        "overrides",
    ]
    for index, arch in ((0, "dbnet"), (1, "dbnetpp")):
        row = final[1 + index]
        pattern = rf"^[ ▶]\s+{index}\s+done\s+\d\.\d{{3}}\s+\d+\.\d\s+0:\d\d:\d\d\s"
        assert re.match(pattern, row), out[-3000:]
        assert row.endswith(f"model/architectures={arch}"), row  # shared overrides left out
    assert out.count("finished: done") >= 2  # live, or read back if it ended between polls

    with open(sweep_dir / "sweep_summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["arch"], r["status"]) for r in rows] == [("dbnet", "done"), ("dbnetpp", "done")]
    assert all(float(r["train_samples_per_second"]) > 0 for r in rows)
