"""Read batch size, text instances, worker timings and worker cache from any batch shape.

The real pipeline's batches are dicts built by ``ocrtop.ocr.data.collate.collate_batch``
carrying ``batch_size``, ``num_instances``, ``timing`` (sums over the batch, ms) and,
when built in a DataLoader worker, ``worker`` (that worker's id and dataset cache bytes).
The monitors must also work with anybody's batches: plain tensors, ``(x, y)`` tuples,
dicts of tensors, dataclasses, lists of images, and a last batch smaller than the rest.

The batch size is *known* when the batch says so (a ``batch_size`` key or attribute) or
a ``batch_size_fn`` is given; it is *corroborated* when two or more tensors agree on
their leading dimension (``(x, y)``, a dict of tensors). Anything else is a guess, and
:attr:`BatchInfo.guess` says what was guessed, so the monitor can warn once instead of
reporting a wrong samples/s in silence: a lone tensor could be time-major, tensors that
disagree leave a choice, a list of same-shaped tensors is probably a list of samples.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

TIMING_KEYS = ("load_ms", "transform_ms", "target_ms")
WORKER_KEY = "worker"
"""Batch key of ``{"id": worker id, "cache_bytes": that worker's dataset cache}``."""
_MAX_DEPTH = 3  # nested containers searched for tensors; batches are shallow

BatchSizeFn = Callable[[Any], int]


@dataclass(frozen=True)
class BatchInfo:
    """What the monitors need to know about one batch."""

    size: int
    """Samples in the batch (1 when nothing in it tells)."""
    instances: int | None
    """Non-ignored text instances, when the batch says so."""
    timing: Mapping[str, float] | None
    """Worker-side ``load_ms``/``transform_ms``/``target_ms`` sums, when carried."""
    guess: str | None = None
    """How the size was guessed (None: known or corroborated)."""
    worker: tuple[int, int] | None = None
    """``(worker id, dataset cache bytes)`` of the DataLoader worker that built it."""


def inspect_batch(batch: Any, batch_size_fn: BatchSizeFn | None = None) -> BatchInfo:
    """Describe a batch without copying or synchronising anything.

    Args:
        batch: What the DataLoader yielded.
        batch_size_fn: Returns the number of samples in ``batch``; overrides inference.
    """
    instances = timing = worker = None
    size: int | None = None
    if isinstance(batch, Mapping):
        size = _as_int(batch.get("batch_size"))
        instances = _as_int(batch.get("num_instances"))
        timing = _timing(batch.get("timing"))
        worker = _worker(batch.get(WORKER_KEY))
    elif not isinstance(batch, tuple | list) and hasattr(batch, "batch_size"):
        size = _as_int(batch.batch_size)
    if batch_size_fn is not None:
        size = int(batch_size_fn(batch))
    guess = None
    if size is None:
        size, guess = infer_size(batch)
    return BatchInfo(size=size, instances=instances, timing=timing, guess=guess, worker=worker)


def infer_size(batch: Any) -> tuple[int, str | None]:
    """The batch size from tensors' leading dimensions, and what was guessed (or None).

    ``batch`` is walked like Lightning's ``extract_batch_size`` (mappings, sequences,
    dataclass fields), but disagreement and single witnesses are reported, not hidden.
    """
    if isinstance(batch, list) and len(batch) > 1 and _same_shaped_tensors(batch):
        shape = tuple(batch[0].shape)
        return len(batch), (
            f"{len(batch)}: the length of a list of {len(batch)} tensors of shape {shape} "
            "(taken as one tensor per sample)"
        )
    found = list(_tensors(batch, "batch", 0))
    if not found:
        return 1, f"1: no tensor with a leading dimension in a {type(batch).__name__} batch"
    sizes = {n for _, n, _ in found}
    where, n, shape = found[0]
    if len(sizes) > 1:
        seen = ", ".join(f"{w} {s}" for w, _, s in found[:4])
        return n, f"{n}: the leading dimension of {where}, but tensors disagree ({seen})"
    if len(found) == 1:
        return n, f"{n}: the leading dimension of {where} {shape}, the only tensor in the batch"
    return n, None


def _tensors(value: Any, where: str, depth: int) -> Iterator[tuple[str, int, tuple[int, ...]]]:
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, type):
        if len(shape) > 0:
            yield where, int(shape[0]), tuple(int(s) for s in shape)
        return
    if depth >= _MAX_DEPTH or isinstance(value, str | bytes):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key not in ("timing", WORKER_KEY):
                yield from _tensors(item, f"{where}[{key!r}]", depth + 1)
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from _tensors(item, f"{where}[{i}]", depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _tensors(getattr(value, f.name), f"{where}.{f.name}", depth + 1)


def _same_shaped_tensors(items: list[Any]) -> bool:
    first = getattr(items[0], "shape", None)
    if first is None or len(first) == 0:
        return False
    return all(getattr(it, "shape", None) == first for it in items[1:])


def _timing(value: Any) -> dict[str, float] | None:
    if not isinstance(value, Mapping):
        return None
    clean = {k: float(value[k]) for k in TIMING_KEYS if _is_number(value.get(k))}
    return clean or None


def _worker(value: Any) -> tuple[int, int] | None:
    if not isinstance(value, Mapping):
        return None
    wid, cache = _as_int(value.get("id")), _as_int(value.get("cache_bytes"))
    return None if wid is None or cache is None else (wid, cache)


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def resolve_batch_size_fn(spec: BatchSizeFn | str | None) -> BatchSizeFn | None:
    """A callable from a callable or a dotted path (``pkg.module.fn``), as Hydra gives it.

    Raises:
        ValueError: The path does not import or does not name a callable.
    """
    if spec is None or callable(spec):
        return spec
    if not isinstance(spec, str) or "." not in spec:
        raise ValueError(
            f"batch_size_fn must be a callable or a dotted path 'pkg.module.fn', got {spec!r}"
        )
    import importlib

    module_name, _, attr = spec.rpartition(".")
    try:
        fn = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"batch_size_fn={spec!r} does not import: {exc}") from None
    if not callable(fn):
        raise ValueError(f"batch_size_fn={spec!r} is not callable")
    return fn
