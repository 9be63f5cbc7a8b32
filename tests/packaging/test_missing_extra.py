"""Without the ``ocr`` extra, the OCR commands say which extra to install and exit 2.

The extra's packages are blocked in a fresh interpreter (tests/helpers/blocked_imports.py);
the monitor's own commands must still run there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ocrtop.cli import needs_ocr_stack
from tests.helpers.blocked_imports import run_blocked

ROOT = Path(__file__).resolve().parents[2]
CALL = "import sys\nfrom ocrtop.cli import main\nsys.exit(main({argv!r}))\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "experiment=synthetic_debug", "trainer.max_epochs=1"],
        ["data", "check", "some_dir"],
        ["eval", "--gt", "gt.json", "--pred", "pred.json"],
    ],
)
def test_ocr_commands_name_the_extra_and_exit_2(argv: list[str], tmp_path: Path) -> None:
    out = run_blocked(CALL.format(argv=argv), ["timm", "cv2"], cwd=ROOT, timeout=60)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr  # one line, no traceback
    assert lines[0] == (
        f"ocrtop {argv[0]}: needs the OCR training stack, not installed here "
        "(missing: timm, opencv-python-headless); install it with: pip install 'ocrtop[ocr]'"
    )
    assert out.stdout == ""


def test_monitor_commands_run_without_the_extra(tmp_path: Path) -> None:
    out = run_blocked(CALL.format(argv=["ps", "--json"]), ["timm", "cv2", "torch"], cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "ocrtop[ocr]" not in out.stderr


def test_only_our_trainer_needs_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCRTOP_TRAIN_SCRIPT", raising=False)
    assert needs_ocr_stack("train", ["experiment=x"])
    assert needs_ocr_stack("data", ["synth"]) and needs_ocr_stack("eval", [])
    assert not needs_ocr_stack("train", ["--headless", "--script", "my_train.py"])
    assert not needs_ocr_stack("train", ["--script=my_train.py"])
    assert not needs_ocr_stack("train", ["--help"])
    for command in ("attach", "replay", "ps", "tail", "profile", "relay"):
        assert not needs_ocr_stack(command, [])
    monkeypatch.setenv("OCRTOP_TRAIN_SCRIPT", "/elsewhere/train.py")
    assert not needs_ocr_stack("train", ["lr=0.1"])
