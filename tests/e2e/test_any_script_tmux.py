"""A user's own Lightning script on the dashboard, in a real terminal (tmux), both forms.

- zero-code: ``ocrtop train --script user_train.py`` draws the dashboard for the script;
- import form: ``python user_train.py --form import`` runs in one window and
  ``ocrtop attach JOB`` (the id ``ocrtop ps`` lists) draws it in another.

On screen, as a user reads it: the header names the script and its LightningModule; the
throughput panel shows a samples/s at most the collate's injected ceiling (8 samples per
20 ms) and a data wait p50 of at least the injected 20 ms; the training panel shows the
loss the step returned (never logged); the resources panel shows PSS; ``p`` brings the
profiler's top-k; the data-bound alert
fires with a hint in DataLoader terms (import form); and the job ends ``done`` with exit code 0.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.helpers.entry_points import entry_points_dir, env_with
from tests.helpers.tmux import Tmux
from tests.helpers.user_script import USER_SCRIPT, wait_for_job

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SLEEP_MS, BATCH = 20.0, 8
CEILING = BATCH * 1e3 / SLEEP_MS  # samples/s when only the injected sleep costs time


def figure(pattern: str, screen: str) -> float | None:
    match = re.search(pattern, screen)
    return float(match.group(1)) if match else None


def check_live_screen(tmux: Tmux, window: str) -> None:
    """The panels of a running user job, then ``p`` and its top-k."""
    screen = tmux.wait(
        window,
        lambda s: figure(r"([\d.]+) samples/s", s) and figure(r"wait p50 ([\d.]+)", s)
        and re.search(r"loss \d", s) and "data-bound" in s and "pss" in s,
        "samples/s, the data wait, the verdict, the loss and PSS",
        timeout=120,
    )  # fmt: skip
    assert "user_train · Model" in screen, screen  # the header names the script
    sps = figure(r"([\d.]+) samples/s", screen)
    assert sps is not None and 0.3 * CEILING <= sps <= CEILING * 1.02, screen
    wait_p50 = figure(r"wait p50 ([\d.]+)", screen)
    assert wait_p50 is not None and wait_p50 >= SLEEP_MS * 0.95, screen
    assert "waiting for the first training loss" not in screen
    tmux.keys(window, "p")
    top = tmux.wait(window, lambda s: "self cpu" in s and "trace" in s, "the profiler top-k")
    # the costliest op of a loader-bound step is the fetch, and the hint says so
    assert "enumerate(Data" in top and "input-bound" in top, top


def test_a_users_script_on_the_dashboard_both_forms(tmux: Tmux, tmp_path: Path) -> None:
    pytest.importorskip("lightning.pytorch", reason="the lightning package is not installed")
    script = tmp_path / "user_train.py"
    script.write_text(USER_SCRIPT)
    env = env_with(entry_points_dir(tmp_path / "eps"))
    env.update({"TERM": "xterm-256color", "OMP_NUM_THREADS": "1"})
    keep = ("PATH", "PYTHONPATH", "XDG_RUNTIME_DIR", "OCRTOP_RUNTIME_DIR", "HOME", "TERM",
            "OMP_NUM_THREADS", "OCRTOP")  # fmt: skip
    prefix = "env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if k in keep)
    py = f"{prefix} {shlex.quote(sys.executable)}"

    # zero-code: the dashboard launches the script (pytorch_lightning, tuple batches)
    root = tmp_path / "zero_code"
    tmux.start("zero", f"{py} -m ocrtop train --script user_train.py --steps 2500 "
               f"--sleep-ms {SLEEP_MS} --batch tuple --root {root}; echo EXIT=$?",
               first=True)  # fmt: skip
    check_live_screen(tmux, "zero")
    tmux.keys("zero", "q")
    tmux.wait("zero", lambda s: "Leave the dashboard?" in s, "the quit dialog")
    tmux.keys("zero", "s")  # stop: fit ends at the next batch, the script runs its test()
    tmux.wait("zero", lambda s: "finished: stopped" in s, "the stopped job's dialog")
    tmux.keys("zero", "q")
    tmux.wait("zero", lambda s: "EXIT=0" in s, "ocrtop train to end with the script's 0")

    # import form: the script runs on its own; the dashboard attaches to it
    root = tmp_path / "import_form"
    script_cmd = (f"{py} user_train.py --form import --ns lightning --batch dict "
                  f"--steps 1500 --sleep-ms {SLEEP_MS} --root {root}")  # fmt: skip
    proc_env = {**os.environ, **env}
    tmux.start("script", f"{script_cmd}; echo EXIT=$?")
    job = wait_for_job(root, proc_env, None)
    tmux.start("attach", f"{py} -m ocrtop attach {job}; echo EXIT=$?")
    check_live_screen(tmux, "attach")
    # the import form asks for alerts after 2 s (sustain_s): the data-bound alert, its hint
    tmux.wait("attach", lambda s: "WARNING  data_bound" in s and "DataLoader's num_wor" in s,
              "the data-bound alert and its hint in the user's terms")  # fmt: skip
    done = tmux.wait("attach", lambda s: "finished: done" in s, "the job to finish", timeout=180)
    assert "exit code 0" in done, done
    tmux.keys("attach", "q")
    tmux.wait("attach", lambda s: "EXIT=0" in s, "ocrtop attach to exit with 0")
    tmux.wait("script", lambda s: "EXIT=0" in s, "the user's script to exit with 0")
