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
import os
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ocrtop.ocr.data.canvas import map_words
from ocrtop.ocr.data.imageio import load_image  # also re-exported: predict reads images with it
from ocrtop.ocr.data.source import PageRecord
from ocrtop.ocr.failures import ConfigError
from ocrtop.ocr.geometry import as_points, polygon_problem
from ocrtop.ocr.types import Word

LABELS_NAME = "labels.json"
IMAGES_NAME = "images"
IGNORE_TEXT = "###"
SPLITS = ("train", "val", "test")
MIN_POINTS = 4
"""A text region is a quadrilateral or more (the README's format says >= 4 points)."""
ON_ERROR = ("fail", "skip")
DEFAULT_CHECK_WORKERS = min(8, os.cpu_count() or 1)

MALFORMED_POINTS = "malformed_points"
NON_NUMERIC_POINTS = "non_numeric_points"
TOO_FEW_POINTS = "fewer_than_4_points"
OUTSIDE_IMAGE = "points_outside_image"
IGNORE_NOT_BOOLEAN = "ignore_not_boolean"
MISSING_IMAGE = "missing_image"
UNREADABLE_IMAGE = "unreadable_image"
IMAGE_PROBLEMS = (MISSING_IMAGE, UNREADABLE_IMAGE)
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
    ignore_raw: Any = False
    """``ignore`` as written: anything but true/false is a problem (``"false"`` is truthy)."""


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
            ignore_raw = word.get("ignore", False)
            ignore = ignore_raw is True or text == IGNORE_TEXT
            pages[filename].append(
                RawWord(str(word_id), word["points"], text, ignore, word.get("chars"), ignore_raw)
            )
    return pages


def parse_points(raw: Any) -> np.ndarray | None:
    """Points as an ``(N, 2)`` array, or None when they are not ``[x, y]`` pairs."""
    try:
        return as_points(raw)
    except (ValueError, TypeError):
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def word_problem(raw: RawWord, size: tuple[int, int] | None = None) -> tuple[str, str] | None:
    """The one rule set for a word, shared by training and ``ocrtop data check``.

    In order: ``[x, y]`` pairs of JSON numbers (``"12"`` is not one), at least
    :data:`MIN_POINTS` of them, finite, a proper polygon (not flat, not self-crossing),
    inside the stored image of ``size`` ``(h, w)`` when known, and ``ignore`` a boolean.

    Returns:
        None for a usable word, else ``(kind, detail)``.
    """
    pts = raw.points
    if not isinstance(pts, list) or not all(isinstance(p, list) and len(p) == 2 for p in pts):
        return MALFORMED_POINTS, f"points={str(pts)[:60]}"
    if not all(_is_number(v) for p in pts for v in p):
        return NON_NUMERIC_POINTS, f"points={str(pts)[:60]} (numbers, not strings)"
    if len(pts) < MIN_POINTS:
        return TOO_FEW_POINTS, f"{len(pts)} points, at least {MIN_POINTS} needed"
    points = np.asarray(pts, dtype=np.float64)
    problem = polygon_problem(points)
    if problem is not None:
        return problem.value, f"{len(points)} points"
    if size is not None:
        h, w = size
        low, high = points.min(axis=0), points.max(axis=0)
        if low[0] < 0 or low[1] < 0 or high[0] > w or high[1] > h:
            return (
                OUTSIDE_IMAGE,
                f"bbox ({low[0]:.0f},{low[1]:.0f})-({high[0]:.0f},{high[1]:.0f}) vs image {w}x{h}",
            )
    if not isinstance(raw.ignore_raw, bool):
        return IGNORE_NOT_BOOLEAN, f"ignore={raw.ignore_raw!r} (true or false, unquoted)"
    return None


def image_problem(path: Path) -> tuple[tuple[int, int] | None, tuple[str, str] | None]:
    """Decode ``path`` fully (a truncated file fails only then): ``(size, problem)``.

    Returns:
        The stored ``(h, w)`` and None, or None and ``(kind, detail)``.
    """
    if not path.is_file():
        return None, (MISSING_IMAGE, str(path))
    try:  # decode the pixels (a header-only check or verify() misses a truncated PNG),
        with Image.open(path) as img:  # but skip load_image's rotation and copy: 30% less
            width, height = img.size
            img.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        return None, (UNREADABLE_IMAGE, f"cannot read image {str(path)!r}: {exc}")
    return (height, width), None


def image_sizes(
    paths: list[Path], workers: int = DEFAULT_CHECK_WORKERS
) -> list[tuple[tuple[int, int] | None, tuple[str, str] | None]]:
    """:func:`image_problem` of every path, decoded on ``workers`` threads.

    Decoding is the cost of checking a dataset; Pillow's decoders release the GIL, so
    threads run it in parallel without pickling anything.
    """
    if workers <= 1 or len(paths) < 2:
        return [image_problem(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(image_problem, paths))


def to_word(raw: RawWord) -> Word:
    """A word that :func:`word_problem` accepted, as the pipeline's ``Word``."""
    points = np.asarray(raw.points, dtype=np.float64)
    chars = None
    if raw.chars is not None:
        parsed = [parse_points(c) for c in raw.chars]
        chars = [c for c in parsed if c is not None and c.shape == (4, 2)] or None
    return Word(points=points, text=raw.text, ignore=raw.ignore, chars=chars)


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


@dataclass
class SplitReport:
    """What the setup check of one split found: problems per kind, and what was dropped."""

    labels: str
    images: int = 0
    words: int = 0
    problems: Counter[str] = field(default_factory=Counter)
    dropped_images: int = 0
    dropped_words: int = 0
    first: list[str] = field(default_factory=list)
    """The first few problems, as ``ocrtop data check`` lines, for the error message."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> str:
        """``2 fewer_than_4_points, 1 unreadable_image``."""
        return ", ".join(f"{n} {kind}" for kind, n in sorted(self.problems.items()))

    def skipped_text(self) -> str:
        """The one-line summary of a run that skipped the bad entries."""
        return (
            f"{self.labels}: skipped {self.dropped_words} of {self.words} words and "
            f"{self.dropped_images} of {self.images} images ({self.counts()})"
        )


class CanonicalSource:
    """Pages of one split of a canonical dataset directory, checked when built.

    Every word and image goes through the same rules as ``ocrtop data check``
    (:func:`word_problem`, :func:`image_problem`; images are decoded on threads). With
    ``on_error="fail"`` (the default) a split with any problem raises a
    :class:`~ocrtop.ocr.failures.ConfigError` (exit 2) that counts them and points to
    ``ocrtop data check``; with ``"skip"`` the bad words (and pages whose image is
    missing or unreadable) are left out, one warning summarises them, and
    :attr:`report` carries the summary for the dashboard.

    Args:
        root: dataset directory (see the module docstring for the layout).
        split: ``train``, ``val`` or ``test``; None reads every image of ``root``.
        on_error: ``fail`` or ``skip`` (``data.on_error``).
        check_workers: threads that decode images for the check.
    """

    def __init__(
        self,
        root: str,
        split: str | None = "train",
        on_error: str = "fail",
        check_workers: int = DEFAULT_CHECK_WORKERS,
    ) -> None:
        if split is not None and split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS} or None, got {split!r}")
        if on_error not in ON_ERROR:
            raise ConfigError("data.on_error", on_error, f"is not one of {', '.join(ON_ERROR)}")
        self.root = str(root)
        self.split = split
        labels_path, self.image_dir = split_paths(root, split)
        pages = read_labels(labels_path)
        uses_folders = labels_path.parent != Path(root)
        if split is not None and not uses_folders:
            pages = {name: ws for name, ws in pages.items() if fallback_split(name) == split}
        self.report = SplitReport(str(labels_path))
        self.filenames, self.words = self._checked(pages, check_workers)
        report = self.report
        if report.ok:
            return
        if on_error == "fail":
            first = "; ".join(report.first)
            raise ConfigError(
                "data.root",
                self.root,
                f"has {sum(report.problems.values())} invalid entries in {labels_path} "
                f"({report.counts()}), e.g. {first}. List them all with "
                f"`ocrtop data check {self.root}`; data.on_error=skip trains on the valid rest",
            )
        log.warning("%s; run `ocrtop data check %s` for the list", report.skipped_text(), self.root)

    def _checked(
        self, pages: dict[str, list[RawWord]], workers: int
    ) -> tuple[list[str], list[list[Word]]]:
        names = sorted(pages)
        report = self.report
        filenames: list[str] = []
        words: list[list[Word]] = []
        checked = image_sizes([self.image_dir / n for n in names], workers)
        for name, (size, bad_image) in zip(names, checked, strict=True):
            raws = pages[name]
            report.images += 1
            report.words += len(raws)
            if bad_image is not None:
                self._note(bad_image, name, None)
                report.dropped_images += 1
                report.dropped_words += len(raws)
                continue
            valid = []
            for raw in raws:
                problem = word_problem(raw, size)
                if problem is None:
                    valid.append(to_word(raw))
                else:
                    self._note(problem, name, raw.word_id)
                    report.dropped_words += 1
            filenames.append(name)
            words.append(valid)
        return filenames, words

    def _note(self, problem: tuple[str, str], image: str, word_id: str | None) -> None:
        kind, detail = problem
        self.report.problems[kind] += 1
        if len(self.report.first) < 3:
            where = image + (f" word {word_id}" if word_id is not None else "")
            self.report.first.append(f"{where}: {kind} ({detail})")

    def __len__(self) -> int:
        return len(self.filenames)

    def load(self, index: int) -> PageRecord:
        """Decode page ``index`` upright, with its words rotated to match."""
        name = self.filenames[index]
        rgb, stored_size, to_upright = load_image(self.image_dir / name)
        words = map_words(self.words[index], to_upright)
        return PageRecord(rgb, words, name, stored_size, np.linalg.inv(to_upright))
