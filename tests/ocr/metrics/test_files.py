"""evaluate_files: canonical GT/prediction JSON -> precision/recall/hmean, with clear errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from ocrtop.ocr.metrics.files import evaluate_files


def word(x0: float, y0: float, x1: float, y1: float, **extra: Any) -> dict[str, Any]:
    return {"points": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], **extra}


def write(path: Path, images: dict[str, dict[str, dict[str, Any]]]) -> Path:
    path.write_text(json.dumps({"images": {k: {"words": v} for k, v in images.items()}}))
    return path


@pytest.fixture
def gt(tmp_path: Path) -> Path:
    return write(
        tmp_path / "gt.json",
        {
            "a.png": {
                "0": word(0, 0, 100, 20, text="hello"),
                "1": word(0, 40, 100, 60, text="###"),  # don't-care by text
            },
            "b.png": {
                "0": word(0, 0, 50, 20, text="x", ignore=False),
                "1": word(60, 0, 120, 20, ignore=True),  # don't-care by flag
            },
            "c.png": {"0": word(10, 10, 90, 30)},  # no prediction entry at all
        },
    )


def test_scores_over_all_gt_images(tmp_path: Path, gt: Path) -> None:
    pred = write(
        tmp_path / "pred.json",
        {
            "a.png": {"0": word(1, 1, 99, 21, score=0.9), "1": word(2, 42, 98, 58)},
            "b.png": {"0": word(200, 0, 260, 20, score=0.4)},  # a false positive
        },
    )
    # 1 match; 3 cared-for GT (a/0, b/0, c/0); 2 kept predictions (a/1 falls in don't-care).
    assert evaluate_files(gt, pred) == pytest.approx(
        {"precision": 0.5, "recall": 1 / 3, "hmean": 0.4}
    )


def test_unknown_prediction_image_is_an_error(tmp_path: Path, gt: Path) -> None:
    pred = write(tmp_path / "pred.json", {"z.png": {"0": word(0, 0, 1, 1)}})
    with pytest.raises(ValueError, match=r"'z\.png'.*same split"):
        evaluate_files(gt, pred)


def test_bad_points_name_file_image_and_word(tmp_path: Path, gt: Path) -> None:
    pred = write(tmp_path / "pred.json", {"a.png": {"w7": {"points": [[0, 0], [1, 1]]}}})
    with pytest.raises(ValueError, match=r"pred\.json: images\['a\.png'\]\.words\['w7'\]"):
        evaluate_files(gt, pred)


def test_missing_and_malformed_files(tmp_path: Path, gt: Path) -> None:
    with pytest.raises(FileNotFoundError, match="prediction file"):
        evaluate_files(gt, tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        evaluate_files(tmp_path / "bad.json", gt)


def test_importing_evaluate_files_does_not_import_torch(tmp_path: Path) -> None:
    """``ocrtop eval`` should start fast; the torchmetrics class is imported lazily."""
    import subprocess

    code = "import sys, ocrtop.ocr.metrics.files; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
