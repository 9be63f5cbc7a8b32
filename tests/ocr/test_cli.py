"""``ocrtop data ...`` and ``ocrtop eval`` through :func:`ocrtop.ocr.cli.main`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ocrtop.ocr.cli import main

SQUARE = [[0, 0], [10, 0], [10, 10], [0, 10]]


def _labels(path: Path, images: dict[str, list[list[list[float]]]]) -> Path:
    words = {
        name: {"words": {str(i): {"points": pts} for i, pts in enumerate(polys)}}
        for name, polys in images.items()
    }
    path.write_text(json.dumps({"images": words}))
    return path


def _shift(points: list[list[float]], dx: float) -> list[list[float]]:
    return [[x + dx, y] for x, y in points]


@pytest.fixture
def gt_pred(tmp_path: Path) -> tuple[Path, Path]:
    """Image a: 2 GT, 1 matched + 1 missed; image b: 2 GT, 2 matched + 1 false positive.

    Globally: 3 matched of 4 GT and 4 predictions -> P = R = H = 0.75. (The mean of
    per-image hmeans would be (0.667 + 0.8) / 2 = 0.733: the metric must not do that.)
    """
    gt = _labels(
        tmp_path / "gt.json",
        {"a.png": [SQUARE, _shift(SQUARE, 50)], "b.png": [SQUARE, _shift(SQUARE, 50)]},
    )
    pred = _labels(
        tmp_path / "pred.json",
        {"a.png": [SQUARE], "b.png": [SQUARE, _shift(SQUARE, 50), _shift(SQUARE, 200)]},
    )
    return gt, pred


def test_eval_prints_precision_recall_hmean(gt_pred, capsys) -> None:
    gt, pred = gt_pred
    assert main(["eval", "--gt", str(gt), "--pred", str(pred)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["precision: 0.7500", "recall: 0.7500", "hmean: 0.7500"]


def test_eval_json(gt_pred, capsys) -> None:
    gt, pred = gt_pred
    assert main(["eval", "--gt", str(gt), "--pred", str(pred), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"precision", "recall", "hmean"}
    assert out["hmean"] == pytest.approx(0.75)


def test_eval_cleval_and_both(gt_pred, capsys) -> None:
    """The GT has no text, so each 10x10 word gets CLEval's estimated length,
    round(0.5 + 1) = 2 characters: 8 in all, 6 found; the false positive square costs
    round(0.5 + 1/1) = 1 character -> recall 6/8, precision 6/7."""
    gt, pred = gt_pred
    assert main(["eval", "--gt", str(gt), "--pred", str(pred), "--metric", "cleval", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == pytest.approx(
        {
            "cleval_precision": 6 / 7,
            "cleval_recall": 0.75,
            "cleval_hmean": 2 * (6 / 7 * 0.75) / (6 / 7 + 0.75),
        }
    )
    args = [
        "eval",
        "--gt",
        str(gt),
        "--pred",
        str(pred),
        "--metric",
        "both",
        "--match-rule",
        "max_iou",
    ]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["precision: 0.7500", "recall: 0.7500", "hmean: 0.7500"]
    assert [line.split(":")[0] for line in lines[3:]] == [
        "cleval_precision",
        "cleval_recall",
        "cleval_hmean",
    ]


def test_eval_perfect_and_iou_option(tmp_path: Path, capsys) -> None:
    gt = _labels(tmp_path / "gt.json", {"a.png": [SQUARE]})
    # Shifted by 4 px: IoU = 60 / 140 = 0.43 -> no match at 0.5, a match at 0.4.
    pred = _labels(tmp_path / "p.json", {"a.png": [_shift(SQUARE, 4)]})
    main(["eval", "--gt", str(gt), "--pred", str(pred), "--json"])
    assert json.loads(capsys.readouterr().out)["hmean"] == 0.0
    main(["eval", "--gt", str(gt), "--pred", str(pred), "--json", "--iou", "0.4"])
    assert json.loads(capsys.readouterr().out)["hmean"] == pytest.approx(1.0)


def test_eval_missing_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    gt = _labels(tmp_path / "gt.json", {"a.png": [SQUARE]})
    missing = tmp_path / "nope.json"
    assert main(["eval", "--gt", str(gt), "--pred", str(missing)]) == 2  # BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(missing) in err
    assert "Traceback" not in err


def test_synth_writes_a_dataset_that_check_accepts(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ds"
    args = ["--out", str(out), "--num", "10", "--seed", "1", "--width", "160", "--height", "160"]
    assert main(["data", "synth", *args]) == 0
    assert "wrote 10 synthetic pages" in capsys.readouterr().out
    labels = json.loads((out / "train" / "labels.json").read_text())
    assert labels["images"], "the train split has pages"
    assert main(["data", "check", str(out)]) == 0
    assert "no problems" in capsys.readouterr().out


def test_check_reports_problems_with_exit_1(tmp_path: Path, capsys) -> None:
    root = tmp_path / "bad"
    (root / "images").mkdir(parents=True)
    _labels(root / "labels.json", {"gone.png": [SQUARE]})  # image missing
    assert main(["data", "check", str(root)]) == 1
    assert "gone.png" in capsys.readouterr().out


def test_check_missing_dataset_names_the_path(tmp_path: Path, capsys) -> None:
    missing = tmp_path / "no_such_dataset"
    assert main(["data", "check", str(missing)]) == 2  # unreadable: BAD_INPUT, not a finding
    assert str(missing) in capsys.readouterr().err


def test_convert_icdar(tmp_path: Path, capsys) -> None:
    images, gt = tmp_path / "imgs", tmp_path / "gt"
    images.mkdir()
    gt.mkdir()
    from PIL import Image

    Image.new("RGB", (64, 48), "white").save(images / "img_1.jpg")
    (gt / "gt_img_1.txt").write_text(
        "\ufeff1,1,30,1,30,20,1,20,Hello, world\n40,5,60,5,60,15,40,15,###\n", encoding="utf-8"
    )
    out = tmp_path / "ds"
    assert (
        main(
            [
                "data",
                "convert-icdar",
                "--images",
                str(images),
                "--gt",
                str(gt),
                "--out",
                str(out),
                "--split",
                "train",
            ]
        )
        == 0
    )
    assert "converted 1 images" in capsys.readouterr().out
    words = json.loads((out / "train" / "labels.json").read_text())["images"]["img_1.jpg"]["words"]
    assert [w["text"] for w in words.values()] == ["Hello, world", "###"]
    assert (out / "train" / "images" / "img_1.jpg").is_file()


def test_runs_as_python_module(gt_pred) -> None:
    gt, pred = gt_pred
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "ocrtop.ocr.cli",
            "eval",
            "--gt",
            str(gt),
            "--pred",
            str(pred),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["recall"] == pytest.approx(0.75)


def test_eval_does_not_import_torch(gt_pred) -> None:
    """`ocrtop eval` must start fast: importing torch alone takes seconds here."""
    gt, pred = gt_pred
    code = (
        "import sys; from ocrtop.ocr.cli import main; "
        f"main(['eval', '--gt', {str(gt)!r}, '--pred', {str(pred)!r}, '--json']); "
        "print('torch' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "False"
