"""The canonical dataset format: one JSON file beside a folder of images.

Layout of a dataset directory ``DIR`` (what ``ocrtop data synth`` writes and
``data=canonical data.root=DIR`` reads)::

    DIR/train/images/*.png   DIR/train/labels.json
    DIR/val/images/...       DIR/val/labels.json
    DIR/test/images/...      DIR/test/labels.json

A dataset without split folders (``DIR/images/`` + ``DIR/labels.json``) also works: the
split of each image is then fixed by a CRC32 of its file name (80 % train, 10 % val,
10 % test), so it never changes between runs or machines.

``labels.json``::

    {"images": {"<file name>": {"words": {"<id>": {
        "points": [[x, y], ...], "text": "...", "ignore": false,
        "chars": [[[x, y] x4], ...]   # optional character quads (CRAFT)
    }}}}}

Points are in the pixel grid of the image file as stored, before EXIF orientation.
Loading rotates image and points upright together and keeps the inverse in
:attr:`PageRecord.to_stored`, so predictions come back in the stored frame. A word whose
text is ``###`` is a don't-care region.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ocr.data.canvas import map_words
from ocr.data.imageio import load_image  # also re-exported: predict reads images with it
from ocr.data.source import PageRecord
from ocr.geometry import as_points, polygon_problem
from ocr.types import Word

LABELS_NAME = "labels.json"
IMAGES_NAME = "images"
IGNORE_TEXT = "###"
SPLITS = ("train", "val", "test")
_FALLBACK_SPLIT_BUCKETS = {"train": range(0, 8), "val": range(8, 9), "test": range(9, 10)}

log = logging.getLogger(__name__)


@dataclass
class RawWord:
    """One word entry as written in the JSON, before validation."""

    word_id: str
    points: Any
    text: str
    ignore: bool
    chars: Any = None


def split_paths(root: str | Path, split: str | None) -> tuple[Path, Path]:
    """Find the labels file and image folder of ``split`` under ``root``.

    Raises:
        FileNotFoundError: naming the missing path and the layout that was expected.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset root {str(root)!r} does not exist or is not a folder")
    base = root / split if split and (root / split).is_dir() else root
    labels, images = base / LABELS_NAME, base / IMAGES_NAME
    if not labels.is_file():
        raise FileNotFoundError(
            f"labels file {str(labels)!r} is missing; expected {root}/<split>/{LABELS_NAME} "
            f"or {root}/{LABELS_NAME} (see ocr/data/canonical.py for the layout)"
        )
    if not images.is_dir():
        raise FileNotFoundError(f"image folder {str(images)!r} is missing (beside {labels.name})")
    return labels, images


def fallback_split(filename: str) -> str:
    """Deterministic split of a file in a dataset that has no split folders."""
    bucket = zlib.crc32(filename.encode("utf-8")) % 10
    return next(name for name, rng in _FALLBACK_SPLIT_BUCKETS.items() if bucket in rng)


def read_labels(path: str | Path) -> dict[str, list[RawWord]]:
    """Parse a canonical labels file into raw words, keyed by image file name.

    Raises:
        ValueError: when the JSON or its structure is malformed, naming file and entry.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from exc
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, dict):
        raise ValueError(f'{path}: top level must be {{"images": {{<file name>: ...}}}}')
    pages: dict[str, list[RawWord]] = {}
    for filename, entry in images.items():
        words = (entry or {}).get("words", {}) if isinstance(entry, dict) else None
        if not isinstance(words, dict):
            raise ValueError(f'{path}: images[{filename!r}] must be {{"words": {{<id>: ...}}}}')
        pages[filename] = []
        for word_id, word in words.items():
            if not isinstance(word, dict) or "points" not in word:
                raise ValueError(f"{path}: images[{filename!r}].words[{word_id!r}] has no points")
            text = str(word.get("text") or "")
            ignore = bool(word.get("ignore", False)) or text == IGNORE_TEXT
            pages[filename].append(
                RawWord(str(word_id), word["points"], text, ignore, word.get("chars"))
            )
    return pages


def parse_points(raw: Any) -> np.ndarray | None:
    """Points as an ``(N, 2)`` array, or None when they are not ``[x, y]`` pairs."""
    try:
        return as_points(raw)
    except (ValueError, TypeError):
        return None


def to_word(raw: RawWord) -> tuple[Word | None, str | None]:
    """Validate one raw word: ``(word, None)`` or ``(None, problem)``."""
    points = parse_points(raw.points)
    if points is None:
        return None, "malformed_points"
    problem = polygon_problem(points)
    if problem is not None:
        return None, problem.value
    chars = None
    if raw.chars is not None:
        parsed = [parse_points(c) for c in raw.chars]
        chars = [c for c in parsed if c is not None and c.shape == (4, 2)] or None
    return Word(points=points, text=raw.text, ignore=raw.ignore, chars=chars), None


def write_labels(pages: dict[str, list[Word]], path: str | Path) -> None:
    """Write words (stored-image coordinates) as a canonical labels file."""
    images: dict[str, Any] = {}
    for filename, words in pages.items():
        entries: dict[str, Any] = {}
        for i, word in enumerate(words):
            entry: dict[str, Any] = {
                "points": np.round(word.points, 2).tolist(),
                "text": word.text,
                "ignore": word.ignore,
            }
            if word.chars:
                entry["chars"] = [np.round(c, 2).tolist() for c in word.chars]
            entries[str(i)] = entry
        images[filename] = {"words": entries}
    Path(path).write_text(json.dumps({"images": images}), encoding="utf-8")


class CanonicalSource:
    """Pages of one split of a canonical dataset directory.

    Invalid words (fewer than 3 points, zero area, self-intersecting, malformed) are
    skipped with ONE warning that summarises the counts; ``ocrtop data check DIR`` lists
    them one by one.

    Args:
        root: dataset directory (see the module docstring for the layout).
        split: ``train``, ``val`` or ``test``; None reads every image of ``root``.
    """

    def __init__(self, root: str, split: str | None = "train") -> None:
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
        self.root = str(root)
        self.split = split
        labels_path, self.image_dir = split_paths(root, split)
        pages = read_labels(labels_path)
        uses_folders = labels_path.parent != Path(root)
        if split is not None and not uses_folders:
            pages = {name: ws for name, ws in pages.items() if fallback_split(name) == split}
        self.filenames = sorted(pages)
        self.words: list[list[Word]] = []
        skipped: Counter[str] = Counter()
        for name in self.filenames:
            valid = []
            for raw in pages[name]:
                word, problem = to_word(raw)
                if word is None:
                    skipped[problem or "invalid"] += 1
                else:
                    valid.append(word)
            self.words.append(valid)
        if skipped:
            detail = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
            log.warning(
                "%s: skipped %d invalid words (%s); run `ocrtop data check %s` for the list",
                labels_path, sum(skipped.values()), detail, self.root,
            )  # fmt: skip

    def __len__(self) -> int:
        return len(self.filenames)

    def load(self, index: int) -> PageRecord:
        """Decode page ``index`` upright, with its words rotated to match."""
        name = self.filenames[index]
        rgb, stored_size, to_upright = load_image(self.image_dir / name)
        words = map_words(self.words[index], to_upright)
        return PageRecord(rgb, words, name, stored_size, np.linalg.inv(to_upright))
