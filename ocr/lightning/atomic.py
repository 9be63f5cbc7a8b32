"""Checkpoints written whole or not at all: a temporary name, then a rename.

Lightning writes a checkpoint straight under its final name; a full disk or a kill
mid-write leaves a truncated ``last.ckpt`` that ``ckpt_path=`` then fails to load, and
the previous good one is already overwritten. Here the bytes go to a hidden temporary
file in the same folder, are fsynced, and replace the old file with one ``rename``
(atomic on POSIX), so a failed write leaves the previous checkpoint untouched and no
temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

from pytorch_lightning.plugins.io import TorchCheckpointIO


def temporary_name(path: Path) -> Path:
    """``dir/.name.tmp-<pid>``: hidden, unique per process, on the same filesystem."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


class AtomicCheckpointIO(TorchCheckpointIO):
    """``TorchCheckpointIO`` that saves local checkpoints atomically (remote URLs as before)."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        """Save to a temporary name in the same folder, fsync, then rename into place."""
        if "://" in str(path):  # fsspec URL: no local rename to rely on
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = temporary_name(path)
        try:
            super().save_checkpoint(checkpoint, tmp, storage_options)
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
