"""End to end in a real terminal: ``ocrtop train`` in tmux, profile, detach, attach, finish.

tmux gives the app a genuine pty, so this exercises what a user sees: the first frame,
live values changing, the ``p`` key reaching the trainer and the top-k coming back, the
quit dialog, and ``ocrtop attach`` finding the detached job from another window.

By default the trainer is the real pipeline on the tiny synthetic experiment; set
``OCRTOP_E2E_TRAINER=fake`` to run ``tests/helpers/fake_trainer.py`` (same Publisher, fake
numbers) when only the TUI is under test.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.helpers.tmux import Tmux

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

FAKE = os.environ.get("OCRTOP_E2E_TRAINER") == "fake"
FAKE_TRAINER = Path(__file__).resolve().parents[1] / "helpers" / "fake_trainer.py"
REAL_OVERRIDES = ["experiment=synthetic_debug", "trainer.max_epochs=2",
                  "data.train.source.num=24", "data.val.source.num=4"]  # fmt: skip
FAKE_OVERRIDES = ["steps=160", "step_s=0.25"]


def step_of(screen: str) -> int | None:
    match = re.search(r"step (\d+)/", screen)
    return int(match.group(1)) if match else None


def test_train_profile_detach_attach_finish(tmux: Tmux, tmp_path: Path) -> None:
    env = {"OCRTOP_RUNTIME_DIR": str(tmp_path / "rt"), "TERM": "xterm-256color",
           "OMP_NUM_THREADS": "1", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}  # fmt: skip
    if FAKE:
        env["OCRTOP_TRAIN_SCRIPT"] = str(FAKE_TRAINER)
        env["PYTHONPATH"] = f"{FAKE_TRAINER.parent}:{env['PYTHONPATH']}"
    prefix = "env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    ocrtop = f"{prefix} {shlex.quote(sys.executable)} -m ocrtop"
    overrides = " ".join(FAKE_OVERRIDES if FAKE else REAL_OVERRIDES)
    tmux.start("train", f"{ocrtop} train --profile-steps 3 {overrides}; echo EXIT=$?", first=True)

    # 1. live values appear and change
    first = tmux.wait("train", lambda s: step_of(s) and "samples/s" in s, "first live values",
                      timeout=300)  # fmt: skip
    step0 = step_of(first)
    tmux.wait("train", lambda s: (step_of(s) or 0) > (step0 or 0), "the step to advance")
    tmux.wait("train", lambda s: re.search(r"\d+\.\d samples/s", s), "a measured samples/s")

    # 2. p profiles the next steps; the top-k table arrives
    tmux.keys("train", "p")
    tmux.wait("train", lambda s: "self cpu" in s and "trace" in s, "the profiler top-k")

    # 3. q -> detach; training goes on
    tmux.keys("train", "q")
    tmux.wait("train", lambda s: "Leave the dashboard?" in s, "the quit dialog")
    tmux.keys("train", "d")
    detached = tmux.wait("train", lambda s: "EXIT=0" in s, "ocrtop train to detach with 0")
    assert "detached: training continues" in detached
    job = re.search(r"reattach: ocrtop attach (\S+)", detached)
    assert job, detached

    # 4. attach from a second window shows the same job, which finishes with exit code 0
    tmux.start("attach", f"{ocrtop} attach {job.group(1)}; echo EXIT=$?")
    tmux.wait("attach", lambda s: job.group(1) in s and step_of(s), "attach to show the job")
    done = tmux.wait("attach", lambda s: "finished: done" in s, "the job to finish", timeout=400)
    assert "exit code 0" in done
    tmux.keys("attach", "q")
    tmux.wait("attach", lambda s: "EXIT=0" in s, "ocrtop attach to exit with 0")
