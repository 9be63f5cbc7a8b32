"""Nothing half-written: a failed checkpoint or summary write keeps the previous good file."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from pytorch_lightning.plugins.io import TorchCheckpointIO

from ocrtop.ocr.lightning import atomic
from ocrtop.ocr.lightning.atomic import AtomicCheckpointIO
from ocrtop.ocr.lightning.summary import write_run_summary


def _full_disk_move(src: str, dst: str, *args: Any, **kwargs: Any) -> None:
    """The move that commits Lightning's write (a copy from the system temp dir when the run
    dir is on another filesystem) on a disk that fills up halfway through the file."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: len(data) // 2])
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("io_class", [TorchCheckpointIO, AtomicCheckpointIO])
def test_a_failed_checkpoint_save_keeps_the_previous_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, io_class: type
) -> None:
    path = tmp_path / "checkpoints" / "last.ckpt"
    io = io_class()
    io.save_checkpoint({"global_step": 1, "w": torch.ones(3)}, path)
    good = path.read_bytes()
    monkeypatch.setattr("fsspec.implementations.local.shutil.move", _full_disk_move)
    with pytest.raises(OSError, match="No space left"):
        io.save_checkpoint({"global_step": 2, "w": torch.zeros(1000)}, path)
    monkeypatch.undo()
    if io_class is TorchCheckpointIO:  # the fault as Lightning leaves it: half a file
        assert path.read_bytes() != good
        return
    assert path.read_bytes() == good  # ours: the old checkpoint, whole
    assert torch.load(path, weights_only=False)["global_step"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.ckpt"]  # no temp file


def test_a_checkpoint_is_never_visible_under_its_name_half_written(tmp_path: Path) -> None:
    path = tmp_path / "a.ckpt"
    seen: list[bool] = []
    real = atomic.os.replace

    def spy(src: Any, dst: Any) -> None:
        seen.append(Path(dst).exists())  # the final name does not exist before the rename
        real(src, dst)

    atomic.os.replace = spy  # type: ignore[assignment]
    try:
        AtomicCheckpointIO().save_checkpoint({"x": 1}, path)
    finally:
        atomic.os.replace = real  # type: ignore[assignment]
    assert seen == [False] and torch.load(path, weights_only=False) == {"x": 1}


def test_a_failed_summary_write_keeps_the_previous_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_run_summary(tmp_path, {"status": "done", "exit_code": 0})
    real = Path.write_text

    def full(self: Path, text: str, *args: Any, **kwargs: Any) -> int:
        real(self, text[:5], *args, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError):
        write_run_summary(tmp_path, {"status": "failed", "exit_code": 1})
    monkeypatch.undo()
    assert json.loads((tmp_path / "run_summary.json").read_text())["status"] == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["run_summary.json"]
