"""The default dataset folder of ``data=canonical``, built on first use.

``data=canonical`` without ``data.root`` reads ``data/canonical`` (relative to the directory
you start from, like ``outputs/``). When that folder is missing, a small synthetic dataset
is written there first, so the documented commands run on a fresh clone; a folder the
user named that does not exist is an error, because silently training on made-up pages
instead of the user's data would be worse than stopping.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ocrtop.ocr.data.check import label_files

DEFAULT_ROOT = "data/canonical"
EMBEDDED_PAGES = 200
EMBEDDED_SIZE = 640
EMBEDDED_SEED = 0


class DataRootError(ValueError):
    """The configured dataset folder cannot be used; the message is one line with the fix."""


def _same(a: str | Path, b: str | Path) -> bool:
    return Path(os.path.abspath(a)) == Path(os.path.abspath(b))


def prepare_root(root: str | Path, default_root: str | Path | None, key: str = "data.root") -> str:
    """Make sure ``root`` holds a dataset; return a one-line notice when one was built.

    Args:
        root: the configured dataset folder.
        default_root: the project's default folder; only this one is ever built.
        key: the config key named in messages.

    Returns:
        ``""`` when ``root`` already holds a dataset, otherwise the line to show the user.

    Raises:
        DataRootError: ``root`` is missing (and is not the default), is a file, or holds
            no ``labels.json``; the message names the key, the path and the fix.
    """
    path = Path(root)
    fix = (
        f"point {key} at a dataset in the canonical format (README 'Your own data'; "
        f"`ocrtop data from-pdf` or `ocrtop data synth` make one)"
    )
    if path.is_dir():
        if not label_files(path):
            raise DataRootError(
                f"{key}={str(root)!r} holds no labels.json (nor train/val/test/labels.json); {fix}"
            )
        return ""
    if path.exists():
        raise DataRootError(f"{key}={str(root)!r} is a file, not a dataset folder; {fix}")
    if default_root is None or not _same(path, default_root):
        raise DataRootError(f"{key}={str(root)!r} does not exist; {fix}, or leave {key} unset")
    counts = build_embedded(path)
    parts = ", ".join(f"{split} {n}" for split, n in counts.items())
    return (
        f"{key}: {root} was missing, so the embedded synthetic dataset was built there "
        f"({sum(counts.values())} pages of {EMBEDDED_SIZE}x{EMBEDDED_SIZE} px: {parts}); "
        f"to train on your own data pass {key}=DIR (README 'Your own data')"
    )


def build_embedded(path: Path) -> dict[str, int]:
    """Write the synthetic dataset into a temporary sibling, then rename it to ``path``.

    The rename makes the folder appear complete or not at all: an interrupted build (or a
    second job of a parallel sweep building at the same time) never leaves a half dataset
    that later runs would mistake for a finished one.
    """
    from ocrtop.ocr.data.synthetic import write_dataset

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.building-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    counts = write_dataset(
        tmp, num=EMBEDDED_PAGES, seed=EMBEDDED_SEED, width=EMBEDDED_SIZE, height=EMBEDDED_SIZE
    )
    try:
        tmp.rename(path)
    except OSError:  # another job finished first: its dataset is the same pages
        shutil.rmtree(tmp, ignore_errors=True)
        if not path.is_dir():
            raise
    return counts
