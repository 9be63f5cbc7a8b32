"""No host synchronisation per training step in our code (module, loss, callbacks).

On a GPU, reading a device value on the host (``.item()``, ``float(t)``, ``.cpu()``,
``.tolist()``, ``torch.cuda.synchronize()``...) stalls the CPU until the GPU has finished
everything queued, so the next kernels are not queued in time. The test runs our real
training path on the CPU (no GPU is needed: these calls are the same calls there) with
every monitor on, and counts those calls, attributed to the innermost frame outside
torch: ours (``ocr/``, ``bridge/``, ``ocrtop/``) or Lightning's.

What counts as "per step": a call while a training batch is in flight (from
``on_train_batch_start`` to ``on_train_batch_end``, the hooks included) after two warm-up
steps. Syncs at a cadence are allowed and kept out of the window: Lightning's logging
(``log_every_n_steps``, set beyond the run here) and the alerts' 1 Hz evaluation
(``eval_interval_s``, likewise). The loss's OHEM takes its device path (``sync_free``),
as on a GPU: its CPU path reads ``k`` with ``.item()``, which costs nothing on a CPU.

Found with this counter and left to configuration: Lightning's progress bar reads every
``prog_bar`` value (our loss) each step, so ``trainer=gpu*`` turns the bar off (the
dashboard shows progress); torch's AdamW reads its ``step`` counters, CPU tensors, not a
device sync. Lightning's own calls are attributed to Lightning and not asserted on.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path
from typing import Any

import pytest
import pytorch_lightning as pl
import torch

from ocrtop.ocr.lightning.train import build
from ocrtop.ocr.losses import ohem

ROOT = Path(__file__).resolve().parents[3]
OURS = tuple(str(ROOT / d) for d in ("ocr", "bridge", "ocrtop", "runners"))
TORCH = str(Path(torch.__file__).parent)
READS = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__index__")
WARMUP = 2


class Counter(pl.Callback):
    """Marks the step in flight; first in the list, so its window holds every other hook."""

    def __init__(self) -> None:
        self.step: int | None = None
        self.calls: collections.Counter[tuple[str, int, str]] = collections.Counter()
        self.steps = 0

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, idx: int) -> None:
        self.step = idx

    def on_train_batch_end(self, *args: Any) -> None:
        self.steps += 1

    def record(self, what: str) -> None:
        if self.step is None or self.step < WARMUP:
            return
        frame = sys._getframe(2)
        while frame is not None and frame.f_code.co_filename.startswith(TORCH):
            frame = frame.f_back
        where = frame.f_code.co_filename if frame is not None else "?"
        owner = "ours" if where.startswith(OURS) else "other"
        site = f"{Path(where).name}:{frame.f_lineno if frame else 0}"
        self.calls[(owner, self.step, f"{what} at {site}")] += 1

    def ours(self) -> list[tuple[str, int, str]]:
        return [k for k in self.calls if k[0] == "ours"]


class EndStep(pl.Callback):
    """Last in the list: the window closes after every other callback's batch-end hook."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter

    def on_train_batch_end(self, *args: Any) -> None:
        self.counter.step = None


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter:
    counter = Counter()
    for name in READS:
        original = getattr(torch.Tensor, name)

        def read(self: Any, *a: Any, _o: Any = original, _n: str = name, **k: Any) -> Any:
            counter.record(f"Tensor.{_n}")
            return _o(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, read)
    for name in ("synchronize", "current_stream"):
        original = getattr(torch.cuda, name)

        def sync(*a: Any, _o: Any = original, _n: str = name, **k: Any) -> Any:
            counter.record(f"torch.cuda.{_n}")
            return _o(*a, **k)

        monkeypatch.setattr(torch.cuda, name, sync)
    monkeypatch.setattr(ohem, "sync_free", lambda t: True)
    return counter


def fit_counted(tiny_cfg: Any, counter: Counter, *overrides: str) -> None:
    cfg = tiny_cfg(
        "data.train.source.num=16",
        "trainer.log_every_n_steps=1000",
        "callbacks.alerts.eval_interval_s=1e9",
        "callbacks.throughput_monitor.publish_max_hz=null",  # every step: the worst case
        "callbacks.bridge.publish_max_hz=null",
        "test_after_fit=false",
        *overrides,
    )
    datamodule, model, trainer = build(cfg)
    trainer.callbacks.insert(0, counter)
    trainer.callbacks.append(EndStep(counter))
    trainer.fit(model, datamodule=datamodule)


@pytest.mark.slow
def test_no_host_sync_per_step_in_our_code(tiny_cfg: Any, counted: Counter) -> None:
    fit_counted(tiny_cfg, counted)
    assert counted.steps == 8
    assert counted.ours() == [], "\n".join(map(str, counted.ours()))


@pytest.mark.slow
def test_the_counter_sees_a_per_step_read(tiny_cfg: Any, counted: Counter) -> None:
    """The same run, with the loss's CPU path (``int(k.max().item())`` every step)."""
    ohem.sync_free = lambda t: False  # type: ignore[assignment]  # monkeypatch undoes it
    fit_counted(tiny_cfg, counted)
    steps = {step for owner, step, site in counted.ours() if "ohem.py" in site}
    assert steps == set(range(WARMUP, counted.steps))
