"""What a page source hands the Dataset: one decoded, upright page and its words.

Sources (the canonical folder reader, the synthetic generator) only decode; transforms
and target builders live in the Dataset, so every source gets the same augmentation,
timing and caching for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ocrtop.ocr.types import Word


@dataclass
class PageRecord:
    """One page, ready for transforms.

    Attributes:
        image: ``(H, W, 3)`` uint8 RGB, upright (EXIF orientation already applied).
        words: annotations in the coordinates of ``image``.
        filename: name of the page inside its split (the canonical JSON key).
        orig_size: ``(h, w)`` of the stored image, before EXIF rotation.
        to_stored: 3x3 matrix from ``image`` coordinates back to stored-image
            coordinates, the frame the ground truth and predictions are written in.
    """

    image: np.ndarray
    words: list[Word]
    filename: str
    orig_size: tuple[int, int]
    to_stored: np.ndarray = field(default_factory=lambda: np.eye(3))

    @property
    def nbytes(self) -> int:
        """Memory held by the decoded page (what the image cache pays per entry)."""
        return int(self.image.nbytes) + sum(int(w.points.nbytes) for w in self.words)


class PageSource(Protocol):
    """A finite, indexable, picklable collection of pages."""

    def __len__(self) -> int: ...

    def load(self, index: int) -> PageRecord:
        """Decode page ``index``; must be deterministic and safe in DataLoader workers."""
        ...
