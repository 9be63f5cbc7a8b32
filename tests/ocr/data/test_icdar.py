"""ICDAR 2015 conversion: BOM, commas in transcriptions, don't-care words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from ocrtop.ocr.data.icdar import convert_icdar, convert_icdar_dataset


def write_icdar(tmp_path: Path) -> tuple[Path, Path]:
    gt, images = tmp_path / "gt", tmp_path / "imgs"
    gt.mkdir()
    images.mkdir()
    lines = [
        "377,117,463,117,465,130,378,130,Genaxis Theatre",
        "1,2,3,2,3,9,1,9,1,234,56",
        "5,5,9,5,9,9,5,9,###",
        "",
    ]
    (gt / "gt_img_1.txt").write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8"))
    (gt / "gt_img_2.txt").write_text("0,0,4,0,4,4,0,4,a\n", encoding="utf-8")
    (gt / "notes.txt").write_text("not ground truth")
    Image.new("RGB", (8, 8)).save(images / "img_1.jpg")
    Image.new("RGB", (8, 8)).save(images / "img_2.png")
    return gt, images


def test_convert_handles_bom_commas_and_ignore(tmp_path: Path) -> None:
    gt, images = write_icdar(tmp_path)
    counts = convert_icdar(gt, images, tmp_path / "labels.json")
    assert counts == {"images": 2, "words": 4, "ignored": 1}
    data = json.loads((tmp_path / "labels.json").read_text())["images"]
    words = list(data["img_1.jpg"]["words"].values())
    assert words[0]["points"][0] == [377.0, 117.0]  # the BOM did not break the first number
    assert words[0]["text"] == "Genaxis Theatre"
    assert words[1]["text"] == "1,234,56"
    assert words[2]["ignore"] is True and words[0]["ignore"] is False
    assert set(data) == {"img_1.jpg", "img_2.png"}


def test_bad_line_and_missing_image_are_named(tmp_path: Path) -> None:
    gt, images = write_icdar(tmp_path)
    (images / "img_2.png").unlink()
    with pytest.raises(FileNotFoundError, match="img_2"):
        convert_icdar(gt, images, tmp_path / "labels.json")
    (gt / "gt_img_2.txt").write_text("1,2,three,4\n")
    Image.new("RGB", (8, 8)).save(images / "img_2.png")
    with pytest.raises(ValueError, match=r"gt_img_2\.txt:1"):
        convert_icdar(gt, images, tmp_path / "labels.json")


def test_dataset_folder_is_canonical(tmp_path: Path) -> None:
    gt, images = write_icdar(tmp_path)
    assert convert_icdar_dataset(images, gt, tmp_path / "ds", split="train") == 2
    assert (tmp_path / "ds" / "train" / "images" / "img_1.jpg").is_file()
    assert (tmp_path / "ds" / "train" / "labels.json").is_file()
