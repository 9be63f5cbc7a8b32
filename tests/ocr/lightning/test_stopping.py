"""Stop at any time: at a step boundary, with a checkpoint, in the first epoch too."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from pytorch_lightning.demos.boring_classes import BoringModel, RandomDataset
from torch.utils.data import DataLoader

from ocrtop.bridge import exitcodes
from ocrtop.ocr.callbacks.link.commands import stop_handler
from ocrtop.ocr.failures import StopEscalated, StopRequested, final_status
from ocrtop.ocr.lightning.datamodule import worker_init
from ocrtop.ocr.lightning.stopping import GracefulStop, StopController


class StopAt(pl.Callback):
    """Asks for a stop (as the bridge's command would) once ``step`` steps are done."""

    def __init__(self, stopper: GracefulStop, step: int) -> None:
        self.stopper, self.step = stopper, step

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        if trainer.global_step == self.step:
            self.stopper.request_stop("test stop")


def test_a_stop_in_the_first_epoch_ends_at_the_step_with_a_checkpoint(tmp_path: Path) -> None:
    stopper = GracefulStop(StopController(timeout_s=0))
    trainer = pl.Trainer(
        accelerator="cpu",
        max_epochs=3,
        min_epochs=2,  # Lightning refuses `should_stop` before this: ours must not care
        default_root_dir=str(tmp_path),
        callbacks=[stopper, StopAt(stopper, 3)],
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
    )
    data = DataLoader(
        RandomDataset(32, 64),
        batch_size=2,
        num_workers=1,
        persistent_workers=True,
        worker_init_fn=worker_init,
    )
    with pytest.raises(StopRequested) as info:
        trainer.fit(BoringModel(), train_dataloaders=data)
    assert trainer.global_step == 4  # the step in flight when asked finished, no more
    assert trainer.current_epoch == 0
    assert info.value.exit_code == exitcodes.STOPPED
    assert final_status(info.value)["checkpoint"] == stopper.checkpoint
    saved = torch.load(stopper.checkpoint, map_location="cpu", weights_only=False)
    assert saved["global_step"] == 4
    time.sleep(0.5)
    assert multiprocessing.active_children() == []  # persistent workers were shut down


def test_the_stop_command_uses_the_graceful_stop_when_there_is_one() -> None:
    stopper = GracefulStop(StopController(timeout_s=0))
    trainer = SimpleNamespace(callbacks=[stopper], global_step=7, should_stop=False)
    result = stop_handler(trainer, SimpleNamespace(args={"mode": "graceful"}))  # type: ignore[arg-type]
    assert result["step"] == 7 and not trainer.should_stop
    assert stopper.controller.reason == "stop command"
    assert stopper.controller.exit_code == exitcodes.STOPPED


def test_a_second_sigint_escalates_at_once() -> None:
    controller = StopController(timeout_s=0)
    with pytest.raises(StopEscalated) as info, controller.installed():
        os.kill(os.getpid(), signal.SIGINT)
        assert controller.reason == "SIGINT" and controller.exit_code == 130
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # never reached: the handler raises
    assert info.value.exit_code == 130 and "second stop request" in info.value.reason
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_a_stop_that_does_not_finish_in_time_escalates() -> None:
    controller = StopController(timeout_s=0.3)
    start = time.monotonic()
    with pytest.raises(StopEscalated) as info, controller.installed():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # a hung step
    assert 0.25 < time.monotonic() - start < 3
    assert info.value.exit_code == 143 and "did not finish within" in str(controller.escalated)


def test_a_relayed_ctrl_c_ends_the_run_as_sigint_would() -> None:
    stopper = GracefulStop(StopController(timeout_s=0))
    trainer = SimpleNamespace(callbacks=[stopper], global_step=1, should_stop=False)
    stop_handler(trainer, SimpleNamespace(args={"mode": "graceful", "signal": "SIGINT"}))  # type: ignore[arg-type]
    assert stopper.controller.exit_code == 130
