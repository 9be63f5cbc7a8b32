"""Photometric augmentation and input normalisation (pixels only, geometry untouched)."""

from __future__ import annotations

import cv2
import numpy as np

from ocr.data.canvas import TransformState

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32) * 255
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32) * 255


class ColorJitter:
    """Photometric noise: brightness, contrast and saturation, each with its own range.

    The three linear adjustments fold into one ``cv2.addWeighted`` of the image and its
    grey version, so jitter costs two uint8 passes instead of a float32 round trip.
    """

    def __init__(
        self,
        brightness: float = 0.25,
        contrast: float = 0.25,
        saturation: float = 0.25,
        p: float = 0.8,
    ) -> None:
        self.brightness, self.contrast, self.saturation, self.p = (
            brightness,
            contrast,
            saturation,
            p,
        )

    def __call__(self, state: TransformState, rng: np.random.Generator) -> TransformState:
        if rng.random() >= self.p:
            return state
        image = state.image
        s = rng.uniform(1 - self.saturation, 1 + self.saturation)
        c = rng.uniform(1 - self.contrast, 1 + self.contrast)
        b = rng.uniform(1 - self.brightness, 1 + self.brightness)
        grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
        mean = float(grey[..., 0].mean())
        # b * (mean + c * (s * img + (1 - s) * grey - mean)), saturated to uint8 by OpenCV.
        out = cv2.addWeighted(image, b * c * s, grey, b * c * (1 - s), b * mean * (1 - c))
        return state.with_image(out)


_NORMALIZE_LUTS = [
    ((np.arange(256, dtype=np.float32) - IMAGENET_MEAN[c]) / IMAGENET_STD[c]).reshape(1, 256)
    for c in range(3)
]
"""uint8 -> normalised float32, one 256-entry table per channel."""


def normalize(image: np.ndarray) -> np.ndarray:
    """HWC uint8 RGB -> CHW float32, ImageNet mean/std (the contract's ``image``).

    One table look-up per channel (``cv2.LUT`` into each plane of the output), so the
    float32 page is written once, with no uint8 transpose copy and no float passes:
    0.66 vs 0.98 ms at 640 px warm, and one 4.9 MB allocation instead of three.
    """
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"normalize needs HxWx3 uint8 RGB, got {image.dtype} {image.shape}")
    out = np.empty((3, *image.shape[:2]), dtype=np.float32)
    for channel, (plane, table) in enumerate(zip(cv2.split(image), _NORMALIZE_LUTS, strict=True)):
        cv2.LUT(plane, table, dst=out[channel])
    return out
