"""A user's own Lightning script, not in the repository, monitored both ways.

The test writes a plain script (a tiny model; tuple, dict and dataclass batches; the loss
returned, not logged; ``fit()`` then ``test()``) to a temp dir and runs it

- zero-code: ``ocrtop train --headless --script user_train.py`` (``OCRTOP=1`` in the
  child, the entry points of this checkout on its path), with ``pytorch_lightning``;
- import form: ``python user_train.py --form import`` with ``lightning.pytorch``.

Each run must be listed by ``ocrtop ps``, answer a profile request (what the dashboard's
``p`` sends), be attachable headless, and show its loss, samples/s, data wait, resources
and the profile, with one job end for fit + test. The collate sleeps a
known time per batch: the reference for data wait and the ceiling of samples/s.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ocrtop.bridge import names
from ocrtop.bridge.eventlog import read_events
from tests.helpers.entry_points import entry_points_dir, env_with
from tests.helpers.user_script import USER_SCRIPT, ocrtop, wait_for_job

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

BATCH, SLEEP_MS, STEPS = 8, 20.0, 120


def check_events(root: Path, wall_samples_per_s: float) -> None:
    events = list(read_events(root / "events.jsonl"))
    hello = next(m.payload for m in events if m.type == "hello")
    assert hello["meta"]["experiment_name"] == "user_train"  # the header names the script
    assert hello["meta"]["arch"] == "Model"  # ... and its LightningModule
    statuses = [m.payload["status"] for m in events if m.type == "status"]
    assert statuses.count("done") == 1 and statuses[-1] == "done", statuses  # fit + test
    assert "test" in statuses
    latest: dict[str, float] = {}
    for m in events:
        if m.type == "metrics":
            latest.update(m.payload["values"])
    assert latest[names.TRAIN_LOSS] > 0  # the returned loss, published for the user
    assert "val_mae" in latest and "test_mae" in latest  # the user's own metrics
    # data wait: at least the collate's injected sleep (the fetch blocks on it)
    assert SLEEP_MS * 0.95 <= latest[names.DATA_WAIT_MS_P50] <= SLEEP_MS + 60
    # samples/s: at most BATCH per injected sleep; at least the script's own wall figure,
    # which also holds fit's setup, validation and teardown
    sps = latest[names.EPOCH_SAMPLES_PER_SECOND]
    assert wall_samples_per_s <= sps <= BATCH * 1e3 / SLEEP_MS * 1.02, (sps, wall_samples_per_s)
    assert latest[names.PROC_PSS_BYTES] > 50e6 and names.CPU_PERCENT in latest  # resources


def attach_and_finish(root: Path, env: dict[str, str], proc: subprocess.Popen) -> str:
    job = wait_for_job(root, env, proc)
    # What the `p` key sends; `ocrtop profile` waits for the window and prints its top-k.
    armed = ocrtop("profile", job, "--steps", "5", env=env)
    profiled = armed.returncode == 0 and "profiled 5 steps" in armed.stdout
    assert profiled and "step split: data_wait_ms" in armed.stdout, armed.stdout + armed.stderr
    attach = ocrtop("attach", "--headless", job, env=env, timeout=90)
    out, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, out[-3000:]
    assert attach.returncode == 0, attach.stdout[-2000:] + attach.stderr[-2000:]
    lines = [s for s in attach.stdout.splitlines() if s.startswith("[0")]  # [h:mm:ss] lines
    assert lines, attach.stdout
    line = lines[-1]
    for shown in ("done", "samples/s", "wait p95", "cpu", "pss"):  # PSS on Linux
        assert shown in line, line
    assert "loss —" not in line and "loss " in line, line
    assert "[profile] rank 0: 5 steps" in attach.stdout, attach.stdout[-3000:]
    check_events(root, float((root / "wall_samples_per_s.txt").read_text()))
    return out


def test_a_users_script_zero_code_and_import_form(tmp_path: Path) -> None:
    pytest.importorskip("lightning.pytorch", reason="the lightning package is not installed")
    script = tmp_path / "user_train.py"
    script.write_text(USER_SCRIPT)
    env = env_with(entry_points_dir(tmp_path / "eps"))
    common = ["--steps", str(STEPS), "--sleep-ms", str(SLEEP_MS)]

    root = tmp_path / "zero_code"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ocrtop", "train", "--headless", "--script", str(script),
         "--batch", "tuple", "--ns", "pl", "--root", str(root), *common],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
    )  # fmt: skip
    out = attach_and_finish(root, env, proc)
    assert "samples/s" in out  # `ocrtop train --headless` printed the job too

    root = tmp_path / "import_form"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--form", "import", "--batch", "dict",
         "--ns", "lightning", "--root", str(root), *common],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    attach_and_finish(root, env, proc)
