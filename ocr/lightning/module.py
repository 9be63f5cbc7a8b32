"""The one LightningModule for every architecture.

DBNet, DBNet++ and CRAFT differ only in the modules Hydra passes in (detector, loss,
post-processor); the steps here never ask which architecture they run. That is what lets a
sweep compare the three on the same ``val/hmean``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.timing.step_clock import StepClock
from ocrtop.ocr.data.sample import normalize_images
from ocrtop.ocr.lightning.predictions import write_predictions
from ocrtop.ocr.metrics import CLEvalMetric, DetectionMetric
from ocrtop.ocr.types import DetectionOutput, Prediction

PostProcess = Callable[[DetectionOutput, list[dict]], list[list[Prediction]]]
OptimizerFactory = Callable[[Iterable[nn.Parameter]], torch.optim.Optimizer]
SchedulerFactory = Callable[[torch.optim.Optimizer], Any]


class DetectionModule(pl.LightningModule):
    """Train, validate and test a text detector with one loss, post-processor and metric.

    Args:
        net: the detector, ``forward(images) -> DetectionOutput``.
        loss: ``loss(output, batch) -> {"loss": total, "loss_<part>": ...}``.
        postprocess: maps to polygons in original image coordinates.
        optimizer: a ``functools.partial`` of an optimizer class (Hydra ``_partial_``);
            partial because the parameters exist only once the net is built.
        scheduler: a partial of an LR scheduler, or None for a constant learning rate.
        scheduler_interval: ``"epoch"`` or ``"step"``: when the scheduler steps.
        arch: architecture name, kept for reference only: summaries, run names and the
            bridge read ``model.arch`` from the config, so the steps never depend on it.
        iou_threshold: a detection matches a ground-truth word when IoU is above it.
        match_rule: ``"icdar2015"`` (the official ICDAR 2015 matching) or ``"max_iou"``.
        predictions_dir: where the test split's predictions are written as canonical JSON
            (with scores); None writes nothing.
        channels_last: keep the detector's weights and input images in NHWC memory order
            (GPU: cuDNN's tensor-core convolutions under AMP prefer it); same numbers.
        compile: ``torch.compile`` the detector in place (``nn.Module.compile``, so
            checkpoint keys do not change): False (default), True, or a dict of
            ``torch.compile`` options (``{mode: max-autotune}``). The first steps compile.
    """

    def __init__(
        self,
        net: nn.Module,
        loss: nn.Module,
        postprocess: PostProcess,
        optimizer: OptimizerFactory,
        scheduler: SchedulerFactory | None = None,
        scheduler_interval: str = "epoch",
        arch: str = "detector",
        iou_threshold: float = 0.5,
        match_rule: str = "icdar2015",
        predictions_dir: str | None = None,
        channels_last: bool = False,
        compile: bool | Mapping[str, Any] = False,
    ) -> None:
        super().__init__()
        if not isinstance(compile, bool | Mapping):
            raise TypeError(f"model.compile must be true, false or a dict, got {compile!r}")
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(
                f"model.scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}"
            )
        self.net = net
        self.loss = loss
        self.postprocess = postprocess
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.scheduler_interval = scheduler_interval
        self.arch = arch
        self.predictions_dir = predictions_dir
        self.val_metric = DetectionMetric(iou_threshold=iou_threshold, match_rule=match_rule)
        self.test_metric = DetectionMetric(iou_threshold=iou_threshold, match_rule=match_rule)
        self.val_cleval = CLEvalMetric()
        self.test_cleval = CLEvalMetric()
        self.best_val_hmean: float | None = None
        self.train_samples = 0
        self._clock: StepClock | None = None
        self._test_predictions: dict[str, list[Prediction]] = {}
        self.channels_last = channels_last
        self.compile_options = (
            dict(compile) if isinstance(compile, Mapping) else ({} if compile else None)
        )
        self._compiled = False

    def configure_model(self) -> None:
        """Memory format and compilation, once, before Lightning moves the module to its
        device (``.to(device)`` keeps the memory format) and builds the optimizer."""
        if self.channels_last:
            self.net.to(memory_format=torch.channels_last)
        if self.compile_options is not None and not self._compiled:
            self.net.compile(**self.compile_options)
            self._compiled = True

    def _images(self, batch: dict[str, Any]) -> torch.Tensor:
        """The model input step: the batch's uint8 ``(N, H, W, 3)`` pages, on the device
        already, normalised to float32 ``(N, 3, H, W)`` (NHWC in memory for an NHWC net).

        Normalising here rather than in the DataLoader workers lets them ship a quarter
        of the bytes (``ocr/data/sample.py``); on a GPU it is a few elementwise kernels.
        """
        images = normalize_images(batch["image"], channels_last=self.channels_last)
        if self.channels_last:  # a float batch built by hand comes NCHW
            images = images.contiguous(memory_format=torch.channels_last)
        return images

    def forward(self, images: torch.Tensor) -> DetectionOutput:
        """Run the detector on a batch: uint8 ``(N, H, W, 3)`` pages as the Dataset
        yields them, or float32 ``(N, 3, H, W)`` already normalised."""
        return self.net(self._images({"image": images}))

    # --- training -------------------------------------------------------------------------

    def setup(self, stage: str) -> None:
        """Time training with the trainer's step clock (shared with the monitors)."""
        if stage == "fit":
            self._clock = StepClock.of(self.trainer)

    def training_step(self, batch: dict[str, Any], batch_idx: int) -> torch.Tensor:
        """One optimisation step; logs the total loss, its parts and the learning rate."""
        output = self.net(self._images(batch))
        losses = self.loss(output, batch)
        size = int(batch["batch_size"])
        for key, value in losses.items():
            name = names.TRAIN_LOSS if key == "loss" else f"train/{key}"
            self.log(
                name,
                value.detach(),
                on_step=True,
                on_epoch=False,
                batch_size=size,
                prog_bar=key == "loss",
            )
        # A CPU tensor: Lightning would turn a float into a tensor on the module's device,
        # a blocking host-to-device copy (a stream sync) every step.
        lr = torch.tensor(self._current_lr())
        self.log(names.LR, lr, on_step=True, on_epoch=False, batch_size=size)
        self.train_samples += size
        return losses["loss"]

    @property
    def train_seconds(self) -> float:
        """Wall seconds of the training steps the step clock closed: each step from its
        fetch to the next fetch, so data loading counts and validation does not."""
        return self._clock.seconds if self._clock is not None else 0.0

    @property
    def train_samples_per_second(self) -> float | None:
        """Training samples per second of training wall time, data loading included."""
        if self.train_seconds <= 0:
            return None
        return self.train_samples / self.train_seconds

    def _current_lr(self) -> float:
        optimizer = self.optimizers()
        if isinstance(optimizer, list):  # pragma: no cover - one optimizer is configured
            optimizer = optimizer[0]
        return float(optimizer.param_groups[0]["lr"])

    # --- validation and test --------------------------------------------------------------

    def validation_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        """Loss on the val targets, then post-process and update the detection metric."""
        output = self.net(self._images(batch))
        size = int(batch["batch_size"])
        losses = self.loss(output, batch)
        # sync_dist: under DDP each rank sees a shard; the epoch mean must cover all of them.
        # Lightning syncs an on_epoch-only value once, at the epoch end, not per batch.
        self.log(
            names.VAL_LOSS,
            losses["loss"],
            on_step=False,
            on_epoch=True,
            batch_size=size,
            sync_dist=True,
        )
        preds = self.postprocess(output, batch["meta"])
        self.val_metric.update(preds, batch["polygons"], batch["ignore"])
        self.val_cleval.update(preds, batch["polygons"], batch["ignore"], batch.get("texts"))

    def on_validation_epoch_end(self) -> None:
        """Log ICDAR and CLEval precision, recall and hmean over the split (global counts)."""
        scores = self.val_metric.compute()
        self.val_metric.reset()
        self.log(names.VAL_PRECISION, float(scores["precision"]), sync_dist=True)
        self.log(names.VAL_RECALL, float(scores["recall"]), sync_dist=True)
        self.log(names.VAL_HMEAN, float(scores["hmean"]), sync_dist=True, prog_bar=True)
        self._log_cleval(
            self.val_cleval,
            (names.VAL_CLEVAL_PRECISION, names.VAL_CLEVAL_RECALL, names.VAL_CLEVAL_HMEAN),
        )
        if not self.trainer.sanity_checking:
            hmean = float(scores["hmean"])
            if self.best_val_hmean is None or hmean > self.best_val_hmean:
                self.best_val_hmean = hmean

    def on_test_epoch_start(self) -> None:
        """Forget predictions of an earlier test run of the same module."""
        self._test_predictions = {}

    def test_step(self, batch: dict[str, Any], batch_idx: int) -> None:
        """Post-process, score, and keep the predictions for the JSON file."""
        output = self.net(self._images(batch))
        preds = self.postprocess(output, batch["meta"])
        self.test_metric.update(preds, batch["polygons"], batch["ignore"])
        self.test_cleval.update(preds, batch["polygons"], batch["ignore"], batch.get("texts"))
        for meta, image_preds in zip(batch["meta"], preds, strict=True):
            self._test_predictions[str(meta["filename"])] = image_preds

    def on_test_epoch_end(self) -> None:
        """Log test scores and write the predictions next to the run's other outputs."""
        scores = self.test_metric.compute()
        self.test_metric.reset()
        self.log(names.TEST_PRECISION, float(scores["precision"]), sync_dist=True)
        self.log(names.TEST_RECALL, float(scores["recall"]), sync_dist=True)
        self.log(names.TEST_HMEAN, float(scores["hmean"]), sync_dist=True)
        self._log_cleval(
            self.test_cleval,
            (names.TEST_CLEVAL_PRECISION, names.TEST_CLEVAL_RECALL, names.TEST_CLEVAL_HMEAN),
        )
        if self.predictions_dir is not None:
            suffix = "" if self.trainer.world_size == 1 else f"_rank{self.global_rank}"
            path = Path(self.predictions_dir) / f"test_predictions{suffix}.json"
            write_predictions(self._test_predictions, path)

    def _log_cleval(self, metric: CLEvalMetric, keys: tuple[str, str, str]) -> None:
        """Log CLEval's precision, recall and hmean under ``keys``, then reset it."""
        scores = metric.compute()
        metric.reset()
        for key, name in zip(("precision", "recall", "hmean"), keys, strict=True):
            self.log(name, float(scores[key]), sync_dist=True)

    # --- optimisation ---------------------------------------------------------------------

    def _run_length(self, factory: SchedulerFactory) -> dict[str, int]:
        """``{"total_steps": N}`` when the schedule declares a required ``total_steps``.

        Only the trainer knows the run's length (dataset size x epochs, or max_steps), so
        schedules such as :func:`ocrtop.ocr.lightning.schedulers.poly_with_warmup` get it here.
        """
        param = inspect.signature(factory).parameters.get("total_steps")
        if param is None or param.default is not inspect.Parameter.empty:
            return {}
        steps = float(self.trainer.estimated_stepping_batches)
        if not math.isfinite(steps):
            raise ValueError(
                "model.scheduler needs the run length, but the trainer has no finite step "
                "budget: set trainer.max_epochs or trainer.max_steps (trainer.max_time alone "
                "is not enough), or use model/scheduler=constant"
            )
        return {"total_steps": max(int(steps), 1)}

    def configure_optimizers(self) -> Any:
        """Build the optimizer (and scheduler) from the partials Hydra passed in."""
        optimizer = self.optimizer_factory(self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        scheduler = self.scheduler_factory(optimizer, **self._run_length(self.scheduler_factory))
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": scheduler,
                "interval": self.scheduler_interval,
                "monitor": names.VAL_HMEAN,
                "name": names.LR,
            },
        }
