"""Typed containers that pipeline stages exchange.

They live in one module so that the dataset, model, loss, post-processing and metric
agree on names without importing each other. See ``docs/contracts.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is only needed for annotations here
    import torch

Polygon = np.ndarray
"""An ``(N, 2)`` float array of x, y points, N >= 3 (4 for quadrilaterals)."""


@dataclass
class Word:
    """One annotated text instance in original image coordinates."""

    points: Polygon
    text: str = ""
    ignore: bool = False
    chars: list[Polygon] | None = None
    """Character quadrilaterals (``(4, 2)`` each) when known; CRAFT targets need them."""


@dataclass
class Prediction:
    """One detected text region, in original image coordinates."""

    points: Polygon
    score: float


@dataclass
class DetectionOutput:
    """What every detector returns: NCHW maps named by meaning.

    The loss, post-processing and metric read only the maps they need, so none of them
    asks which architecture produced the output. Maps a model does not produce are None.
    ``stride`` is the down-sampling of the maps relative to the network input (1 for DB,
    2 for CRAFT); post-processing uses it to scale polygons back.
    """

    prob_map: torch.Tensor | None = None
    """DB probability (shrink) map, sigmoid applied, (N, 1, H, W)."""
    thresh_map: torch.Tensor | None = None
    """DB threshold map, (N, 1, H, W); training only."""
    binary_map: torch.Tensor | None = None
    """DB approximate binary map 1 / (1 + exp(-k (P - T))); training only."""
    region_map: torch.Tensor | None = None
    """CRAFT character region heatmap, (N, 1, H/2, W/2)."""
    affinity_map: torch.Tensor | None = None
    """CRAFT affinity heatmap, (N, 1, H/2, W/2)."""
    stride: int = 1
