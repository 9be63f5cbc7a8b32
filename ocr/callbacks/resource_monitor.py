"""ResourceMonitorCallback: what the machine is doing while the model trains.

A background thread samples CPU (total, per core, iowait), system memory, the process
tree's memory (summed PSS and the workers' USS; summed RSS as a diagnostic), process-tree
disk rates and, through NVML, every visible GPU, at about 1 Hz.
Each sample goes to the bridge (from the sampler thread, at full rate) and to a CSV
under ``<run_dir>/resource_logs/``; batch hooks only note the step and, every N steps,
hand the latest sample to the Lightning loggers (which are not thread-safe).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ocrtop.ocr.callbacks.link import publisher_of
from ocrtop.ocr.callbacks.link.emit import Emitter
from ocrtop.ocr.callbacks.options import accepts_renamed, check_every_n_steps, step_cadence
from ocrtop.ocr.callbacks.sampling.nvml import NvmlGpus
from ocrtop.ocr.callbacks.sampling.process_tree import Sample
from ocrtop.ocr.callbacks.sampling.resource_csv import ResourceCsv, resource_columns
from ocrtop.ocr.callbacks.sampling.system import BackgroundSampler, SystemSampler
from ocrtop.ocr.callbacks.trainer_info import stage_name

log = logging.getLogger(__name__)


class ResourceMonitorCallback(Callback):
    """Sample resources on a thread; log, publish and write them as a time series.

    Args:
        interval_s: Seconds between samples.
        every_n_steps: Lightning-logger cadence; None uses ``trainer.log_every_n_steps``.
        run_dir: Run directory for ``resource_logs/``; defaults to the trainer's log dir.
        write_csv: Write the CSV time series.
        gpu: Read GPUs through NVML (off: no NVML call at all).
        pss_interval_s: Seconds between process-tree PSS readings (each costs several
            ms of CPU per process; RSS is read every sample). 0: every sample.
    """

    @accepts_renamed
    def __init__(
        self,
        interval_s: float = 1.0,
        every_n_steps: int | None = None,
        run_dir: str | None = None,
        write_csv: bool = True,
        gpu: bool = True,
        pss_interval_s: float = 10.0,
    ) -> None:
        if interval_s <= 0:
            raise ValueError(f"interval_s must be > 0, got {interval_s}")
        if pss_interval_s < 0:
            raise ValueError(f"pss_interval_s must be >= 0, got {pss_interval_s}")
        self.interval_s = interval_s
        self.every_n_steps = check_every_n_steps(every_n_steps)
        self.run_dir = run_dir
        self.write_csv = write_csv
        self.gpu = gpu
        self.pss_interval_s = pss_interval_s
        self.csv: ResourceCsv | None = None
        self._sampler: BackgroundSampler | None = None
        self._system: SystemSampler | None = None
        self._gpus: NvmlGpus | None = None
        self._trainer: pl.Trainer | None = None
        self._emit = Emitter("resources")
        self._step: int | None = None
        self._epoch: int | None = None

    def latest_values(self) -> Sample:
        """The most recent sample (empty before the first one)."""
        return dict(self._sampler.latest) if self._sampler is not None else {}

    @property
    def gpu_ids(self) -> list[int]:
        """GPUs being sampled (empty without NVML/GPU)."""
        return [i for i, _ in self._gpus.handles] if self._gpus is not None else []

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        """Start sampling once per stage run (a stage after teardown gets a new CSV)."""
        if self._sampler is not None:
            return
        self._trainer = trainer
        self._system = SystemSampler(pss_interval_s=self.pss_interval_s)
        self._gpus = NvmlGpus.open() if self.gpu else None
        listeners = [self._publish]
        if self.write_csv:
            run_dir = self.run_dir or trainer.default_root_dir
            columns = resource_columns(self._system.num_cores, self.gpu_ids)
            try:
                self.csv = ResourceCsv(
                    os.path.join(run_dir, "resource_logs"),
                    columns,
                    trainer.global_rank,
                    stage_name(stage),
                )
                listeners.append(self._write_row)
            except OSError as exc:
                self._emit.failed("create the resource CSV", exc)
        self._sampler = BackgroundSampler(self._sample, self.interval_s, listeners)
        self._sampler.start()

    def _sample(self) -> Sample:
        assert self._system is not None  # set before the thread starts
        values = self._system.sample()
        if self._gpus is not None:
            values.update(self._gpus.read())
        return values

    def _publish(self, t: float, sample: Sample) -> None:
        pub = publisher_of(self._trainer) if self._trainer is not None else None
        self._emit.metrics(pub, sample, step=self._step, epoch=self._epoch)

    def _write_row(self, t: float, sample: Sample) -> None:
        if self.csv is not None:
            self.csv.write(t, self._step, self._epoch, sample)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._step, self._epoch = trainer.global_step, trainer.current_epoch
        every = step_cadence(trainer, self.every_n_steps)
        if (batch_idx + 1) % every == 0 and self._sampler is not None and self._sampler.latest:
            self._emit.log_metrics(trainer, self._sampler.latest, step=trainer.global_step)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._sampler is not None and self._sampler.latest:
            self._emit.log_metrics(trainer, self._sampler.latest, step=trainer.global_step)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.stop()

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop the thread, close the CSV and NVML (idempotent)."""
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None
        if self.csv is not None:
            self.csv.close()
        if self._gpus is not None:
            self._gpus.close()
            self._gpus = None
