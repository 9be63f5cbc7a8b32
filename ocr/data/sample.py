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
* maps (DB ``thresh_map``; CRAFT ``region_map``, ``affinity_map``, ``craft_mask``):
  uint8, ``round(value * 255)``. The DB threshold map (values in
  ``[thresh_min, thresh_max]``) and the CRAFT heatmaps (``[0, 1]``) are quantised to
  steps of 1/255, at most 1/510 ≈ 0.002 from the float value; the CRAFT mask (0/1) is
  exact.
* DB's three binary maps (``shrink_map``, ``shrink_mask``, ``thresh_mask``, each 0/1)
  travel as the bits of ONE uint8 map, :data:`DB_FLAGS` (bit values in
  :data:`DB_FLAG_BITS`), built directly by ``DBTargets(..., packed=True)``: a 640 px DB
  sample is then 2.0 MB instead of 2.8 MB, and a worker's collate writes (and first-
  touches) a quarter less fresh shared memory. Exact: each bit is its map's 0/1 value.

:func:`target_map` is the losses' one reader of a map under its own name
(``shrink_map``, ..., whether it travels on its own or as a :data:`DB_FLAGS` bit): it
returns float32 on the device, unpacking a bit with one bitwise and there (no host sync).
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


DB_FLAGS = "db_flags"
"""Sample key of DB's binary maps packed as bits of one uint8 ``(H, W)`` map."""

DB_FLAG_BITS = {"shrink_map": 1, "shrink_mask": 2, "thresh_mask": 4}
"""The bit of :data:`DB_FLAGS` that holds each binary DB map (set = 1, clear = 0)."""


def stored_key(batch: dict, key: str) -> str | None:
    """Which batch entry holds map ``key``: ``key`` itself, :data:`DB_FLAGS` for a binary
    DB map that travels as a bit, or None when the batch has neither."""
    if key in batch:
        return key
    if key in DB_FLAG_BITS and DB_FLAGS in batch:
        return DB_FLAGS
    return None


def target_map(batch: dict, key: str, like: torch.Tensor) -> torch.Tensor:
    """Map ``key`` of ``batch`` as float32 on ``like``'s device.

    A uint8 map is divided by 255; a binary DB map packed in :data:`DB_FLAGS` is its bit
    (``flags & bit != 0``, on the device); a float map (built by hand, in tests or older
    callers) is taken as is.

    Raises:
        KeyError: naming ``key`` when the batch holds it neither alone nor as a bit.
    """
    where = stored_key(batch, key)
    if where is None:
        raise KeyError(f"batch has no {key!r} (nor {DB_FLAGS!r}), got keys {sorted(batch)}")
    value = batch[where].to(device=like.device, non_blocking=True)
    if where == DB_FLAGS:
        return torch.bitwise_and(value, DB_FLAG_BITS[key]).ne_(0).to(torch.float32)
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
