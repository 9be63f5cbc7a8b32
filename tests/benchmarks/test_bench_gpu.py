"""bench_gpu.py without a GPU: one line saying why, exit 0, nothing measured; and, on the
CPU, that the batches it would time on a GPU are training's (uint8 pages and maps, the
module's device-side normalisation, the losses' uint8 map reading)."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_gpu.py"


def test_without_a_gpu_it_says_so_and_exits_cleanly() -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is visible: the benchmark would run for minutes")
    out = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == [
        "bench_gpu: no CUDA GPU visible (torch.cuda.is_available() is False): not run"
    ]


# --- the batches it times follow the real sample contract (docs/contracts.md) -------------

DB_MAPS = {"db_flags", "thresh_map"}  # the three binary maps travel as db_flags bits
DB_READS = {"shrink_map", "shrink_mask", "thresh_map", "thresh_mask"}  # what the loss reads
CRAFT_MAPS = {"region_map", "affinity_map", "craft_mask"}
SIZE, BATCH = 64, 2  # the --dry-run-cpu size


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_gpu_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Spy:
    """What reached the module's input step and the losses' map reader."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import ocrtop.ocr.lightning.module as lightning_module
        import ocrtop.ocr.losses.craft as craft_loss
        import ocrtop.ocr.losses.db as db_loss
        from ocrtop.ocr.data.sample import stored_key

        self.images: list[tuple[Any, tuple[int, ...], Any, tuple[int, ...], bool]] = []
        self.maps: dict[str, Any] = {}
        normalize = lightning_module.normalize_images

        def spy_normalize(images: Any, channels_last: bool = False) -> Any:
            out = normalize(images, channels_last=channels_last)
            nhwc = out.is_contiguous(memory_format=torch.channels_last)
            self.images.append((images.dtype, tuple(images.shape), out.dtype, out.shape, nhwc))
            return out

        for loss in (db_loss, craft_loss):
            reader = loss.target_map

            def spy_map(batch: dict, key: str, like: Any, reader: Any = reader) -> Any:
                self.maps[key] = batch[stored_key(batch, key)].dtype
                return reader(batch, key, like)

            monkeypatch.setattr(loss, "target_map", spy_map)
        monkeypatch.setattr(lightning_module, "normalize_images", spy_normalize)


@pytest.mark.parametrize(
    ("arch", "maps", "side"), [("dbnet", DB_MAPS, SIZE), ("craft", CRAFT_MAPS, SIZE // 2)]
)
def test_its_batches_are_the_training_contract(bench: Any, arch: str, maps: set, side: int) -> None:
    batch = bench.to_device(bench.pinned(bench.contract_batch(arch, BATCH, SIZE), "cpu"), "cpu")
    assert batch["image"].dtype == torch.uint8
    assert tuple(batch["image"].shape) == (BATCH, SIZE, SIZE, 3)  # NHWC, not normalised
    tensors = {k for k, v in batch.items() if isinstance(v, torch.Tensor)} - {"image"}
    assert tensors == maps
    for key in maps:
        assert batch[key].dtype == torch.uint8, key
        assert tuple(batch[key].shape) == (BATCH, side, side), key
    text = batch["db_flags"] & 1 if arch == "dbnet" else batch["region_map"]  # shrink_map bit
    assert int(text.max()) > 0  # pages with words, so the losses' full path runs
    assert batch["batch_size"] == BATCH and len(batch["polygons"]) == BATCH
    assert {"filename", "orig_size", "to_original"} <= set(batch["meta"][0])


@pytest.mark.parametrize(("arch", "maps"), [("dbnet", DB_READS), ("craft", CRAFT_MAPS)])
def test_one_training_step_on_the_cpu_takes_the_uint8_path(
    bench: Any, arch: str, maps: set, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The benchmark's step and a Lightning fit of one step on its loader: both hand the
    module uint8 NHWC pages, normalised there (channels_last kept), and uint8 maps to
    the loss, as real training does. No GPU needed."""
    import pytorch_lightning as pl

    spy = Spy(monkeypatch)
    args = argparse.Namespace(batch=BATCH, steps=1, warmup=0)
    row = bench.train_step_row(arch, SIZE, "amp_channels_last", args, "cpu")
    assert "error" not in row and row["samples_per_s"] > 0
    nchw = torch.Size((BATCH, 3, SIZE, SIZE))
    assert spy.images == [(torch.uint8, (BATCH, SIZE, SIZE, 3), torch.float32, nchw, True)]
    assert spy.maps == dict.fromkeys(maps, torch.uint8)

    spy.images.clear()
    spy.maps.clear()
    loader = bench.contract_loader(
        bench.contract_samples(arch, BATCH, SIZE), BATCH, BATCH, 0, "cpu"
    )
    trainer = pl.Trainer(
        accelerator="cpu", max_steps=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    module = bench.detection_module(arch)
    trainer.fit(module, loader)
    assert trainer.global_step == 1 and module.train_samples == BATCH
    assert spy.images == [(torch.uint8, (BATCH, SIZE, SIZE, 3), torch.float32, nchw, False)]
    assert spy.maps == dict.fromkeys(maps, torch.uint8)
