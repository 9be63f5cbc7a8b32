"""Bad data through ``ocrtop train --headless``: refused up front, or skipped and shown.

Slow: the skip case trains a tiny run.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ocrtop.ocr.cli import main as ocr_cli
from tests.runners.test_runners import TINY as RUNNER_TINY

ROOT = Path(__file__).resolve().parents[2]
# The runner tests' tiny job on a canonical dataset, without the test after fit
TINY = ["data=canonical", *RUNNER_TINY, "test_after_fit=false"]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bad_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic dataset with a truncated PNG and a 3-point word in its train split."""
    out = tmp_path_factory.mktemp("data") / "ds"
    args = ["--out", str(out), "--num", "12", "--seed", "1", "--width", "128", "--height", "128"]
    assert ocr_cli(["data", "synth", *args]) == 0
    train = out / "train"
    labels = json.loads((train / "labels.json").read_text())
    names = sorted(labels["images"])
    cut = train / "images" / names[0]
    cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
    words = labels["images"][names[1]]["words"]
    words[next(iter(words))]["points"] = [[1, 1], [20, 1], [20, 9]]
    (train / "labels.json").write_text(json.dumps(labels))
    return out


def ocrtop_train(tmp_path: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    env.pop("HYDRA_FULL_ERROR", None)
    argv = [sys.executable, "-m", "ocrtop", "train", "--headless", *TINY, *overrides]
    return subprocess.run(
        [*argv, f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_a_bad_dataset_is_refused_with_exit_2_and_a_pointer_to_data_check(
    tmp_path: Path, bad_dataset: Path
) -> None:
    proc = ocrtop_train(tmp_path, f"data.root={bad_dataset}")
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "has 2 invalid entries" in proc.stdout
    assert "1 fewer_than_4_points, 1 unreadable_image" in proc.stdout
    assert f"`ocrtop data check {bad_dataset}`" in proc.stdout
    assert "bad config or input (exit code 2)" in proc.stdout
    # and data check finds the same two
    check = subprocess.run(
        [sys.executable, "-m", "ocrtop.ocr.cli", "data", "check", str(bad_dataset)],
        capture_output=True, text=True, check=False, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert check.returncode == 1 and "2 problems" in check.stdout


def test_on_error_skip_trains_on_the_rest_and_says_what_it_skipped(
    tmp_path: Path, bad_dataset: Path
) -> None:
    proc = ocrtop_train(tmp_path, f"data.root={bad_dataset}", "data.on_error=skip")
    assert proc.returncode == 0, proc.stdout[-3000:]
    alerts = [line for line in proc.stdout.splitlines() if "data_skipped" in line]
    assert alerts, proc.stdout[-3000:]
    assert "[alert] warning firing data_skipped" in alerts[0]
    found = re.search(r"skipped (\d+) of \d+ words and 1 of \d+ images \((.*?)\)", alerts[0])
    assert found, alerts[0]
    assert int(found[1]) >= 2  # the 3-point word, and every word of the truncated page
    assert found[2] == "1 fewer_than_4_points, 1 unreadable_image"
    assert "ocrtop data check" in alerts[0]
