"""Decoding images upright: EXIF orientation applied, with the matrix that did it.

Phone photos are often stored sideways with an EXIF tag saying how to turn them. The
loader turns the pixels and returns the stored -> upright matrix, so the caller can move
polygons the same way and predictions can be moved back.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

EXIF_ORIENTATION_TAG = 0x0112


def exif_matrix(orientation: int, width: int, height: int) -> np.ndarray:
    """3x3 matrix mapping stored-image coordinates to upright (displayed) coordinates.

    ``width``/``height`` are of the stored image. Orientation values follow EXIF 2.3
    (1 = upright ... 8 = rotated 90 degrees counter-clockwise for display).
    """
    w, h = float(width), float(height)
    table: dict[int, list[list[float]]] = {
        1: [[1, 0, 0], [0, 1, 0]],
        2: [[-1, 0, w], [0, 1, 0]],
        3: [[-1, 0, w], [0, -1, h]],
        4: [[1, 0, 0], [0, -1, h]],
        5: [[0, 1, 0], [1, 0, 0]],
        6: [[0, -1, h], [1, 0, 0]],
        7: [[0, -1, h], [-1, 0, w]],
        8: [[0, 1, 0], [-1, 0, w]],
    }
    rows = table.get(orientation, table[1])
    return np.array([*rows, [0.0, 0.0, 1.0]], dtype=np.float64)


def load_image(path: Path) -> tuple[np.ndarray, tuple[int, int], np.ndarray]:
    """Decode an image upright: ``(rgb, stored (h, w), stored->upright matrix)``.

    Raises:
        OSError: when the file is missing or not a readable image (the message names it).
    """
    try:
        with Image.open(path) as img:
            orientation = int(img.getexif().get(EXIF_ORIENTATION_TAG, 1))
            stored_w, stored_h = img.size
            upright = ImageOps.exif_transpose(img).convert("RGB")
            rgb = np.asarray(upright).copy()
    except (OSError, ValueError) as exc:
        raise OSError(f"cannot read image {str(path)!r}: {exc}") from exc
    return rgb, (stored_h, stored_w), exif_matrix(orientation, stored_w, stored_h)
