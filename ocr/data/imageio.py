"""Decoding images upright: EXIF orientation applied, with the matrix that did it.

Phone photos are often stored sideways with an EXIF tag saying how to turn them. The
loader turns the pixels and returns the stored -> upright matrix, so the caller can move
polygons the same way and predictions can be moved back.

Decoders, chosen on measurements (``benchmarks/bench_dataloader.py``, BENCHMARKS.md):

* JPEG: simplejpeg (libjpeg-turbo straight to an RGB array): 1.6 ms per 640 px page vs
  1.9-3.9 ms for OpenCV's ``imdecode`` and 3.8 ms for Pillow's chain, 5.5-6 vs 7-14 ms at
  1280 (one thread, the same run; OpenCV's figure moves most with the machine's load), with
  the same pixels as Pillow (tested). When simplejpeg is missing or refuses a file, OpenCV
  decodes it.
* everything else (PNG, ...): OpenCV's ``cv2.imdecode`` straight to RGB, about half the
  CPU time of Pillow's ``open -> exif_transpose -> convert -> asarray`` chain (which also
  copies the image twice) on JPEG and ~15 % less on PNG.

The EXIF orientation comes from Pillow's lazy header parse (no pixel decode), and the turn
is a lossless ``cv2.rotate`` / ``cv2.flip`` of the decoded array. Files neither decoder
reads fall back to Pillow, so every format Pillow reads still loads.
"""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

try:  # a core dependency; guarded so a broken wheel costs speed, not the loader
    import simplejpeg
except ImportError:  # pragma: no cover - installed with ocrtop
    simplejpeg = None

EXIF_ORIENTATION_TAG = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"

_RGB_FLAG = getattr(cv2, "IMREAD_COLOR_RGB", None)  # OpenCV >= 4.10: no BGR->RGB pass
_DECODE_FLAGS = (cv2.IMREAD_COLOR if _RGB_FLAG is None else _RGB_FLAG) | (
    cv2.IMREAD_IGNORE_ORIENTATION  # orientation is applied below, with its matrix
)

# EXIF orientation -> the lossless ops that make the stored pixels upright, in order.
_TURNS: dict[int, tuple[int | None, int | None]] = {  # (flip code, rotate code)
    1: (None, None),
    2: (1, None),  # mirrored left-right
    3: (None, cv2.ROTATE_180),
    4: (0, None),  # mirrored top-bottom
    5: (1, cv2.ROTATE_90_COUNTERCLOCKWISE),  # transpose
    6: (None, cv2.ROTATE_90_CLOCKWISE),
    7: (1, cv2.ROTATE_90_CLOCKWISE),  # transverse
    8: (None, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


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


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation of an encoded image (1 when absent or unreadable).

    Pillow parses only the header here; no pixels are decoded. A PNG without an ``eXIf``
    chunk is answered without Pillow, whose PNG reader decodes the whole image looking
    for a late chunk.
    """
    if data.startswith(_PNG_SIGNATURE) and b"eXIf" not in data:
        return 1
    try:
        with Image.open(io.BytesIO(data)) as img:
            value = int(img.getexif().get(EXIF_ORIENTATION_TAG, 1))
    except (OSError, ValueError, SyntaxError):
        return 1
    return value if value in _TURNS else 1


def make_upright(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright for ``orientation`` (what ``ImageOps.exif_transpose`` does)."""
    flip, rotate = _TURNS.get(orientation, (None, None))
    if flip is not None:
        rgb = cv2.flip(rgb, flip)
    if rotate is not None:
        rgb = cv2.rotate(rgb, rotate)
    return rgb


def decode_pillow(data: bytes) -> tuple[np.ndarray, int]:
    """Stored-frame RGB pixels and EXIF orientation with Pillow (the fallback decoder)."""
    with Image.open(io.BytesIO(data)) as img:
        orientation = int(img.getexif().get(EXIF_ORIENTATION_TAG, 1))
        rgb = np.array(img.convert("RGB"))
    return rgb, orientation if orientation in _TURNS else 1


def decode_opencv(data: bytes) -> np.ndarray | None:
    """Stored-frame RGB pixels with OpenCV, or None when OpenCV cannot decode the data."""
    bgr_or_rgb = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), _DECODE_FLAGS)
    if bgr_or_rgb is None or bgr_or_rgb.dtype != np.uint8:
        return None
    if _RGB_FLAG is None:
        cv2.cvtColor(bgr_or_rgb, cv2.COLOR_BGR2RGB, dst=bgr_or_rgb)
    return bgr_or_rgb


def decode_simplejpeg(data: bytes) -> np.ndarray | None:
    """Stored-frame RGB pixels of a JPEG with simplejpeg, or None (not a JPEG, simplejpeg
    missing, or a JPEG it does not decode)."""
    if simplejpeg is None or not data.startswith(_JPEG_SIGNATURE):
        return None
    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB")
    except ValueError:
        return None


def load_image(path: Path) -> tuple[np.ndarray, tuple[int, int], np.ndarray]:
    """Decode an image upright: ``(rgb, stored (h, w), stored->upright matrix)``.

    Raises:
        OSError: when the file is missing or not a readable image (the message names it).
    """
    try:
        data = Path(path).read_bytes()
        rgb = decode_simplejpeg(data)
        if rgb is None:
            rgb = decode_opencv(data)
        if rgb is None:
            rgb, orientation = decode_pillow(data)
        else:
            orientation = exif_orientation(data)
    except (OSError, ValueError, SyntaxError) as exc:
        raise OSError(f"cannot read image {str(path)!r}: {exc}") from exc
    stored_h, stored_w = rgb.shape[:2]
    upright = make_upright(rgb, orientation)
    return upright, (stored_h, stored_w), exif_matrix(orientation, stored_w, stored_h)


def load_image_pillow(path: Path) -> np.ndarray:
    """Upright RGB the way Pillow alone does it (``exif_transpose``): the reference the
    tests compare :func:`load_image` with, and the benchmark's Pillow baseline."""
    with Image.open(path) as img:
        return np.asarray(ImageOps.exif_transpose(img).convert("RGB")).copy()
