"""Helpers shared by the post-processors: one tensor-to-numpy step, one coordinate mapping.

Post-processing is framework-free: the maps become numpy once, at the boundary, and all
geometry after that is numpy/OpenCV. This module needs no torch import.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ocrtop.ocr.geometry import apply_matrix


def maps_to_numpy(maps: Any, name: str) -> np.ndarray:
    """``(N, 1, H, W)`` tensor -> ``(N, H, W)`` float32 array (detached, on the CPU)."""
    if maps is None:
        raise ValueError(f"output.{name} is None; this post-processor needs it")
    if maps.ndim != 4 or maps.shape[1] != 1:
        raise ValueError(f"output.{name} must be (N, 1, H, W), got {tuple(maps.shape)}")
    return np.ascontiguousarray(maps.detach().float().cpu().numpy()[:, 0])


def check_metas(metas: list[dict[str, Any]], n: int) -> None:
    """Every image needs a meta with ``to_original`` so polygons land in original pixels."""
    if len(metas) != n:
        raise ValueError(f"got {len(metas)} metas for a batch of {n} images")
    for i, meta in enumerate(metas):
        if "to_original" not in meta:
            name = meta.get("filename", f"batch index {i}")
            raise KeyError(f"meta of {name!r} has no 'to_original' matrix (see docs/contracts.md)")


def to_original(points: np.ndarray, stride: int, meta: dict[str, Any]) -> np.ndarray:
    """Map points from output-map pixels to original-image pixels.

    Scales by ``stride`` (map -> network input), applies ``meta["to_original"]``
    (network input -> original, undoing resize/pad/EXIF) and clips to ``orig_size`` when
    the meta has it.
    """
    pts = apply_matrix(np.asarray(meta["to_original"], dtype=np.float64), points * float(stride))
    if "orig_size" in meta:
        h, w = meta["orig_size"]
        pts[:, 0] = np.clip(pts[:, 0], 0, w - 1)
        pts[:, 1] = np.clip(pts[:, 1], 0, h - 1)
    return pts


def mean_score(score_map: np.ndarray, polygon: np.ndarray) -> float:
    """Mean of ``score_map`` inside ``polygon`` (map pixels), computed on its bounding crop."""
    h, w = score_map.shape
    xmin = int(np.clip(np.floor(polygon[:, 0].min()), 0, w - 1))
    xmax = int(np.clip(np.ceil(polygon[:, 0].max()), 0, w - 1))
    ymin = int(np.clip(np.floor(polygon[:, 1].min()), 0, h - 1))
    ymax = int(np.clip(np.ceil(polygon[:, 1].max()), 0, h - 1))
    mask = np.zeros((ymax - ymin + 1, xmax - xmin + 1), dtype=np.uint8)
    shifted = np.round(polygon - [xmin, ymin]).astype(np.int32).reshape(-1, 1, 2)
    cv2.fillPoly(mask, [shifted], 1)
    return float(cv2.mean(score_map[ymin : ymax + 1, xmin : xmax + 1], mask)[0])
