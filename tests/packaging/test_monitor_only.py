"""The monitor needs none of the OCR trainer's stack: a user's Lightning script, with
timm, OpenCV, pyclipper, shapely, Hydra and pypdfium2 unimportable, trains under
``ocrtop.callbacks()`` and the monitor records its run."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers.blocked_imports import OCR_STACK_MODULES, run_blocked

ROOT = Path(__file__).resolve().parents[2]

USER_SCRIPT = """
import sys
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

import ocrtop


class Tiny(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(8, 1)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


run_dir = sys.argv[1]
data = TensorDataset(torch.randn(64, 8), torch.randn(64, 1))
trainer = pl.Trainer(
    max_epochs=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
    enable_model_summary=False, log_every_n_steps=1, default_root_dir=run_dir,
    callbacks=ocrtop.callbacks(run_dir=run_dir, bridge={"linger_s": 0}),
)
trainer.fit(Tiny(), DataLoader(data, batch_size=8))

import json, pathlib
files = {n: getattr(m, "__file__", None) for n, m in list(sys.modules.items())}
pathlib.Path(run_dir, "modules.json").write_text(json.dumps(files))
"""


def run_user_script(tmp_path: Path, pythonpath: str) -> Path:
    """Run USER_SCRIPT from ``tmp_path`` with the OCR stack blocked; returns its run dir."""
    run_dir = tmp_path / "run"
    code = f"import sys\nsys.argv = ['my_train.py', {str(run_dir)!r}]\n" + USER_SCRIPT
    env = {**os.environ, "PYTHONPATH": pythonpath, "OMP_NUM_THREADS": "1"}
    out = run_blocked(code, OCR_STACK_MODULES, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    return run_dir


def loaded_modules(run_dir: Path) -> dict[str, str | None]:
    """``{module name: its file}`` of every module the user's script had loaded at the end."""
    return json.loads((run_dir / "modules.json").read_text())


def assert_monitored(run_dir: Path) -> None:
    """The bridge, throughput and resource monitors all recorded the run."""
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    statuses = [e["payload"]["status"] for e in events if e["type"] == "status"]
    assert statuses[0] == "setup" and statuses[-1] == "done"
    values: dict[str, float] = {}
    for e in events:
        if e["type"] == "metrics":
            values.update(e["payload"]["values"])
    assert values["train/loss"] > 0 and values["perf/samples_per_second"] > 0
    (csv,) = (run_dir / "resource_logs").glob("resources_*.csv")
    assert "sys/cpu_percent" in csv.read_text().splitlines()[0]


def test_a_lightning_script_is_monitored_without_the_ocr_stack(tmp_path: Path) -> None:
    run_dir = run_user_script(tmp_path, str(ROOT))
    assert_monitored(run_dir)
    assert not set(loaded_modules(run_dir)) & set(OCR_STACK_MODULES)
