"""The trainer child: own session, log file, group signals, run-dir log link."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

import psutil
import pytest

from ocrtop.tui.core.child import ENV_GROUP, Child

pytestmark = pytest.mark.slow


def wait_exit(child: Child, timeout: float = 10.0) -> int:
    deadline = time.monotonic() + timeout
    while (code := child.poll()) is None:
        assert time.monotonic() < deadline, "child did not exit"
        time.sleep(0.02)
    return code


def test_child_logs_to_file_with_group_env_and_exit_code(tmp_path: Path) -> None:
    script = f"import os, sys; print('group', os.environ['{ENV_GROUP}']); sys.exit(3)"
    child = Child([sys.executable, "-c", script], tmp_path / "logs" / "train.log", "g-123")
    child.start()
    assert wait_exit(child) == 3
    assert "group g-123" in child.log_path.read_text()
    assert child.tail(1) == ["group g-123"]
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    child.link_log(str(run_dir))
    assert (run_dir / "train.log").read_text() == child.log_path.read_text()


def test_stop_escalates_to_sigterm_on_the_process_group(tmp_path: Path) -> None:
    # the child starts a grandchild: both must go when the group is signalled
    script = ("import subprocess, sys, time; "
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
              "print('up', p.pid, flush=True); time.sleep(60)")  # fmt: skip
    child = Child([sys.executable, "-c", script], tmp_path / "train.log", "g")
    child.start()
    while "up" not in child.log_path.read_text():
        time.sleep(0.02)
    child.stop_requested_at = time.monotonic()
    child.escalate(time.monotonic(), term_after=30.0, kill_after=45.0)
    assert child.poll() is None, "no signal before the timeout"
    child.escalate(time.monotonic() + 31.0, term_after=30.0, kill_after=45.0)
    assert wait_exit(child) == -signal.SIGTERM
    grandchild = int(child.log_path.read_text().split()[1])
    deadline = time.monotonic() + 5
    while True:
        try:
            if psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE:
                break
        except psutil.NoSuchProcess:
            break
        assert time.monotonic() < deadline, "the grandchild survived the group SIGTERM"
        time.sleep(0.02)
