"""Canonical dataset loading: layout, errors, EXIF orientation, invalid words."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from ocrtop.ocr.data.canonical import CanonicalSource, fallback_split, read_labels
from ocrtop.ocr.geometry import apply_matrix

GOOD = [[4, 4], [30, 4], [30, 14], [4, 14]]


def make_split(
    base: Path, images: dict[str, dict[str, Any]], size: tuple[int, int] = (60, 40)
) -> None:
    (base / "images").mkdir(parents=True, exist_ok=True)
    for name in images:
        Image.new("RGB", size, (200, 200, 200)).save(base / "images" / name)
    (base / "labels.json").write_text(json.dumps({"images": images}))


def test_split_folders_and_ignore_text(tmp_path: Path) -> None:
    words = {"0": {"points": GOOD, "text": "hi"}, "1": {"points": GOOD, "text": "###"}}
    for split in ("train", "val", "test"):
        make_split(tmp_path / split, {f"{split}.png": {"words": words}})
    source = CanonicalSource(str(tmp_path), "val")
    assert len(source) == 1
    record = source.load(0)
    assert record.filename == "val.png" and record.image.shape == (40, 60, 3)
    assert [w.ignore for w in record.words] == [False, True]
    np.testing.assert_allclose(record.words[0].points, GOOD)


def test_flat_layout_uses_a_stable_hash_split(tmp_path: Path) -> None:
    names = [f"img_{i}.png" for i in range(30)]
    make_split(tmp_path, {n: {"words": {}} for n in names}, size=(8, 8))
    sizes = {s: len(CanonicalSource(str(tmp_path), s)) for s in ("train", "val", "test")}
    assert sum(sizes.values()) == 30 and sizes["train"] > sizes["val"]
    assert CanonicalSource(str(tmp_path), "test").filenames == sorted(
        n for n in names if fallback_split(n) == "test"
    )
    assert len(CanonicalSource(str(tmp_path), None)) == 30


def test_missing_paths_name_the_culprit(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        CanonicalSource(str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match=r"labels\.json"):
        CanonicalSource(str(tmp_path))
    (tmp_path / "labels.json").write_text('{"images": {}}')
    with pytest.raises(FileNotFoundError, match="image folder"):
        CanonicalSource(str(tmp_path))


def test_malformed_json_names_file_and_entry(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_labels(path)
    path.write_text(json.dumps({"images": {"a.png": {"words": {"7": {"text": "x"}}}}}))
    with pytest.raises(ValueError, match=r"a\.png.*'7'.*no points"):
        read_labels(path)


def test_invalid_words_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    words = {
        "ok": {"points": GOOD},
        "few": {"points": [[0, 0], [1, 1]]},
        "flat": {"points": [[0, 0], [5, 0], [10, 0], [2, 0]]},
        "bowtie": {"points": [[0, 0], [10, 0], [0, 10], [10, 10]]},
        "junk": {"points": "abc"},
    }
    make_split(tmp_path, {"a.png": {"words": words}})
    with caplog.at_level(logging.WARNING, logger="ocrtop.ocr.data.canonical"):
        source = CanonicalSource(str(tmp_path), None, on_error="skip")
    assert len(source.load(0).words) == 1
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    for part in (
        "skipped 4 of 5 words and 0 of 1 images",
        "1 fewer_than_4_points",
        "1 zero_area",
        "1 self_intersecting",
        "1 malformed",
    ):
        assert part in warnings[0]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_moves_image_and_points_together(tmp_path: Path, orientation: int) -> None:
    stored = np.full((40, 60, 3), 255, dtype=np.uint8)
    stored[5:12, 8:20] = (255, 0, 0)  # an off-centre block, so mirrors and turns differ
    block = [[8, 5], [20, 5], [20, 12], [8, 12]]  # pixel edges around the block
    (tmp_path / "images").mkdir()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "images" / "a.png", exif=exif)
    (tmp_path / "labels.json").write_text(
        json.dumps({"images": {"a.png": {"words": {"0": {"points": block}}}}})
    )
    record = CanonicalSource(str(tmp_path), None).load(0)
    assert record.image.shape[:2] == ((60, 40) if orientation >= 5 else (40, 60))  # turned
    if orientation > 1:
        assert not np.array_equal(record.image, stored)
    ys, xs = np.nonzero(record.image[..., 1] < 128)
    points = record.words[0].points
    np.testing.assert_allclose(points.min(axis=0), [xs.min(), ys.min()])
    np.testing.assert_allclose(points.max(axis=0), [xs.max() + 1, ys.max() + 1])
    assert record.orig_size == (40, 60)
    np.testing.assert_allclose(apply_matrix(record.to_stored, points), block, atol=1e-9)
