"""A user's own Lightning script (not ocrtop's) and the commands the e2e tests run on it.

The script knows nothing of ocrtop unless run with ``--form import``. Its collate sleeps
a known time per batch (``--sleep-ms``): the reference for the data wait the monitor must
report and the ceiling of its samples/s. Batches come as tuples, dicts or dataclasses
(``--batch``); the training step returns its loss without logging it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

USER_SCRIPT = '''
"""my_train.py: somebody's Lightning script; it knows nothing of ocrtop (but --form import)."""
import argparse, dataclasses, time
import torch
from torch.utils.data import DataLoader, Dataset

p = argparse.ArgumentParser()
p.add_argument("--form", default="auto")
p.add_argument("--ns", default="pl")
p.add_argument("--batch", default="tuple")
p.add_argument("--steps", type=int, default=100)
p.add_argument("--sleep-ms", type=float, default=20.0)
p.add_argument("--root", required=True)
args = p.parse_args()
if args.ns == "lightning":
    import lightning.pytorch as pl
else:
    import pytorch_lightning as pl
torch.set_num_threads(1)


@dataclasses.dataclass
class Pair:
    x: torch.Tensor
    y: torch.Tensor


class Points(Dataset):
    def __init__(self, n):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 16, generator=g)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def collate_as(kind, sleep_ms):
    def collate(items):
        time.sleep(sleep_ms / 1e3)  # a slow loader: the data wait the monitor must see
        x = torch.stack([a for a, _ in items])
        y = torch.stack([b for _, b in items])
        return {"tuple": (x, y), "dict": {"x": x, "y": y}, "dataclass": Pair(x, y)}[kind]
    return collate


def unpack(batch):
    if isinstance(batch, dict):
        return batch["x"], batch["y"]
    if isinstance(batch, Pair):
        return batch.x, batch.y
    return batch


class Model(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(16, 1)

    def training_step(self, batch, batch_idx):
        x, y = unpack(batch)
        return torch.nn.functional.mse_loss(self.net(x), y)  # returned, never logged

    def validation_step(self, batch, batch_idx):
        x, y = unpack(batch)
        self.log("val_mae", (self.net(x) - y).abs().mean())

    def test_step(self, batch, batch_idx):
        x, y = unpack(batch)
        self.log("test_mae", (self.net(x) - y).abs().mean())

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def loader(n, kind, sleep_ms):
    return DataLoader(Points(n), batch_size=8, collate_fn=collate_as(kind, sleep_ms))


callbacks = []
if args.form == "import":
    import ocrtop
    callbacks = ocrtop.callbacks(resource_monitor={"interval_s": 0.5}, alerts={"sustain_s": 2.0})
trainer = pl.Trainer(
    max_epochs=1, limit_val_batches=2, log_every_n_steps=10, callbacks=callbacks,
    logger=False, enable_checkpointing=False, enable_progress_bar=False,
    enable_model_summary=False, accelerator="cpu", default_root_dir=args.root,
)
model = Model()
start = time.perf_counter()
trainer.fit(model, loader(8 * args.steps, args.batch, args.sleep_ms),
            loader(16, "dataclass", 0.0))
wall = time.perf_counter() - start
trainer.test(model, loader(16, "dataclass", 0.0), verbose=False)
with open(f"{args.root}/wall_samples_per_s.txt", "w") as f:
    f.write(f"{8 * args.steps / wall:.3f}")
'''


def ocrtop(*argv: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ocrtop", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_for_job(root: Path, env: dict[str, str], proc: subprocess.Popen | None) -> str:
    """The job id that ``ocrtop ps`` lists for the run dir ``root``."""
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        assert proc is None or proc.poll() is None, proc.communicate()[0][-3000:]
        listed = json.loads(ocrtop("ps", "--json", env=env).stdout or "[]")
        mine = [j["job_id"] for j in listed if Path(j["run_dir"]) == root]
        if mine:
            return mine[0]
        time.sleep(0.3)
    raise AssertionError("the user's job never appeared in `ocrtop ps`")
