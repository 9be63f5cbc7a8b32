"""``check_dataset``: every problem kind is reported with file and word id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from ocr.data.check import check_dataset

GOOD = [[4, 4], [30, 4], [30, 14], [4, 14]]


def test_reports_every_problem_by_file_and_word(tmp_path: Path) -> None:
    split = tmp_path / "train"
    (split / "images").mkdir(parents=True)
    Image.new("RGB", (60, 40)).save(split / "images" / "good.png")
    (split / "images" / "broken.png").write_bytes(b"\x89PNG not really")
    labels = {
        "good.png": {
            "words": {
                "0": {"points": GOOD},
                "1": {"points": [[0, 0], [1, 1]]},
                "2": {"points": [[0, 0], [5, 5], [10, 10], [3, 3]]},
                "3": {"points": [[0, 0], [10, 0], [0, 10], [10, 10]]},
                "4": {"points": [[50, 30], [70, 30], [70, 45], [50, 45]]},
                "5": {"points": [["a"], 3]},
            }
        },
        "missing.png": {"words": {"0": {"points": GOOD}}},
        "broken.png": {"words": {}},
    }
    (split / "labels.json").write_text(json.dumps({"images": labels}))
    report = check_dataset(tmp_path)
    found = {(p.kind, p.image, p.word_id) for p in report.problems}
    assert found == {
        ("fewer_than_3_points", "good.png", "1"),
        ("zero_area", "good.png", "2"),
        ("self_intersecting", "good.png", "3"),
        ("points_outside_image", "good.png", "4"),
        ("malformed_points", "good.png", "5"),
        ("missing_image", "missing.png", None),
        ("unreadable_image", "broken.png", None),
    }
    assert not report.ok and report.num_images == 3 and report.num_words == 7
    text = report.format()
    assert "train/labels.json  good.png  word 3: self_intersecting" in text
    assert "7 problems" in text and "  zero_area: 1" in text


def test_clean_dataset_and_missing_root(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    Image.new("RGB", (60, 40)).save(tmp_path / "images" / "a.png")
    (tmp_path / "labels.json").write_text(
        json.dumps({"images": {"a.png": {"words": {"0": {"points": GOOD}}}}})
    )
    report = check_dataset(tmp_path)
    assert report.ok and report.format().endswith("no problems")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        check_dataset(tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match=r"no labels\.json"):
        check_dataset(tmp_path / "images")


def test_invalid_labels_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "labels.json").write_text("[1, 2")
    report = check_dataset(tmp_path)
    kinds = sorted(p.kind for p in report.problems)
    assert kinds == ["invalid_labels_file"]
