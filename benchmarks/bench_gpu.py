"""The GPU training path, measured in one prepared run (issue 13, item 5).

Without a CUDA GPU it prints one line saying so and exits 0: nothing is measured, nothing
is faked. With one it records, and prints as JSON lines (also into ``--out``):

1. ``train_step``: samples/s of a full training step (host-to-device copy, forward, loss,
   backward, AdamW step) for each architecture at 640 and 1280, in fp32, AMP (bf16 where
   supported, else fp16 with a GradScaler), AMP + channels_last, and AMP + channels_last +
   torch.compile. The step is the LightningModule's: the configured ``DetectionModule``
   normalises the batch on the device (``_images``), runs its net and its loss.
   Each row also holds the CUDA-event time of the step's GPU work against the wall
   time of the step (their ratio is the share of the step the GPU is busy) and the peak
   memory. The window is bracketed by ``torch.cuda.synchronize()``: the benchmark may
   sync, training may not.
2. ``nvml_vs_smi``: the NVML gauges ocrtop's resource monitor publishes, read under load,
   against ``nvidia-smi --query-gpu`` read once at the same moment.
3. ``monitor_overhead``: Lightning fits of the same detector on the GPU with no callbacks
   and with every ocrtop monitor (``ocrtop.callbacks()``), alternating, samples/s each;
   and the monitor's own ``perf/gpu_compute_ms`` against its ``perf/step_ms``.

Batches follow the sample contract of real training (``docs/contracts.md``): the
project's own Dataset (synthetic pages, the eval resize, the architecture's target
builder) yields uint8 ``(H, W, 3)`` pages and uint8 maps, ``collate_batch`` stacks them,
and the batch is pinned and copied with ``non_blocking=True`` as Lightning copies a
pinned DataLoader batch. So the uint8 -> float normalisation on the device, channels_last
on the normalised tensor and the losses' uint8 map reading are all in what is timed.

A run stops starting new measurements after ``--budget-s`` seconds and still prints what
it has, so it fits a lent machine's time.

    python benchmarks/bench_gpu.py --out gpu.json            # everything (~10 min on one GPU)
    python benchmarks/bench_gpu.py --quick                    # 640 only, no compile, short
    python benchmarks/bench_gpu.py --dry-run-cpu              # the code paths on the CPU, tiny
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]


class Budget:
    """Seconds left for new measurements (a started one always finishes)."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic()


class Sink:
    """Print each record as a JSON line and keep them for ``--out``."""

    def __init__(self, out: Path | None) -> None:
        self.out = out
        self.rows: list[dict[str, Any]] = []

    def emit(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        print(json.dumps(row), flush=True)
        if self.out is not None:
            self.out.write_text("".join(json.dumps(r) + "\n" for r in self.rows))


def compose_model(arch: str) -> Any:
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    with initialize_config_dir(str(ROOT / "configs"), version_base=None):
        return compose("train", overrides=[f"model/architectures={arch}"])


def contract_samples(arch: str, n: int, size: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` Dataset items exactly as training gets them: the project's
    ``TextDetectionDataset`` over synthetic pages (drawn at ``size``, at least 320 px so a
    toy size still has words), the eval resize to ``size`` and the architecture's target
    builder (``data.targets`` of its config): uint8 ``(size, size, 3)`` page, uint8 maps."""
    import torch
    from hydra.utils import instantiate

    from ocrtop.ocr.data.dataset import TextDetectionDataset
    from ocrtop.ocr.data.synthetic import SyntheticPages
    from ocrtop.ocr.data.transforms import eval_transforms

    targets = instantiate(compose_model(arch).data.targets)
    page = max(size, 320)
    source = SyntheticPages(num=n, seed=seed, width=page, height=page)
    dataset = TextDetectionDataset(source, eval_transforms(size), targets)
    torch.manual_seed(seed)  # the Dataset draws its augmentation seed from torch
    return [dataset[i] for i in range(n)]


def contract_batch(arch: str, n: int, size: int, seed: int = 0) -> dict[str, Any]:
    """A batch of :func:`contract_samples` stacked by the DataModule's ``collate_batch``."""
    from ocrtop.ocr.data.collate import collate_batch

    return collate_batch(contract_samples(arch, n, size, seed))


def pinned(batch: dict[str, Any], device: str) -> dict[str, Any]:
    """The batch's tensors in page-locked memory when training on CUDA (what the
    DataModule's ``pin_memory="auto"`` asks the DataLoader for), else unchanged."""
    if device != "cuda":
        return batch
    return {k: v.pin_memory() if hasattr(v, "pin_memory") else v for k, v in batch.items()}


def to_device(batch: dict[str, Any], device: str) -> dict[str, Any]:
    """Lightning's own batch transfer (``move_data_to_device``: ``non_blocking=True`` on
    CUDA, so a pinned batch is copied asynchronously)."""
    import torch
    from pytorch_lightning.utilities import move_data_to_device

    return move_data_to_device(batch, torch.device(device))


def detection_module(arch: str, channels_last: bool = False, compile: bool = False) -> Any:
    """The configured ``DetectionModule`` of ``arch`` (net, loss, post-processing as
    ``runners/train.py`` builds them), with the memory format and compilation applied."""
    from hydra.utils import instantiate

    cfg = compose_model(arch)
    module = instantiate(
        cfg.model, predictions_dir=None, channels_last=channels_last, compile=compile
    )
    module.configure_model()
    return module


def amp_dtype(torch: Any, device: str) -> Any:
    """bf16 where the GPU supports it (no loss scaling), else fp16."""
    if device == "cuda" and not torch.cuda.is_bf16_supported():
        return torch.float16
    return torch.bfloat16


class Timer:
    """CUDA events around each step's GPU work, resolved after the window (no sync inside)."""

    def __init__(self, torch: Any, device: str) -> None:
        self.torch, self.cuda = torch, device == "cuda"
        self.pairs: list[tuple[Any, Any]] = []

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        if not self.cuda:
            yield
            return
        start = self.torch.cuda.Event(enable_timing=True)
        end = self.torch.cuda.Event(enable_timing=True)
        start.record()
        yield
        end.record()
        self.pairs.append((start, end))

    def gpu_ms(self) -> list[float]:
        return [s.elapsed_time(e) for s, e in self.pairs]  # after a synchronize


HOST_BATCHES: dict[tuple[str, int, int, str], dict[str, Any]] = {}
"""Pinned contract batches by (arch, batch, size, device): read-only in the steps."""


def train_step_row(
    arch: str, size: int, variant: str, args: argparse.Namespace, device: str
) -> dict[str, Any]:
    """samples/s, GPU-busy share and peak memory of one (arch, size, variant)."""
    import torch

    amp = variant != "fp32"
    dtype = amp_dtype(torch, device)
    torch.manual_seed(0)
    module = detection_module(
        arch, channels_last="channels_last" in variant, compile="compile" in variant
    )
    module = module.to(device).train()
    opt = torch.optim.AdamW(module.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler(device, enabled=amp and dtype == torch.float16)
    key = (arch, args.batch, size, device)
    if key not in HOST_BATCHES:  # built once per arch and size, reused by every variant
        HOST_BATCHES[key] = pinned(contract_batch(arch, args.batch, size), device)
    host = HOST_BATCHES[key]
    timer = Timer(torch, device)

    def step(timed: bool) -> None:
        with timer.step() if timed else contextlib.nullcontext():
            batch = to_device(host, device)  # pinned uint8, non_blocking: as in training
            opt.zero_grad(set_to_none=True)
            with torch.autocast(device, dtype=dtype, enabled=amp):
                loss = module.loss(module.net(module._images(batch)), batch)["loss"]
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()

    compile_start = time.perf_counter()
    for _ in range(args.warmup):
        step(False)
    sync(torch, device)
    warmup_s = time.perf_counter() - compile_start
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(args.steps):
        step(True)
    sync(torch, device)
    wall_s = time.perf_counter() - start
    gpu = timer.gpu_ms()
    wall_ms = wall_s * 1e3 / args.steps
    row = {
        "kind": "train_step",
        "arch": arch,
        "size": size,
        "batch": args.batch,
        "variant": variant,
        "amp_dtype": str(dtype).removeprefix("torch.") if amp else None,
        "samples_per_s": round(args.batch * args.steps / wall_s, 2),
        "wall_step_ms": round(wall_ms, 3),
        "warmup_s": round(warmup_s, 2),
    }
    if gpu:
        gpu_ms = sum(gpu) / len(gpu)
        row.update(
            cuda_event_step_ms=round(gpu_ms, 3),
            gpu_busy_share=round(gpu_ms / wall_ms, 3),
            peak_mem_gib=round(torch.cuda.max_memory_allocated() / 2**30, 2),
        )
    return row


def sync(torch: Any, device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


SMI_FIELDS = ("utilization.gpu", "memory.used", "temperature.gpu", "power.draw")


def nvml_vs_smi(args: argparse.Namespace) -> dict[str, Any]:
    """ocrtop's NVML gauges and ``nvidia-smi`` under the same load, read back to back."""
    import threading

    import torch

    from ocrtop.ocr.callbacks.sampling.nvml import NvmlGpus

    gpus = NvmlGpus.open()
    if gpus is None:
        return {"kind": "nvml_vs_smi", "error": "NVML did not open (pynvml missing?)"}
    stop = threading.Event()
    x = torch.randn(8192, 8192, device="cuda")

    def load() -> None:  # keep the GPU busy while both read
        while not stop.is_set():
            x @ x  # the work is the point
            torch.cuda.synchronize()

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    time.sleep(2.0)  # utilisation is averaged over the last sample period
    ours = gpus.read()
    smi = shutil.which("nvidia-smi")
    theirs: dict[str, Any] = {"error": "nvidia-smi not on PATH"}
    if smi:
        query = ",".join(SMI_FIELDS)
        cmd = [smi, f"--query-gpu={query}", "--format=csv,noheader,nounits", "--id=0"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        values = [v.strip() for v in out.stdout.strip().split(",")]
        theirs = dict(zip(SMI_FIELDS, values, strict=False))
    stop.set()
    worker.join(timeout=10)
    gpus.close()
    return {
        "kind": "nvml_vs_smi",
        "ocrtop": {k: v for k, v in ours.items() if k.startswith("gpu0/")},
        "nvidia_smi": theirs,
        "note": "memory.used is MiB in nvidia-smi, bytes in ocrtop",
    }


class Pool:
    """A Dataset serving a few prepared contract samples round-robin: the workers still
    collate (and the loader pins) uint8 batches, without drawing a page per item, so the
    fits measure the training side rather than page synthesis."""

    def __init__(self, samples: list[dict[str, Any]], length: int) -> None:
        self.samples, self.length = samples, length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.samples[i % len(self.samples)]


def contract_loader(
    samples: list[dict[str, Any]], length: int, batch: int, workers: int, device: str
) -> Any:
    """A DataLoader as ``DetectionDataModule`` builds one: ``collate_batch``, pinned
    exactly when training on CUDA (its ``pin_memory="auto"``)."""
    from torch.utils.data import DataLoader

    from ocrtop.ocr.data.collate import collate_batch

    return DataLoader(
        Pool(samples, length),
        batch_size=batch,
        num_workers=workers,
        pin_memory=device == "cuda",
        collate_fn=collate_batch,
    )


def monitor_overhead(args: argparse.Namespace, device: str, budget: Budget) -> dict[str, Any]:
    """Plain vs monitored Lightning fits of DBNet's ``DetectionModule`` at 640 (bf16),
    alternating, on contract batches."""
    import pytorch_lightning as pl
    import torch

    import ocrtop
    from ocrtop.bridge import names

    size, n = args.overhead_size, args.batch
    pool = contract_samples("dbnet", n, size)

    def fit(monitored: bool, run_dir: str) -> tuple[float, dict[str, float]]:
        callbacks = ocrtop.callbacks(run_dir=run_dir) if monitored else []
        trainer = pl.Trainer(
            accelerator="gpu" if device == "cuda" else "cpu",
            devices=1,
            precision="bf16-mixed" if device == "cuda" else "32-true",
            max_epochs=1,
            callbacks=callbacks,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            benchmark=True,
            default_root_dir=run_dir,
        )
        loader = contract_loader(pool, n * args.overhead_steps, n, args.workers, device)
        torch.manual_seed(0)
        module = detection_module("dbnet")  # Hydra compose + build: outside the timed fit
        start = time.perf_counter()
        trainer.fit(module, loader)
        wall = time.perf_counter() - start
        latest: dict[str, float] = {}
        for cb in callbacks:
            with contextlib.suppress(Exception):
                latest.update(cb.latest_values())
        return n * args.overhead_steps / wall, latest

    plain: list[float] = []
    monitored: list[float] = []
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.overhead_reps):
            if budget.left() <= 0:
                break
            plain.append(fit(False, f"{tmp}/plain{rep}")[0])
            sps, figures = fit(True, f"{tmp}/mon{rep}")
            monitored.append(sps)
    row: dict[str, Any] = {"kind": "monitor_overhead", "size": size, "batch": n}
    if plain and monitored:
        row.update(
            plain_samples_per_s=[round(v, 2) for v in plain],
            monitored_samples_per_s=[round(v, 2) for v in monitored],
            ratio_best=round(max(monitored) / max(plain), 4),
            monitor_step_ms=figures.get(names.STEP_MS),
            monitor_gpu_compute_ms=figures.get(names.GPU_COMPUTE_MS),
            monitor_data_wait_ms_p50=figures.get(names.DATA_WAIT_MS_P50),
        )
    return row


def main(argv: list[str] | None = None) -> int:
    """Run the sections the budget allows; exit 0 (1 only when every section failed)."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--archs", nargs="+", default=["dbnet", "dbnetpp", "craft"])
    p.add_argument("--sizes", nargs="+", type=int, default=[640, 1280])
    p.add_argument(
        "--variants",
        nargs="+",
        default=["fp32", "amp", "amp_channels_last", "amp_channels_last_compile"],
    )
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=30, help="timed steps per row")
    p.add_argument("--warmup", type=int, default=8, help="untimed steps (cudnn.benchmark, compile)")
    p.add_argument("--overhead-steps", type=int, default=80)
    p.add_argument("--overhead-reps", type=int, default=2)
    p.add_argument("--overhead-size", type=int, default=640)
    p.add_argument("--workers", type=int, default=6, help="DataLoader workers of the fits")
    p.add_argument("--budget-s", type=float, default=480.0)
    p.add_argument("--out", type=Path, default=None, help="also write the JSON lines here")
    p.add_argument("--quick", action="store_true", help="640 only, no compile, fewer steps")
    p.add_argument(
        "--dry-run-cpu",
        action="store_true",
        help="exercise every code path on the CPU at toy sizes (figures are meaningless)",
    )
    args = p.parse_args(argv)
    import torch

    if not torch.cuda.is_available() and not args.dry_run_cpu:
        print("bench_gpu: no CUDA GPU visible (torch.cuda.is_available() is False): not run")
        return 0
    device = "cuda" if torch.cuda.is_available() and not args.dry_run_cpu else "cpu"
    if args.quick:
        args.sizes, args.steps, args.warmup = [640], 15, 5
        args.variants = [v for v in args.variants if "compile" not in v]
    if args.dry_run_cpu:
        args.sizes, args.batch, args.steps, args.warmup = [64], 2, 2, 1
        args.overhead_steps, args.overhead_reps, args.overhead_size, args.workers = 4, 1, 64, 0
        args.variants = [v for v in args.variants if "compile" not in v]
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
    sink, budget = Sink(args.out), Budget(args.budget_s)
    sink.emit(
        {
            "kind": "machine",
            "device": torch.cuda.get_device_name(0) if device == "cuda" else "cpu (dry run)",
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "cudnn": torch.backends.cudnn.version() if device == "cuda" else None,
        }
    )
    failures = sections = 0
    for size in args.sizes:
        for arch in args.archs:
            for variant in args.variants:
                if budget.left() <= 0:
                    sink.emit({"kind": "skipped", "arch": arch, "size": size, "variant": variant})
                    continue
                sections += 1
                try:
                    sink.emit(train_step_row(arch, size, variant, args, device))
                except Exception as exc:  # one OOM or compile failure must not end the run
                    failures += 1
                    err = f"{type(exc).__name__}: {exc}"[:300]
                    sink.emit({"kind": "train_step", "arch": arch, "size": size,
                               "variant": variant, "error": err})  # fmt: skip
                if device == "cuda":
                    torch.cuda.empty_cache()
    for name, fn in (
        ("nvml_vs_smi", lambda: nvml_vs_smi(args)),
        ("monitor_overhead", lambda: monitor_overhead(args, device, budget)),
    ):
        if device != "cuda" and name == "nvml_vs_smi":
            continue
        sections += 1
        try:
            sink.emit(fn())
        except Exception as exc:
            failures += 1
            sink.emit({"kind": name, "error": f"{type(exc).__name__}: {exc}"[:300]})
    return 1 if sections and failures == sections else 0


if __name__ == "__main__":
    sys.exit(main())
