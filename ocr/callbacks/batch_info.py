"""Read batch size, text instances and worker timings from any batch shape.

The real pipeline's batches are dicts built by ``ocr.data.collate.collate_batch``
carrying ``batch_size``, ``num_instances`` and ``timing`` (sums over the batch, ms),
but the monitors must also work with plain tensors and tuples (toy modules, other
datasets), and with a last batch that is smaller than the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TIMING_KEYS = ("load_ms", "transform_ms", "target_ms")


@dataclass(frozen=True)
class BatchInfo:
    """What the throughput monitor needs to know about one batch."""

    size: int
    """Samples (images) in the batch; 1 when it cannot be told."""
    instances: int | None
    """Non-ignored text instances, when the batch says so."""
    timing: Mapping[str, float] | None
    """Worker-side ``load_ms``/``transform_ms``/``target_ms`` sums, when carried."""


def inspect_batch(batch: Any) -> BatchInfo:
    """Describe a batch without copying or synchronising anything."""
    if isinstance(batch, Mapping):
        size = _as_int(batch.get("batch_size"))
        if size is None:
            size = _leading_dim(batch.get("image"))
        if size is None:
            size = next((s for s in map(_leading_dim, batch.values()) if s is not None), 1)
        instances = _as_int(batch.get("num_instances"))
        timing = batch.get("timing")
        clean = None
        if isinstance(timing, Mapping):
            clean = {k: float(timing[k]) for k in TIMING_KEYS if _is_number(timing.get(k))}
        return BatchInfo(size=size, instances=instances, timing=clean or None)
    size = _leading_dim(batch)
    if size is None and isinstance(batch, Sequence) and not isinstance(batch, str | bytes):
        size = next((s for s in map(_leading_dim, batch) if s is not None), None)
    return BatchInfo(size=size or 1, instances=None, timing=None)


def _leading_dim(value: Any) -> int | None:
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) > 0:
        return int(shape[0])
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
