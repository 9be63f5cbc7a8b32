"""The default dataset folder of ``data=canonical``: built when missing, never guessed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocrtop.ocr.data import embedded
from ocrtop.ocr.data.canonical import CanonicalSource
from ocrtop.ocr.data.check import check_dataset
from ocrtop.ocr.data.embedded import DataRootError, prepare_root

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def few_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedded, "EMBEDDED_PAGES", 10)
    monkeypatch.setattr(embedded, "EMBEDDED_SIZE", 128)


def test_missing_default_is_built_once_and_announced(tmp_path: Path, few_pages: None) -> None:
    root = tmp_path / "data" / "canonical"
    notice = prepare_root(str(root), str(root))
    assert "synthetic" in notice and str(root) in notice and "data.root=DIR" in notice
    assert "\n" not in notice
    assert check_dataset(root).ok
    assert {len(CanonicalSource(str(root), s)) for s in ("train", "val", "test")} == {8, 1}
    assert not [p for p in root.parent.iterdir() if p.name.startswith(".")]  # no temp left
    assert prepare_root(str(root), str(root)) == ""  # present: nothing to say


def test_named_missing_root_is_an_error_not_a_build(tmp_path: Path) -> None:
    missing = tmp_path / "mine"
    with pytest.raises(DataRootError, match=r"data\.root=.*mine.*does not exist"):
        prepare_root(str(missing), str(tmp_path / "data" / "canonical"))
    assert not missing.exists()


@pytest.mark.parametrize("make", ["file", "empty_dir"])
def test_unusable_root_names_the_problem(tmp_path: Path, make: str) -> None:
    root = tmp_path / "ds"
    if make == "file":
        root.write_text("x")
    else:
        root.mkdir()
    with pytest.raises(DataRootError, match="is a file" if make == "file" else "no labels.json"):
        prepare_root(str(root), str(root))


def test_train_stops_with_exit_2_and_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, str(REPO / "runners" / "train.py"), "data=canonical",
         f"data.root={tmp_path / 'nowhere'}", f"paths.log_dir={tmp_path / 'out'}"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    # One line names the key, the path and the fix (the config check, before torch is
    # imported); the runner's closing line says which exit code that is.
    problem, closing = lines
    assert problem.startswith("error: data.root:") and "nowhere" in problem, lines
    assert "ocrtop data synth" in problem, lines
    assert closing == "ocrtop: bad config or input (exit code 2)", lines
