"""DBNet post-processing: probability map -> polygons in original image coordinates.

The model predicts *shrunk* text kernels, so each connected region is scored, then grown
back by the same Vatti offset (``unclip_ratio``) used to shrink the targets.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ocrtop.ocr.geometry import bounding_size, min_area_box, unclip_polygon
from ocrtop.ocr.postprocess.common import check_metas, maps_to_numpy, mean_score, to_original
from ocrtop.ocr.types import DetectionOutput, Prediction


class DBPostProcessor:
    """``postprocess(output, metas) -> list[list[Prediction]]`` for DB models.

    Args:
        thresh: binarisation threshold on the probability map.
        box_thresh: minimum mean probability inside a candidate region.
        unclip_ratio: Vatti expansion ratio (D = A r / L), 1.5 as in DBNet.
        min_size: minimum shorter side (map pixels) before and, plus 2, after unclipping.
        max_candidates: contours examined per image. 1000 by default so that dense pages
            (receipts, documents) are not silently truncated.
        polygon: return unclipped polygons instead of minimum-area quadrilaterals (curved
            text); quadrilaterals match ICDAR 2015.
    """

    def __init__(
        self,
        thresh: float = 0.3,
        box_thresh: float = 0.6,
        unclip_ratio: float = 1.5,
        min_size: float = 3.0,
        max_candidates: int = 1000,
        polygon: bool = False,
    ) -> None:
        if max_candidates < 1:
            raise ValueError(f"model.postprocess.max_candidates={max_candidates} must be >= 1")
        self.thresh = thresh
        self.box_thresh = box_thresh
        self.unclip_ratio = unclip_ratio
        self.min_size = min_size
        self.max_candidates = max_candidates
        self.polygon = polygon

    def __call__(
        self, output: DetectionOutput, metas: list[dict[str, Any]]
    ) -> list[list[Prediction]]:
        """Predictions per image, in original coordinates."""
        probs = maps_to_numpy(output.prob_map, "prob_map")
        check_metas(metas, len(probs))
        return [
            [
                Prediction(points=to_original(pts, output.stride, meta), score=s)
                for pts, s in self.regions(prob)
            ]
            for prob, meta in zip(probs, metas, strict=True)
        ]

    def regions(self, prob: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """``(polygon, score)`` pairs in map pixels for one ``(H, W)`` probability map."""
        bitmap = (prob > self.thresh).astype(np.uint8)
        contours, _ = cv2.findContours(bitmap, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
        found: list[tuple[np.ndarray, float]] = []
        for contour in contours[: self.max_candidates]:
            pts = contour.reshape(-1, 2).astype(np.float64)
            if self.polygon:
                eps = 0.002 * cv2.arcLength(contour, True)
                pts = cv2.approxPolyDP(contour, eps, True).reshape(-1, 2).astype(np.float64)
                if len(pts) < 4 or min(bounding_size(pts)) < self.min_size:
                    continue
            else:
                pts, side = min_area_box(pts)
                if side < self.min_size:
                    continue
            score = mean_score(prob, pts)
            if score < self.box_thresh:
                continue
            grown = unclip_polygon(pts, self.unclip_ratio)
            if grown is None:
                continue
            if self.polygon:
                if min(bounding_size(grown)) < self.min_size + 2:
                    continue
                found.append((grown, score))
            else:
                box, side = min_area_box(grown)
                if side < self.min_size + 2:
                    continue
                found.append((box, score))
        return found
