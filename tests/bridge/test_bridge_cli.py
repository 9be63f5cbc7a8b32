"""Script commands (ps, tail, profile) and the stdio relay used by ssh attach."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from bridge_testing import wait_for

from bridge import cli
from bridge.publisher import Publisher

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


def test_profile_prints_the_ack(
    make_publisher: Callable[..., Publisher], capsys: pytest.CaptureFixture[str]
) -> None:
    pub = make_publisher()
    stop = threading.Event()

    def trainer() -> None:  # the training thread polling at step boundaries
        while not stop.wait(0.01):
            for cmd in pub.poll_commands():
                if cmd.args["steps"] > 100:
                    pub.reply(cmd, ok=False, error="window too long for this epoch")
                else:
                    pub.reply(cmd, ok=True, result={"state": "armed", "steps": cmd.args["steps"]})

    t = threading.Thread(target=trainer)
    t.start()
    try:
        assert cli.profile(pub.job_id, steps=7) == 0
        ack = json.loads(capsys.readouterr().out)
        assert ack["ok"] is True and ack["result"] == {"state": "armed", "steps": 7}
        assert cli.profile(pub.job_id, steps=500) == 1
        assert "too long" in capsys.readouterr().out
        assert cli.profile(pub.job_id, steps=0) == 2  # rejected before sending
    finally:
        stop.set()
        t.join()


def test_relay_pipes_the_socket_to_stdio(make_publisher: Callable[..., Publisher]) -> None:
    pub = make_publisher()
    pub.publish("status", {"status": "train"})
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge.relay", pub.job_id],
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
