"""The datamodule joins split factories with the architecture's target builder."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch.utils.data import Dataset

from ocrtop.ocr.lightning.datamodule import DetectionDataModule


class _Tiny(Dataset):
    def __init__(self, n: int, targets: object) -> None:
        self.n, self.targets = n, targets

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict:
        return {
            "image": torch.zeros(3, 32, 32),
            "polygons": [],
            "ignore": [],
            "meta": {"filename": f"{i}.png"},
            "timing": {"load_ms": 1.0, "transform_ms": 0.0, "target_ms": 0.0},
        }


def _factory(n: int, calls: list[str], name: str):
    def build(targets: object) -> _Tiny:
        calls.append(name)
        return _Tiny(n, targets)

    return build


def test_builds_only_the_splits_a_stage_needs_with_the_targets() -> None:
    calls: list[str] = []
    builder = object()
    dm = DetectionDataModule(
        train=_factory(10, calls, "train"),
        val=_factory(4, calls, "val"),
        test=_factory(3, calls, "test"),
        targets=builder,
        batch_size=4,
    )
    dm.setup("test")
    assert calls == ["test"]
    dm.setup("fit")
    assert calls == ["test", "train", "val"]
    assert dm.datasets["train"].targets is builder  # type: ignore[attr-defined]
    assert len(dm.train_dataloader()) == 2  # 10 samples, batch 4, last partial dropped
    assert len(dm.val_dataloader()) == 1
    batch = next(iter(dm.test_dataloader()))
    assert batch["batch_size"] == 3 and batch["image"].shape == (3, 3, 32, 32)


def test_test_split_defaults_to_val() -> None:
    calls: list[str] = []
    dm = DetectionDataModule(
        train=_factory(2, calls, "train"), val=_factory(2, calls, "val"), targets=None
    )
    dm.setup("test")
    assert calls == ["val"]


def test_missing_root_names_the_path_and_the_key(tmp_path: Path) -> None:
    missing = tmp_path / "ds"
    with pytest.raises(FileNotFoundError, match=r"data\.root") as info:
        DetectionDataModule(
            train=_factory(1, [], "t"), val=_factory(1, [], "v"), targets=None, root=str(missing)
        )
    assert str(missing) in str(info.value)
    assert "ocrtop data synth" in str(info.value)


@pytest.mark.parametrize(("key", "value"), [("batch_size", 0), ("num_workers", -1)])
def test_bad_loader_settings(key: str, value: int) -> None:
    with pytest.raises(ValueError, match=f"data.{key}"):
        DetectionDataModule(
            train=_factory(1, [], "t"), val=_factory(1, [], "v"), targets=None, **{key: value}
        )


@pytest.mark.parametrize(
    ("setting", "device", "pinned"),
    [("auto", "cuda", True), ("auto", "cpu", False), (False, "cuda", False), (True, "cpu", True)],
)
def test_pin_memory_auto_pins_exactly_on_a_cuda_trainer(
    setting: object, device: str, pinned: bool
) -> None:
    from types import SimpleNamespace

    dm = DetectionDataModule(
        train=_factory(4, [], "t"), val=_factory(4, [], "v"), targets=None, pin_memory=setting
    )
    strategy = SimpleNamespace(root_device=torch.device(device))
    dm.trainer = SimpleNamespace(strategy=strategy, global_rank=0)  # type: ignore[assignment]
    dm.setup("fit")
    assert dm.train_dataloader().pin_memory is pinned


def test_pin_memory_rejects_other_words() -> None:
    with pytest.raises(ValueError, match=r"data\.pin_memory must be true, false or auto"):
        DetectionDataModule(
            train=_factory(1, [], "t"), val=_factory(1, [], "v"), targets=None, pin_memory="yes"
        )
