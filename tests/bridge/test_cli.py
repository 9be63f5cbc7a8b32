"""Script commands (ps, tail, profile) and the stdio relay used by ssh attach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from ocrtop.bridge import cli
from ocrtop.bridge.publisher import Publisher
from tests.helpers.bridge_client import wait_for

REPO = Path(__file__).resolve().parents[2]


def test_ps_lists_live_jobs(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.ps(json_out=False) == 0
    assert "no running ocrtop jobs" in capsys.readouterr().out
    pub = make_publisher(meta={"experiment_name": "synth", "arch": "dbnet"})
    assert cli.ps(json_out=True) == 0
    (job,) = json.loads(capsys.readouterr().out)
    assert job["job_id"] == pub.job_id and job["socket"] == str(pub.socket_path)
    assert cli.ps() == 0
    out = capsys.readouterr().out
    assert pub.job_id in out and "synth" in out and "dbnet" in out


def test_tail_prints_snapshot_as_json_lines(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    pub = make_publisher()
    pub.publish("status", {"status": "train"})
    pub.metrics({"train/loss": 0.5}, step=3, epoch=0)
    assert cli.tail(pub.job_id, json_out=True, follow=False) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["type"] for x in lines] == ["hello", "status", "metrics"]
    assert lines[2]["payload"]["values"] == {"train/loss": 0.5}
    assert cli.tail(pub.job_id, json_out=False, follow=False) == 0
    out = capsys.readouterr().out
    assert "train/loss=0.5" in out and "step=3" in out


def test_tail_replays_a_run_dir(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    pub = make_publisher()
    pub.publish("log", {"level": "INFO", "logger": "t", "message": "from the log"})
    pub.close()
    assert cli.tail(str(pub.run_dir), json_out=False) == 0
    assert "from the log" in capsys.readouterr().out


def test_tail_and_relay_report_missing_job(
    registry_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.tail("nosuch") == 2
    assert cli.relay("nosuch") == 2
    assert cli.profile(None, steps=5) == 2
    err = capsys.readouterr().err
    assert "no running job matches 'nosuch'" in err and "no running ocrtop job" in err
    assert cli.relay("unix:///nonexistent/x.sock") == 2  # a socket target, as attach takes
    assert "cannot connect to /nonexistent/x.sock" in capsys.readouterr().err


class FakeProfiler:
    """The training thread of a job with a profiler: arms at a step boundary, then runs
    the window and publishes its ``profile`` events, as ``ProfilerCallback`` does."""

    def __init__(self, pub: Publisher, outcome: str = "finished", max_steps: int = 100) -> None:
        self.pub, self.outcome, self.max_steps = pub, outcome, max_steps
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def __enter__(self) -> FakeProfiler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stop.wait(0.01):
            for cmd in self.pub.poll_commands():
                steps = cmd.args["steps"]
                if steps > self.max_steps:
                    self.pub.reply(cmd, ok=False, error="window too long for this epoch")
                    continue
                self.pub.reply(cmd, ok=True, result={"state": "armed", "steps": steps})
                self._window(steps)

    def _window(self, steps: int) -> None:
        base = {"trigger": "command", "steps": steps}
        self.pub.publish("profile", {**base, "state": "armed"})
        self.stop.wait(0.2)  # the warm-up and the window's steps
        self.pub.publish("profile", {**base, "state": "started"})
        self.stop.wait(0.3)
        if self.outcome == "error":
            self.pub.publish("profile", {**base, "state": "error", "error": "validation started"})
        elif self.outcome == "ended":
            self.pub.publish("status", {"status": "done", "exit_code": 0})
        else:
            top = [{"name": "aten::conv2d", "self_cpu_ms": 41.5, "self_cuda_ms": 0.0, "calls": 40}]
            split = {"data_wait_ms": 1.5, "forward_backward_ms": 40.25, "optimizer_ms": 3.0}
            result = {**base, "state": "finished", "top_k": top, "summary": "data wait 3%"}
            result["split"] = split
            self.pub.publish("profile", {**result, "trace_path": "/run/profiler_traces/t.json"})


def stale_result(pub: Publisher) -> None:
    """An older window's result: the snapshot on connect carries it."""
    old = [{"name": "aten::OLD_WINDOW", "self_cpu_ms": 1.0, "calls": 1}]
    pub.publish("profile", {"trigger": "command", "state": "finished", "steps": 3, "top_k": old})


def test_profile_waits_for_the_window_and_prints_the_top_k(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    pub = make_publisher()
    stale_result(pub)
    with FakeProfiler(pub):
        t0 = time.monotonic()
        assert cli.profile(pub.job_id, steps=7) == 0
        waited = time.monotonic() - t0
        captured = capsys.readouterr()
    assert waited >= 0.45  # it returned after the window, not at the ack
    lines = captured.out.splitlines()
    assert lines[0] == "profiled 7 steps"
    assert "self cpu ms" in lines[1] and "aten::conv2d" in lines[2] and "41.50" in lines[2]
    assert "step split: data_wait_ms 1.50, forward_backward_ms 40.25" in captured.out
    assert "data wait 3%" in captured.out and "trace: /run/profiler_traces/t.json" in captured.out
    assert "OLD_WINDOW" not in captured.out
    assert "7 steps armed" in captured.err


def test_profile_json_prints_the_finished_event(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    pub = make_publisher()
    stale_result(pub)
    with FakeProfiler(pub):
        assert cli.profile(pub.job_id, steps=5, json_out=True) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["state"] == "finished" and result["steps"] == 5
    assert result["top_k"][0]["name"] == "aten::conv2d"


def test_profile_no_wait_prints_the_ack_and_errors_exit_nonzero(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    pub = make_publisher()
    with FakeProfiler(pub):
        assert cli.profile(pub.job_id, steps=7, wait=False) == 0
        ack = json.loads(capsys.readouterr().out)
        assert ack["ok"] is True and ack["result"] == {"state": "armed", "steps": 7}
        assert cli.profile(pub.job_id, steps=500) == 1
        assert "too long" in capsys.readouterr().out
        assert cli.profile(pub.job_id, steps=0) == 2  # rejected before sending


@pytest.mark.parametrize(("outcome", "said"), [("error", "validation started"), ("ended", "done")])
def test_profile_reports_a_window_that_never_finishes(
    make_publisher: Callable[..., Publisher],
    capsys: pytest.CaptureFixture[str],
    outcome: str,
    said: str,
) -> None:
    pub = make_publisher()
    with FakeProfiler(pub, outcome=outcome):
        assert cli.profile(pub.job_id, steps=4) == 1
    captured = capsys.readouterr()
    assert said in captured.err and captured.out == ""


def test_profile_times_out_with_exit_code_2(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    pub = make_publisher()
    with FakeProfiler(pub):
        assert cli.profile(pub.job_id, steps=4, timeout=0.1) == 2
    assert "no answer in time" in capsys.readouterr().err


def test_relay_pipes_the_socket_to_stdio(make_publisher: Callable[..., Publisher]) -> None:
    pub = make_publisher()
    pub.publish("status", {"status": "train"})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ocrtop.bridge.relay", pub.job_id],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b'{"type":"command","id":"r1","command":"ping"}\n')
    proc.stdin.close()  # end of input: the relay half-closes, the stream goes on
    types = []
    for line in proc.stdout:
        frame = json.loads(line)
        types.append(frame["type"])
        if frame["type"] == "ack":
            assert frame["payload"]["id"] == "r1" and frame["payload"]["ok"]
            pub.publish("log", {"level": "INFO", "logger": "t", "message": "after ack"})
        if frame["type"] == "log":
            pub.close()  # the job ends: the relay ends too
    assert proc.wait(10) == 0
    assert types == ["hello", "snapshot", "ack", "log"]


def test_tail_follow_prints_live_events_until_the_job_ends(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    pub = make_publisher()

    def trainer() -> None:
        wait_for(lambda: pub.stats()["clients"] == 1)
        pub.publish("log", {"level": "INFO", "logger": "t", "message": "live line"})
        pub.publish("status", {"status": "done"})
        pub.close()

    t = threading.Thread(target=trainer)
    t.start()
    assert cli.tail(pub.job_id, json_out=False, follow=True) == 0
    t.join()
    out = capsys.readouterr().out
    assert "live line" in out and "status   done" in out
