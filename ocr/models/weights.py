"""Weights from local files: timm state dicts for backbones, ocrtop checkpoints for models.

ocrtop never downloads at run time, so "pretrained" means "a file you put here". Both
loaders compare keys and shapes before touching the model and fail with one message
that lists what is missing and what is unexpected, because a silent partial load (the
``strict=False`` habit) trains from scratch while the user believes it fine-tunes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

SHOWN_KEYS = 8
"""Keys listed per kind in a mismatch message; the rest are counted."""


def _listed(kind: str, keys: Iterable[str]) -> str:
    keys = sorted(keys)
    more = len(keys) - SHOWN_KEYS
    shown = ", ".join(keys[:SHOWN_KEYS]) + (f", ... ({more} more)" if more > 0 else "")
    return f"{kind} keys ({len(keys)}): {shown}"


def read_state_dict(path: str | Path, key: str) -> dict[str, torch.Tensor]:
    """Tensors of a ``.safetensors`` or ``.pth``/``.pt`` file (a bare or wrapped state dict).

    A ``.pth`` may hold the state dict itself or wrap it under ``state_dict`` or ``model``
    (common training-script layouts). ``.pth`` files are read with ``weights_only=True``:
    tensors only, no pickled code.

    Raises:
        FileNotFoundError: naming ``key`` and the path.
        ValueError: when the file holds no tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{key}={str(path)!r} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    try:
        state: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickle errors come in many types
        raise ValueError(f"{key}={str(path)!r} is not a tensor file ({exc})") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(state, Mapping) and isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
    items = state.items() if isinstance(state, Mapping) else []
    tensors = {k: v for k, v in items if isinstance(v, torch.Tensor)}
    if not tensors:
        raise ValueError(f"{key}={str(path)!r} holds no state dict of tensors")
    return tensors


def load_exactly(
    module: nn.Module,
    state: Mapping[str, torch.Tensor],
    key: str,
    path: str | Path,
    ignorable: Iterable[str] = (),
) -> None:
    """Load ``state`` into ``module`` only if every key and shape fits.

    Args:
        ignorable: keys the file may carry that ``module`` does not use (a classifier
            head a ``features_only`` backbone dropped); any other extra key is an error.

    Raises:
        ValueError: one message listing missing keys, unexpected keys and shape mismatches.
    """
    own = module.state_dict()
    skip = set(ignorable)
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own and k not in skip]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        parts = [_listed("missing", missing), _listed("unexpected", unexpected)]
        if shapes:
            parts.append(_listed("wrong-shape", shapes))
        raise ValueError(f"{key}={str(path)!r} does not fit the model: " + "; ".join(parts))
    module.load_state_dict({k: state[k] for k in own}, strict=True)


def init_from_checkpoint(model: nn.Module, path: str | Path, key: str = "init_from") -> None:
    """Copy an ocrtop (Lightning) checkpoint's model weights into ``model``, nothing else.

    The optimizer, scheduler, epoch and step counters of the checkpoint are ignored: the
    run starts fresh from these weights (``ckpt_path=`` is the way to resume instead).
    Lightning checkpoints carry non-tensor state, so this reads with
    ``weights_only=False``: only use checkpoints you trust (your own runs).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{key}={str(path)!r} does not exist")
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(ckpt, Mapping) or not isinstance(ckpt.get("state_dict"), Mapping):
        raise ValueError(f"{key}={str(path)!r} is not an ocrtop checkpoint (no 'state_dict')")
    load_exactly(model, ckpt["state_dict"], key, path)
