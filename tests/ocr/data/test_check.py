"""``check_dataset``: every problem kind is reported with file and word id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from ocrtop.ocr.data.check import check_dataset

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
        ("fewer_than_4_points", "good.png", "1"),
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


def truncated_png(path: Path) -> None:
    """A real PNG cut short: the header reads, the pixels do not."""
    Image.effect_noise((64, 64), 60).convert("RGB").save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def hostile_dataset(root: Path) -> dict[str, set[str]]:
    """Entries the README's format rejects but a lax reader would take; returns the bad ids."""
    split = root / "train"
    (split / "images").mkdir(parents=True)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (60, 40)).save(split / "images" / name)
    truncated_png(split / "images" / "cut.png")
    words = {
        "ok": {"points": GOOD, "ignore": False},
        "strings": {"points": [["4", "4"], ["30", "4"], ["30", "14"], ["4", "14"]]},
        "triangle": {"points": [[4, 4], [30, 4], [30, 14]]},
        "ignore_str": {"points": GOOD, "ignore": "false"},
        "nan": {"points": [[4, 4], [30, 4], [30, 14], [4, float("nan")]]},
        "outside": {"points": [[50, 30], [70, 30], [70, 45], [50, 45]]},
    }
    labels = {
        "a.png": {"words": words},
        "b.png": {"words": {"ok": {"points": GOOD}}},
        "cut.png": {"words": {"ok": {"points": GOOD}}},
    }
    (split / "labels.json").write_text(json.dumps({"images": labels}))
    return {"a.png": set(words) - {"ok"}, "cut.png": {"<image>"}}


def test_numeric_strings_triangles_string_booleans_and_truncated_pngs_are_caught(
    tmp_path: Path,
) -> None:
    hostile_dataset(tmp_path)
    found = {(p.kind, p.image, p.word_id) for p in check_dataset(tmp_path).problems}
    assert found == {
        ("non_numeric_points", "a.png", "strings"),
        ("fewer_than_4_points", "a.png", "triangle"),
        ("ignore_not_boolean", "a.png", "ignore_str"),
        ("non_finite_coordinates", "a.png", "nan"),
        ("points_outside_image", "a.png", "outside"),
        ("unreadable_image", "cut.png", None),
    }


def test_training_rejects_exactly_what_data_check_reports(tmp_path: Path) -> None:
    """One rule set: the loader (skip mode) drops what the check lists, nothing else."""
    from ocrtop.ocr.data.canonical import CanonicalSource

    bad = hostile_dataset(tmp_path)
    source = CanonicalSource(str(tmp_path), "train", on_error="skip")
    assert source.filenames == ["a.png", "b.png"]  # the truncated image's page is dropped
    assert len(source.words[0]) == 1 and len(source.words[1]) == 1
    report = check_dataset(tmp_path)
    assert sum(source.report.problems.values()) == len(report.problems)
    assert source.report.problems == report.counts
    assert source.report.dropped_words == len(bad["a.png"]) + 1


def test_by_default_training_refuses_a_dataset_with_problems(tmp_path: Path) -> None:
    from ocrtop.ocr.data.canonical import CanonicalSource
    from ocrtop.ocr.failures import ConfigError, final_status

    hostile_dataset(tmp_path)
    with pytest.raises(ConfigError) as info:
        CanonicalSource(str(tmp_path), "train")
    message = str(info.value)
    assert message.startswith(f"data.root: '{tmp_path}' has 6 invalid entries")
    assert f"`ocrtop data check {tmp_path}`" in message and "data.on_error=skip" in message
    assert final_status(info.value)["exit_code"] == 2
