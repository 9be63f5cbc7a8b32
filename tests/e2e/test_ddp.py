"""DDP end to end: ``ocrtop train --headless trainer=ddp_cpu`` with a deliberately slow rank.

Two gloo processes train the tiny synthetic config; rank 1's training samples each take
100 ms longer to load (``data.rank_sleep_ms``). The dashboard must receive both ranks'
streams live, the straggler alert must name rank 1 (raised on rank 1's own stream),
rank 0 must log the cross-rank figures, and the job must finish with exit code 0.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.tiny_run import TINY_RUN

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

DDP_CPU = [
    "trainer=ddp_cpu",
    "callbacks.rank_stats.every_n_steps=2",
    "callbacks.rank_stats.straggler_sustain_s=0",
]
OVERRIDES = [*TINY_RUN, *DDP_CPU, "+trainer.limit_train_batches=12", "+data.rank_sleep_ms={1:100}"]


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_two_cpu_ranks_stream_and_the_straggler_is_named(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    env = {**os.environ, "OCRTOP_RUNTIME_DIR": str(tmp_path / "rt"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "ocrtop", "train", "--headless", *OVERRIDES]
    proc = subprocess.run(
        [*cmd, f"hydra.run.dir={run_dir}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    out = proc.stdout
    log = (run_dir / "train.log").read_text() if (run_dir / "train.log").exists() else ""
    assert proc.returncode == 0, f"{out[-3000:]}\n--- train.log ---\n{log[-3000:]}"
    assert re.search(r"finished: done \(exit code 0\)", out), out[-3000:]

    # both streams arrived live: the alert came over rank 1's stream, both ranks have rows
    assert re.search(r"\[alert\] warning firing straggler \(rank 1\): rank 1 is a straggler", out)
    ranks = [line for line in out.splitlines() if line.startswith("[ranks] ")]
    assert ranks and "r0 " in ranks[-1] and "| r1 " in ranks[-1], out[-3000:]
    assert "STRAGGLER" in ranks[-1] or any("r1" in r and "STRAGGLER" in r for r in ranks)

    # each rank logged its own stream next to the other's
    rank0, rank1 = events(run_dir / "events.jsonl"), events(run_dir / "events.rank1.jsonl")
    for rank, stream in ((0, rank0), (1, rank1)):
        hello = stream[0]["payload"]
        assert (hello["rank"], hello["world_size"], hello["local_rank"]) == (rank, 2, rank)
        assert hello["host"] and hello["run_dir"] == str(run_dir)
        statuses = [e["payload"]["status"] for e in stream if e["type"] == "status"]
        assert statuses[-1] == "done"
    assert not [e for e in rank0 if e["type"] == "alert" and e["payload"]["code"] == "straggler"]

    # rank 0 publishes and logs the cross-rank figures, naming rank 1 as the slowest
    ddp = [e["payload"]["values"] for e in rank0 if "ddp/slowest_rank" in str(e["payload"])]
    assert ddp and ddp[-1]["ddp/slowest_rank"] == 1.0
    assert ddp[-1]["ddp/rank0/pss_bytes"] > 0 and ddp[-1]["ddp/rank1/pss_bytes"] > 0
    assert ddp[-1]["ddp/rank1/lateness_ms"] > ddp[-1]["ddp/rank0/lateness_ms"]
    with open(run_dir / "csv" / "metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    slowest = [r["ddp/slowest_rank"] for r in rows if r.get("ddp/slowest_rank")]
    assert slowest and float(slowest[-1]) == 1.0


def test_a_sweep_of_ddp_jobs_keeps_every_rank_in_its_job_dir(tmp_path: Path) -> None:
    """Ranks > 0 re-run the sweep in lockstep; they must not open a sweep dir of their own."""
    env = {**os.environ, "OCRTOP_RUNTIME_DIR": str(tmp_path / "rt"), "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "ocrtop", "train", "--headless", "-m", *TINY_RUN, *DDP_CPU]
    cmd += ["+trainer.limit_train_batches=3", "model/architectures=dbnet,dbnetpp"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:]
    (sweep_dir,) = (tmp_path / "multirun" / "synthetic_debug").iterdir()  # one sweep dir
    for job in ("0_dbnet", "1_dbnetpp"):
        for name, rank in (("events.jsonl", 0), ("events.rank1.jsonl", 1)):
            hello = events(sweep_dir / job / name)[0]["payload"]
            assert (hello["rank"], hello["run_dir"]) == (rank, str(sweep_dir / job))
    with open(sweep_dir / "sweep_summary.csv", newline="") as fh:
        assert [r["status"] for r in csv.DictReader(fh)] == ["done", "done"]
