"""The sample contract's compact dtypes: uint8 out of the workers, float32 on the device.

Why: measured in ``benchmarks/bench_dataloader.py``, a DataLoader worker spent more CPU
writing float32 tensors (the normalised page and four full-size DB maps, 11.4 MB per
640 px sample) and moving them through ``default_collate`` into shared memory than on
decoding the image. Shipping uint8 is a quarter of the bytes, and the float work moves to
the device, where it is a few elementwise kernels on the batch.

* ``image``: uint8 RGB ``(H, W, 3)``, 0-255, not normalised: the pixels as the last
  augmentation left them, with no transpose copy (stacking contiguous HWC pages in
  ``default_collate`` costs 0.1 ms per 640 px page, a CHW transpose 0.4 ms more).
  :func:`normalize_images` (the LightningModule's input step and ``forward``) turns the
  batch ``(N, H, W, 3)`` into float32 ``(N, 3, H, W)``, ImageNet mean/std, on the device.
  A float batch is taken as already normalised ``(N, 3, H, W)`` and passed through, so
  callers that build float batches by hand keep working.
* maps (DB ``shrink_map``, ``shrink_mask``, ``thresh_map``, ``thresh_mask``; CRAFT
  ``region_map``, ``affinity_map``, ``craft_mask``): uint8, ``round(value * 255)``.
  Binary maps and masks (0/1) are exact; the DB threshold map (values in
  ``[thresh_min, thresh_max]``) and the CRAFT heatmaps (``[0, 1]``) are quantised to
  steps of 1/255, at most 1/510 ≈ 0.002 from the float value. :func:`target_map` (the
  losses' one reader of a map) turns them back into float32 on the device.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

MAP_LEVELS = 255
"""A map value v in [0, 1] travels as the uint8 ``round(v * MAP_LEVELS)``."""

IMAGENET_MEAN = (0.485 * 255, 0.456 * 255, 0.406 * 255)
IMAGENET_STD = (0.229 * 255, 0.224 * 255, 0.225 * 255)
"""Per-channel mean and std of uint8 RGB pixels (ImageNet statistics, RGB order)."""


def pack_map(values: np.ndarray) -> np.ndarray:
    """A float map in ``[0, 1]`` as uint8 ``round(v * 255)`` (saturated), one pass.

    ``cv2.convertScaleAbs`` scales, rounds and saturates in one SIMD pass (the values are
    non-negative, so its absolute value changes nothing); numpy needs three.
    """
    if values.dtype != np.float32 or values.ndim != 2:
        raise ValueError(f"pack_map needs an HxW float32 map, got {values.dtype} {values.shape}")
    return cv2.convertScaleAbs(values, alpha=MAP_LEVELS)


def target_map(batch: dict, key: str, like: torch.Tensor) -> torch.Tensor:
    """``batch[key]`` as float32 on ``like``'s device: uint8 maps divided by 255.

    A float map (built by hand, in tests or older callers) is taken as is.
    """
    value = batch[key].to(device=like.device, non_blocking=True)
    if value.dtype == torch.uint8:
        return value.to(torch.float32).div_(MAP_LEVELS)
    return value.to(torch.float32)


def normalize_images(images: torch.Tensor, channels_last: bool = False) -> torch.Tensor:
    """uint8 RGB ``(N, H, W, 3)`` -> float32 ``(N, 3, H, W)``, ``(x - mean) / std``.

    Runs where the images are (the device, after the batch transfer). Per channel one
    multiply from the strided HWC plane into the output and one in-place add, with Python
    scalars: no mean/std tensor to copy to the device (no host sync), no permuted float
    temporary (measured on one CPU thread, a batch of 8 x 640 px: 26 ms vs 45 ms for
    ``permute().float().sub_().mul_()``). ``channels_last`` writes the output NHWC in
    memory (what a ``channels_last`` net wants), else contiguous NCHW. A float batch is
    returned unchanged (already normalised, ``(N, 3, H, W)``).

    Raises:
        ValueError: for a uint8 batch that is not ``(N, H, W, 3)``.
    """
    if images.dtype != torch.uint8:
        return images
    if images.ndim != 4 or images.shape[3] != 3:
        raise ValueError(
            f"normalize_images needs uint8 (N, H, W, 3) RGB, got {tuple(images.shape)}"
        )
    n, h, w, _ = images.shape
    layout = torch.channels_last if channels_last else torch.contiguous_format
    out = torch.empty((n, 3, h, w), dtype=torch.float32, device=images.device, memory_format=layout)
    for channel, (mean, std) in enumerate(zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)):
        plane = out[:, channel]
        torch.mul(images[..., channel], 1.0 / std, out=plane)
        plane.add_(-mean / std)
    return out
