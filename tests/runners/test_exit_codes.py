"""The exit-code table (README, ``bridge/exitcodes.py``), row by row, with real signals.

Each test starts ``runners/train.py`` (or ``ocrtop train``) on a tiny, deliberately slow
synthetic run, waits for its first training step in ``events.jsonl``, does to it what a
user or a scheduler would, and checks three places agree: the exit code, the final
event and ``run_summary.json``. Slow: each one trains for a few seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ocrtop.bridge.client import BridgeClient
from ocrtop.bridge.registry import list_jobs

ROOT = Path(__file__).resolve().parents[2]
SLOW_RUN = [
    "experiment=synthetic_debug",
    "data.train.source.num=40",
    "data.train.source.width=128",
    "data.train.source.height=128",
    "data.val.source.num=2",
    "data.test.source.num=2",
    "data.batch_size=2",
    "data.num_workers=1",
    "data.train.transform.size=128",
    "trainer.max_epochs=3",
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "model.scheduler.warmup_steps=1",
    "test_after_fit=false",
    "callbacks.bridge.linger_s=0",
]

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("HYDRA_FULL_ERROR", None)  # what users run: Hydra prints its errors compactly
    return env


def start(
    run_dir: Path, *overrides: str, ocrtop: bool = False, sleep_ms: int = 150
) -> subprocess.Popen[str]:
    """The trainer (or ``ocrtop train --headless``) on the slow run, output captured.

    ``sleep_ms`` per sample (2 a step) leaves time to act between two steps.
    """
    slow = [f"+data.rank_sleep_ms={{0:{sleep_ms}}}"] if sleep_ms else []
    args = [*SLOW_RUN, *slow, *overrides, f"hydra.run.dir={run_dir}"]
    if ocrtop:  # its log folder (outputs/.ocrtop) goes under the cwd: keep it in tmp
        argv = [sys.executable, "-m", "ocrtop", "train", "--headless", *args]
    else:
        argv = [sys.executable, str(ROOT / "runners" / "train.py"), *args]
    return subprocess.Popen(
        argv,
        cwd=run_dir.parent,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def events(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "events.jsonl"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for_step(run_dir: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    """Until the run has published its first training progress (a step is done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(e["type"] == "progress" for e in events(run_dir)):
            return
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        time.sleep(0.2)
    raise AssertionError("no training step within the timeout")


def finish(proc: subprocess.Popen[str], timeout: float = 60.0) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def final_event(run_dir: Path) -> dict[str, Any]:
    statuses = [e["payload"] for e in events(run_dir) if e["type"] == "status"]
    return statuses[-1]


def summary(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "run_summary.json").read_text())


def test_exception_exits_1_and_names_it_everywhere(tmp_path: Path) -> None:
    """Through ``ocrtop train --headless``: its output, the log, the event, the summary."""
    run_dir = tmp_path / "run"
    proc = start(run_dir, "model.optimizer.weight_decay=-1", ocrtop=True)  # torch refuses it
    code, out = finish(proc)
    assert code == 1, out[-3000:]
    final = final_event(run_dir)
    assert final["status"] == "failed" and final["exit_code"] == 1
    assert final["error_type"] == "ValueError" and "weight_decay" in final["message"]
    assert final["where"]  # the frame that raised it
    assert "finished: failed (exit code 1)" in out
    # headless prints the reason: from the final event, or (when the trainer failed before
    # the viewer found it) from the runner's last line in the log
    assert final["error"] in out.split("finished: failed (exit code 1)", 1)[1], out[-2000:]
    log = tmp_path / out.rsplit("(log: ", 1)[1].split(")", 1)[0]  # ocrtop's own log path
    log_last = log.read_text().strip().splitlines()[-1]
    assert log_last == f"ocrtop: failed (exit code 1): {final['error']}"
    s = summary(run_dir)
    assert s["status"] == "failed" and s["exit_code"] == 1 and s["error"] == final["error"]


def test_unknown_override_key_exits_2(tmp_path: Path) -> None:
    proc = start(tmp_path / "run", "trainer.no_such_key=1")
    code, out = finish(proc)
    assert code == 2, out[-2000:]
    assert "no_such_key" in out


def test_sigterm_stops_with_a_checkpoint_and_ocrtop_train_exits_143(tmp_path: Path) -> None:
    """SIGTERM to the trainer (a scheduler's kill), seen through ``ocrtop train``."""
    run_dir = tmp_path / "run"
    proc = start(run_dir, ocrtop=True)
    wait_for_step(run_dir, proc)
    job = next(j for j in list_jobs() if j.run_dir == str(run_dir))
    os.kill(job.pid, signal.SIGTERM)
    code, out = finish(proc)
    assert code == 143, out[-3000:]
    final = final_event(run_dir)
    assert final["status"] == "stopped" and final["exit_code"] == 143
    assert final["reason"] == "SIGTERM"
    assert Path(final["checkpoint"]).is_file()
    assert summary(run_dir)["exit_code"] == 143
    assert "finished: stopped by SIGTERM (exit code 143)" in out
    assert f"resume: ckpt_path={final['checkpoint']}" in out
    assert "Traceback" not in out


def test_sigkill_shows_as_killed_and_ocrtop_train_exits_137(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = start(run_dir, ocrtop=True)
    wait_for_step(run_dir, proc)
    job = next(j for j in list_jobs() if j.run_dir == str(run_dir))
    os.kill(job.pid, signal.SIGKILL)
    code, out = finish(proc)
    assert code == 137, out[-3000:]
    assert "killed by SIGKILL (exit code 137)" in out
    assert "exit code -9" not in out


def test_sigint_stops_with_exit_130_and_a_second_one_escalates(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = start(run_dir, sleep_ms=2000)  # a step takes 4 s
    wait_for_step(run_dir, proc)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)  # impatient: do not wait for the step
    code, out = finish(proc)
    assert code == 130, out[-3000:]
    assert "second stop request (SIGINT): stopping now, without a checkpoint" in out
    final = final_event(run_dir)
    assert final["status"] == "stopped" and final["exit_code"] == 130
    assert final["checkpoint"] is None
    assert summary(run_dir)["exit_code"] == 130
    assert "DataLoader worker" not in out  # workers ignore SIGINT: no worker traceback


def _send_stop(job_id: str) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        client = await BridgeClient.connect(job_id)
        try:
            cmd_id = await client.send_command("stop", mode="graceful")
            while True:
                msg = await client.recv(timeout=30)
                assert msg is not None
                if msg.type == "ack" and msg.payload.get("id") == cmd_id:
                    return dict(msg.payload)
        finally:
            await client.close()

    return asyncio.run(go())


def test_stop_command_in_the_first_epoch_exits_3_and_the_checkpoint_resumes(
    tmp_path: Path,
) -> None:
    """``min_epochs: 1`` used to make Lightning ignore a stop in the first epoch."""
    run_dir = tmp_path / "run"
    proc = start(run_dir, "trainer.min_epochs=1")
    wait_for_step(run_dir, proc)
    job = next(j for j in list_jobs() if j.run_dir == str(run_dir))
    ack = _send_stop(job.job_id)
    assert ack["ok"], ack
    code, out = finish(proc)
    assert code == 3, out[-3000:]
    final = final_event(run_dir)
    assert final["status"] == "stopped" and final["exit_code"] == 3
    assert final["reason"] == "stop command"
    ckpt = Path(final["checkpoint"])
    import torch

    saved = torch.load(ckpt, map_location="cpu", weights_only=False)
    assert saved["epoch"] == 0 and saved["global_step"] >= 1
    # resume: the new run continues from the saved step, not from 0
    resumed = tmp_path / "resumed"
    proc = start(resumed, f"ckpt_path={ckpt}", "trainer.max_epochs=1", sleep_ms=0)
    code, out = finish(proc, timeout=120)
    assert code == 0, out[-3000:]
    steps = [e["payload"]["step"] for e in events(resumed) if e["type"] == "progress"]
    assert steps and min(steps) > saved["global_step"], steps
    assert summary(resumed)["status"] == "done"


def test_a_failed_sweep_job_does_not_stop_the_others_and_the_sweep_exits_1(
    tmp_path: Path,
) -> None:
    """As in plain Hydra: every job runs, the process ends with the failed job's code."""
    sweep = tmp_path / "sweep"
    argv = [
        sys.executable, str(ROOT / "runners" / "train.py"), "-m", *SLOW_RUN,
        "trainer.max_epochs=1", "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1",
        "model.optimizer.weight_decay=-1,0.0001", f"hydra.sweep.dir={sweep}",
    ]  # fmt: skip
    proc = subprocess.run(
        argv, cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 1, proc.stderr[-3000:]
    summaries = {
        p.parent.name[0]: json.loads(p.read_text()) for p in sweep.glob("*/run_summary.json")
    }
    assert summaries["0"]["status"] == "failed" and summaries["0"]["exit_code"] == 1
    assert summaries["1"]["status"] == "done"  # the job after the failure still ran
