"""The LightningDataModule: splits, loaders and the architecture's target builder.

The data config (``configs/data/*.yaml``) describes each split as a Dataset *factory*
(``_partial_: true``); the architecture config picks the target builder (DB or CRAFT
targets). This module joins the two, so one data config serves every architecture.
Datasets are built lazily in :meth:`setup`, so ``runners/test.py`` never reads the train split.
"""

from __future__ import annotations

import functools
import os
import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset

from ocrtop.ocr.data.collate import collate_batch

DatasetFactory = Callable[..., Dataset]
"""Called as ``factory(targets=builder)``; returns a Dataset of sample dicts."""


class DetectionDataModule(pl.LightningDataModule):
    """Train/val/test loaders over the configured datasets.

    Args:
        train: factory of the training Dataset (augmenting transform).
        val: factory of the validation Dataset (deterministic transform).
        test: factory of the test Dataset; None reuses ``val``.
        targets: the target builder (``DBTargets`` or ``CraftTargets``) every split gets,
            so ``val/loss`` is computable.
        batch_size: training batch size.
        eval_batch_size: val/test batch size; None uses ``batch_size``.
        num_workers: DataLoader worker processes (targets are built there).
        pin_memory: page-locked batches, so the host-to-device copy (which Lightning
            issues with ``non_blocking=True``) overlaps compute; ``"auto"`` pins exactly
            when the trainer runs on a CUDA device (pinning costs CPU time and RAM on a
            CPU-only run and buys nothing there).
        persistent_workers: keep workers alive between epochs (with ``num_workers > 0``).
        root: dataset directory when the splits read files; checked up front so that a
            wrong path fails before any model is built, with the config key in the message.
        on_error: what the canonical sources do with invalid entries (``data.on_error``):
            ``fail`` refuses the dataset (exit 2), ``skip`` trains on the valid rest and
            :meth:`skipped_summaries` says what was left out. The sources read it through
            ``${data.on_error}``; it is a parameter here so the key is checked and documented.
        default_root: the project's default dataset folder (``data/canonical``);
            :func:`ocrtop.ocr.lightning.train.train` builds it before the datamodule exists when it
            is missing (``ocr/data/embedded.py``). Unused here.
        rank_sleep_ms: debugging aid, ``{rank: ms}``: training samples of those DDP ranks
            take that much longer to load (``+data.rank_sleep_ms={1:50}`` rehearses a
            straggler; the DDP test uses it). Empty by default.
    """

    def __init__(
        self,
        train: DatasetFactory,
        val: DatasetFactory,
        targets: Any,
        test: DatasetFactory | None = None,
        batch_size: int = 8,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        pin_memory: bool | str = "auto",
        persistent_workers: bool = False,
        root: str | None = None,
        on_error: str = "fail",
        default_root: str | None = None,
        rank_sleep_ms: Mapping[int | str, float] | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"data.batch_size must be >= 1, got {batch_size}")
        if not isinstance(pin_memory, bool) and pin_memory != "auto":
            raise ValueError(f"data.pin_memory must be true, false or auto, got {pin_memory!r}")
        if num_workers < 0:
            raise ValueError(f"data.num_workers must be >= 0, got {num_workers}")
        if root is not None and not Path(root).is_dir():
            raise FileNotFoundError(
                f"dataset path {str(root)!r} (data.root) does not exist or is not a folder; "
                f"create one with `ocrtop data synth --out {root} --num 200` or point "
                f"data.root at your dataset"
            )
        self.factories = {"train": train, "val": val, "test": test or val}
        self.targets = targets
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size or batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.persistent_workers = persistent_workers and num_workers > 0
        if on_error not in ("fail", "skip"):
            raise ValueError(f"data.on_error must be 'fail' or 'skip', got {on_error!r}")
        self.root = root
        self.on_error = on_error
        self.rank_sleep_ms = {int(k): float(v) for k, v in (rank_sleep_ms or {}).items()}
        self.datasets: dict[str, Dataset] = {}

    def _dataset(self, split: str) -> Dataset:
        if split not in self.datasets:
            self.datasets[split] = self.factories[split](targets=self.targets)
        return self.datasets[split]

    def setup(self, stage: str | None = None) -> None:
        """Build the datasets the stage needs (``fit`` needs train and val)."""
        needed = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",)}
        for split in needed.get(stage or "", ("train", "val", "test")):
            self._dataset(split)

    def skipped_summaries(self) -> dict[str, str]:
        """``{split: summary}`` of the splits whose source left invalid entries out."""
        out = {}
        for split, dataset in self.datasets.items():
            report = getattr(getattr(dataset, "source", None), "report", None)
            if report is not None and not report.ok:
                out[split] = report.skipped_text()
        return out

    def _loader(self, split: str, shuffle: bool, batch_size: int) -> DataLoader:
        dataset = self._dataset(split)
        rank = self.trainer.global_rank if self.trainer is not None else 0
        if split == "train" and self.rank_sleep_ms.get(rank):
            dataset = _SlowLoad(dataset, self.rank_sleep_ms[rank] / 1e3)
        return DataLoader(
            dataset,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            pin_memory=self._pin(),
            persistent_workers=self.persistent_workers,
            collate_fn=collate_batch,
            worker_init_fn=functools.partial(worker_init, rank=rank) if self.num_workers else None,
            drop_last=shuffle and len(dataset) > batch_size,  # type: ignore[arg-type]
        )

    def _pin(self) -> bool:
        if self.pin_memory != "auto":
            return bool(self.pin_memory)
        strategy = getattr(self.trainer, "strategy", None) if self.trainer is not None else None
        device = getattr(strategy, "root_device", None)
        return getattr(device, "type", "cpu") == "cuda"

    def train_dataloader(self) -> DataLoader:
        """Shuffled training batches; the last partial batch is dropped (BatchNorm)."""
        return self._loader("train", shuffle=True, batch_size=self.batch_size)

    def val_dataloader(self) -> DataLoader:
        """Validation batches in file order."""
        return self._loader("val", shuffle=False, batch_size=self.eval_batch_size)

    def test_dataloader(self) -> DataLoader:
        """Test batches in file order."""
        return self._loader("test", shuffle=False, batch_size=self.eval_batch_size)


def worker_init(worker_id: int, rank: int = 0) -> None:
    """DataLoader workers ignore SIGINT and SIGTERM: the main process stops them.

    A Ctrl-C reaches the terminal's whole process group and ``ocrtop``'s stop signals the
    trainer's group: a worker that died of it would make the main process fail with
    "DataLoader worker exited unexpectedly" before it could stop cleanly. The main process
    shuts its workers down itself (and workers exit when it dies). Setting this function
    replaces Lightning's seeding hook, so it is called here when seeding is on.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if int(os.environ.get("PL_SEED_WORKERS", 0)):
        from lightning_fabric.utilities.seed import pl_worker_init_function

        pl_worker_init_function(worker_id, rank=rank)


class _SlowLoad(Dataset):
    """A dataset whose items take ``delay_s`` longer: a deliberate straggler (``rank_sleep_ms``)."""

    def __init__(self, inner: Dataset, delay_s: float) -> None:
        self.inner, self.delay_s = inner, delay_s
        self.cache_nbytes = getattr(inner, "cache_nbytes", 0)

    def __len__(self) -> int:
        return len(self.inner)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> Any:
        time.sleep(self.delay_s)
        return self.inner[index]
