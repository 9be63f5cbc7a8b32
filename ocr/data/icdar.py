"""ICDAR 2015 ground truth (``gt_img_N.txt``) to the canonical JSON format.

Each line is ``x1,y1,x2,y2,x3,y3,x4,y4,transcription``. Files written by the challenge
tools start with a UTF-8 BOM, and transcriptions may contain commas, so only the first
eight fields are split off. ``###`` marks a don't-care word. Write the JSON as
``DIR/labels.json`` beside ``DIR/images/`` to get a canonical dataset directly.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np

from ocrtop.ocr.data.canonical import (
    IGNORE_TEXT,
    IMAGES_NAME,
    LABELS_NAME,
    read_labels,
    write_labels,
)
from ocrtop.ocr.types import Word

GT_PATTERN = re.compile(r"^gt_(?P<stem>.+)\.txt$")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG", ".bmp", ".tif", ".tiff")


def parse_icdar_file(path: Path) -> list[Word]:
    """Words of one ground-truth file.

    Raises:
        ValueError: naming file and line when a line lacks eight numeric coordinates.
    """
    words = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        fields = line.split(",", 8)
        try:
            coords = [float(v) for v in fields[:8]]
        except ValueError:
            coords = []
        if len(coords) != 8:
            raise ValueError(f"{path}:{number}: expected x1,y1,...,x4,y4,text, got {line[:80]!r}")
        text = fields[8] if len(fields) > 8 else ""
        points = np.asarray(coords, dtype=np.float64).reshape(4, 2)
        words.append(Word(points=points, text=text, ignore=text == IGNORE_TEXT))
    return words


def find_image(image_dir: Path, stem: str) -> str:
    """File name of the image with ``stem`` in ``image_dir``.

    Raises:
        FileNotFoundError: naming the stem and the folder searched.
    """
    for suffix in IMAGE_SUFFIXES:
        if (image_dir / f"{stem}{suffix}").is_file():
            return f"{stem}{suffix}"
    raise FileNotFoundError(
        f"no image named {stem}.* ({', '.join(IMAGE_SUFFIXES[:3])}, ...) in {image_dir}"
    )


def convert_icdar(
    gt_dir: str | Path, image_dir: str | Path, out_json: str | Path
) -> dict[str, int]:
    """Convert every ``gt_*.txt`` in ``gt_dir``; returns image, word and ignored counts.

    Raises:
        FileNotFoundError: when a folder is missing, holds no ground truth, or an image
            for a ground-truth file is missing.
    """
    gt_dir, image_dir = Path(gt_dir), Path(image_dir)
    for folder in (gt_dir, image_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"folder {str(folder)!r} does not exist")
    pages: dict[str, list[Word]] = {}
    for path in sorted(gt_dir.iterdir()):
        match = GT_PATTERN.match(path.name)
        if match is not None:
            pages[find_image(image_dir, match["stem"])] = parse_icdar_file(path)
    if not pages:
        raise FileNotFoundError(f"no gt_*.txt files in {gt_dir}")
    Path(out_json).parent.mkdir(parents=True, exist_ok=True)
    write_labels(pages, out_json)
    words = [w for ws in pages.values() for w in ws]
    return {"images": len(pages), "words": len(words), "ignored": sum(w.ignore for w in words)}


def convert_icdar_dataset(
    image_dir: str | Path, gt_dir: str | Path, out_dir: str | Path, split: str | None = None
) -> int:
    """Build a canonical dataset folder: ``OUT[/SPLIT]/labels.json`` + copied ``images/``.

    Returns:
        The number of images converted.
    """
    base = Path(out_dir) / split if split else Path(out_dir)
    labels = base / LABELS_NAME
    convert_icdar(gt_dir, image_dir, labels)
    (base / IMAGES_NAME).mkdir(parents=True, exist_ok=True)
    names = list(read_labels(labels))
    for name in names:
        shutil.copy2(Path(image_dir) / name, base / IMAGES_NAME / name)
    return len(names)
