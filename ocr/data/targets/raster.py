"""Rasterising helpers shared by the target builders."""

from __future__ import annotations

import cv2
import numpy as np

_SHIFT = 4
"""Sub-pixel bits for cv2.fillPoly: vertices keep 1/16 px precision instead of truncating."""


def fill_polygon(canvas: np.ndarray, points: np.ndarray, value: float) -> None:
    """Fill ``points`` (float pixel coordinates) into ``canvas`` in place."""
    fixed = np.round(points * (1 << _SHIFT)).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(canvas, [fixed], value, lineType=cv2.LINE_8, shift=_SHIFT)
