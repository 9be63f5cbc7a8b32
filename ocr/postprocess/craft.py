"""CRAFT post-processing: region + affinity heatmaps -> word boxes in original coordinates.

Characters (region) joined by affinity links form connected components; each component
that contains at least one confident character becomes one word box (minimum-area
rectangle). The maps are at half resolution, so boxes are scaled by ``output.stride``
before ``to_original``.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ocrtop.ocr.geometry import min_area_box
from ocrtop.ocr.postprocess.common import check_metas, maps_to_numpy, to_original
from ocrtop.ocr.types import DetectionOutput, Prediction


class CraftPostProcessor:
    """``postprocess(output, metas) -> list[list[Prediction]]`` for CRAFT models.

    Args:
        text_threshold: a component needs a region peak at least this high.
        link_threshold: affinity above this joins characters.
        low_text: region above this belongs to a character.
        min_area: components smaller than this (map pixels) are noise.
    """

    def __init__(
        self,
        text_threshold: float = 0.7,
        link_threshold: float = 0.4,
        low_text: float = 0.4,
        min_area: int = 10,
    ) -> None:
        self.text_threshold = text_threshold
        self.link_threshold = link_threshold
        self.low_text = low_text
        self.min_area = min_area

    def __call__(
        self, output: DetectionOutput, metas: list[dict[str, Any]]
    ) -> list[list[Prediction]]:
        """Predictions per image, in original coordinates."""
        regions = maps_to_numpy(output.region_map, "region_map")
        links = maps_to_numpy(output.affinity_map, "affinity_map")
        check_metas(metas, len(regions))
        return [
            [
                Prediction(points=to_original(b, output.stride, meta), score=s)
                for b, s in self.boxes(r, a)
            ]
            for r, a, meta in zip(regions, links, metas, strict=True)
        ]

    def boxes(self, region: np.ndarray, affinity: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """``(box, score)`` pairs in map pixels; score is the mean region value of the word."""
        h, w = region.shape
        text = region > self.low_text
        link = affinity > self.link_threshold
        combined = (text | link).astype(np.uint8)
        n, labels, stats, _ = cv2.connectedComponentsWithStats(combined, connectivity=4)
        found: list[tuple[np.ndarray, float]] = []
        for k in range(1, n):
            x, y, bw, bh, area = (int(v) for v in stats[k])
            if area < self.min_area:
                continue
            # Work on the component's crop, grown by the dilation margin below.
            niter = int(np.sqrt(area * min(bw, bh) / (bw * bh)) * 2)
            x0, y0 = max(x - niter, 0), max(y - niter, 0)
            x1, y1 = min(x + bw + niter + 1, w), min(y + bh + niter + 1, h)
            comp = labels[y0:y1, x0:x1] == k
            scores = region[y0:y1, x0:x1][comp]
            if scores.max() < self.text_threshold:
                continue
            seg = comp.copy()
            seg[link[y0:y1, x0:x1] & ~text[y0:y1, x0:x1]] = False  # drop pure link pixels
            if niter > 0:  # link pixels were removed, so grow back to cover the characters
                kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (1 + niter, 1 + niter))
                seg = cv2.dilate(seg.astype(np.uint8), kernel).astype(bool)
            ys, xs = np.nonzero(seg)
            if len(xs) == 0:
                continue
            pts = np.stack([xs + x0, ys + y0], axis=1).astype(np.float64)
            box, _ = min_area_box(pts)
            found.append((box, float(scores.mean())))
        return found
