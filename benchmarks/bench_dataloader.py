"""The data pipeline against its limit: per-sample cost of the full sample vs decoding alone.

Run: ``python benchmarks/bench_dataloader.py [--num 24] [--sizes 640 1280] [--profile]``

Datasets: real image files in the canonical layout, written the way ``ocrtop data synth``
writes them (``write_dataset``: JPEG, quality 95) at 640 and 1280 px, plus a PNG copy of
each. Every other JPEG is stored sideways with an EXIF orientation tag (its labels moved
to the stored frame), so the EXIF path is exercised like phone photos do. They are
cached under ``--data`` (default ``/tmp/ocrtop-bench-data``).

For each size and format it prints:

* the decoders, CPU ms per file on the same files in this process: the pipeline's
  ``load_image`` (simplejpeg for JPEG, OpenCV otherwise, + EXIF turn), OpenCV alone,
  Pillow (``exif_transpose`` chain), and simplejpeg alone (JPEG only);
* per architecture (DBNet: ``DBTargets``, CRAFT: ``CraftTargets``), measured inside ONE
  DataLoader worker process (``num_workers=1``): worker CPU ms per sample for
  decode-only (a Dataset that only calls ``load_image``: the limit) and for the full
  sample (decode, EXIF, train transforms with resize/crop/augment, targets packed to
  uint8, collate and the hand-off to the training process), their ratio (goal <= 2),
  and the ratio against the fastest decoder of the table (the least flattering figure);
* the output floor: a Dataset that decodes and computes nothing but writes tensors of
  the sample contract's shapes and collates them in the same worker: what the contract
  alone costs, against the same decode-only limit. ``uint8`` is ocrtop's contract (HWC
  page, maps as ``round(255 v)``, DB's three binary maps as bits of one ``db_flags``,
  ``ocr/data/sample.py``); ``float32`` the previous one
  (normalised CHW float32 page, float32 maps), for reference;
* the in-process stage split of the full sample (decode+exif / augment / targets /
  pack (float maps -> uint8) / collate / other).

The network input side equals the page size (``train_transforms(size)``). Worker CPU
time is read with ``time.process_time()`` inside the worker at each batch, so other
jobs on a shared machine inflate it less than wall time; the first batch (start-up) is
excluded. ``--profile`` adds a cProfile of the full sample (top functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from ocrtop.ocr.data import dataset as dataset_module
from ocrtop.ocr.data.canonical import CanonicalSource
from ocrtop.ocr.data.collate import collate_batch
from ocrtop.ocr.data.dataset import TextDetectionDataset
from ocrtop.ocr.data.imageio import decode_opencv, exif_matrix, load_image, load_image_pillow
from ocrtop.ocr.data.synthetic import write_dataset
from ocrtop.ocr.data.targets import CraftTargets, DBTargets
from ocrtop.ocr.data.transforms import train_transforms
from ocrtop.ocr.geometry import apply_matrix

SIDEWAYS = 6  # EXIF "rotate 90 clockwise to display": the usual portrait phone photo


def _to_stored(points: list[Any], matrix: np.ndarray) -> list[Any]:
    return np.round(apply_matrix(matrix, np.asarray(points, dtype=float)), 2).tolist()


def make_variant(src: Path, dst: Path, fmt: str) -> None:
    """Copy a synthetic JPEG dataset's train split as ``fmt``; every other page sideways."""
    labels = json.loads((src / "train" / "labels.json").read_text())["images"]
    (dst / "train" / "images").mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    for k, (name, entry) in enumerate(sorted(labels.items())):
        upright = np.asarray(Image.open(src / "train" / "images" / name).convert("RGB"))
        exif = Image.Exif()
        if k % 2:
            exif[0x0112] = SIDEWAYS
            stored = np.ascontiguousarray(np.rot90(upright, k=1))  # shown upright after +90
            h, w = stored.shape[:2]
            back = np.linalg.inv(exif_matrix(SIDEWAYS, w, h))
            for word in entry["words"].values():
                word["points"] = _to_stored(word["points"], back)
                if word.get("chars"):
                    word["chars"] = [_to_stored(c, back) for c in word["chars"]]
        else:
            stored = upright
        new_name = Path(name).with_suffix("." + fmt).name
        options: dict[str, Any] = {"quality": 95} if fmt == "jpg" else {"compress_level": 6}
        Image.fromarray(stored).save(dst / "train" / "images" / new_name, exif=exif, **options)
        out[new_name] = entry
    (dst / "train" / "labels.json").write_text(json.dumps({"images": out}))


def ensure_datasets(root: Path, size: int, num: int) -> dict[str, Path]:
    base = root / f"synth{size}-n{num}"
    if not (base / "train" / "labels.json").is_file():
        write_dataset(base, num=num, seed=size, width=size, height=size)  # = ocrtop data synth
    variants = {}
    for fmt in ("jpg", "png"):
        path = root / f"synth{size}-n{num}-{fmt}"
        if not (path / "train" / "labels.json").is_file():
            make_variant(base, path, fmt)
        variants[fmt] = path
    return variants


def cpu_ms_per_file(fn: Callable[[Any], object], items: list[Any], passes: int = 3) -> float:
    """Best of ``passes`` CPU ms per item (best: the least disturbed by other jobs)."""
    fn(items[0])
    best = float("inf")
    for _ in range(passes):
        start = time.process_time()
        for item in items:
            fn(item)
        best = min(best, (time.process_time() - start) * 1e3 / len(items))
    return best


def decoder_table(files: list[Path], fmt: str) -> dict[str, float]:
    blobs = [f.read_bytes() for f in files]
    table = {
        "load_image": cpu_ms_per_file(load_image, files),
        "opencv": cpu_ms_per_file(decode_opencv, blobs),
        "pillow": cpu_ms_per_file(load_image_pillow, files),
    }
    if fmt == "jpg":
        try:
            import simplejpeg  # optional peer; not a dependency of ocrtop
        except ImportError:
            pass
        else:
            table["simplejpeg"] = cpu_ms_per_file(
                lambda b: simplejpeg.decode_jpeg(b, colorspace="RGB"), blobs
            )
    return table


class DecodeOnly(Dataset):
    """The limit: each sample is decoded (and turned upright) and nothing else."""

    def __init__(self, source: CanonicalSource) -> None:
        self.paths = [source.image_dir / name for name in source.filenames]

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> int:
        return int(load_image(self.paths[index])[0].shape[0])


class OutputFloor(Dataset):
    """What the sample contract costs with no decode and no computation: each sample only
    writes tensors of the contract's shapes and is collated and handed over like a real one.

    ``compact`` (ocrtop's contract): a fresh uint8 HWC page and the uint8 maps of
    ``maps`` (for DB: ``thresh_map`` and ``db_flags``). Otherwise the previous float32
    contract: a normalised CHW float32 page (one scaled pass, as its table look-up was)
    and the float32 maps of ``float_maps`` (DB's four), four times the bytes and more.
    """

    def __init__(
        self,
        size: int,
        maps: dict[str, tuple[int, int]],
        count: int,
        compact: bool = True,
        float_maps: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        self.pixels = np.zeros((size, size, 3), dtype=np.uint8)
        self.compact_maps, self.count, self.compact = maps, count, compact
        self.float_maps = maps if float_maps is None else float_maps

    @property
    def maps(self) -> dict[str, tuple[int, int]]:
        return self.compact_maps if self.compact else self.float_maps

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.compact:
            image, dtype = self.pixels.copy(), np.uint8  # the page a warp writes
        else:
            image = np.multiply(self.pixels.transpose(2, 0, 1), 1 / 58.0, dtype=np.float32)
            dtype = np.float32
        sample: dict[str, Any] = {"image": torch.from_numpy(image)}
        shapes = list(self.maps.values())
        if shapes:  # one block per sample, as the target builders allocate them
            block = np.full((len(shapes), *shapes[0]), 1, dtype=dtype)
            for key, plane in zip(self.maps, block, strict=True):
                sample[key] = torch.from_numpy(plane)
        return sample


def map_shapes(
    targets: DBTargets | CraftTargets, size: int, packed: bool = False
) -> dict[str, tuple[int, int]]:
    """The map keys and shapes a builder gives; ``packed``: those the dataset ships (DB's
    uint8 route, ``thresh_map`` + ``db_flags``), else the float maps."""
    if packed and getattr(targets, "packed_maps", False):
        return {k: v.shape for k, v in targets([], size, size, packed=True).items()}  # type: ignore[call-arg]
    return {k: v.shape for k, v in targets([], size, size).items()}


class WorkerClock:
    """Collate wrapper that stamps the worker's CPU clock and its count of minor page
    faults (``getrusage``, the kernel's own count) on every batch (picklable)."""

    def __init__(self, collate: Callable[[list[Any]], Any] | None) -> None:
        self.collate = collate

    def __call__(self, samples: list[Any]) -> dict[str, Any]:
        batch = self.collate(samples) if self.collate else {"batch_size": len(samples)}
        faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        return {"batch": batch, "n": len(samples), "cpu_s": time.process_time(), "faults": faults}


def worker_cost(dataset: Dataset, batch_size: int, collate: Callable | None) -> tuple[float, float]:
    """Worker CPU ms and minor page faults per sample after the first batch, in one
    DataLoader worker. The faults are the kernel's check on the fresh shared memory a
    collate writes: each 4 KiB page of a new batch is one fault on first touch."""
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        num_workers=1,
        collate_fn=WorkerClock(collate),
        shuffle=False,
        persistent_workers=False,
    )
    stamps = [(out["cpu_s"], out["faults"], out["n"]) for out in loader]
    if len(stamps) < 2:
        raise SystemExit("need at least two batches: raise --num or lower --batch-size")
    samples = sum(n for _, _, n in stamps[1:])
    cpu_ms = (stamps[-1][0] - stamps[0][0]) * 1e3 / samples
    return cpu_ms, (stamps[-1][1] - stamps[0][1]) / samples


def worker_cpu_ms(dataset: Dataset, batch_size: int, collate: Callable | None) -> float:
    """Worker CPU ms per sample after the first batch, in one DataLoader worker."""
    return worker_cost(dataset, batch_size, collate)[0]


def sample_bytes(dataset: Dataset) -> int:
    """Bytes of the tensors of one sample (what a collate writes into shared memory)."""
    return sum(v.nbytes for v in dataset[0].values() if isinstance(v, torch.Tensor))


class CpuTimed:
    """Wraps a callable and adds its CPU time to ``totals[name]`` (ms)."""

    def __init__(self, fn: Callable[..., Any], name: str, totals: dict[str, float]) -> None:
        self.fn, self.name, self.totals = fn, name, totals

    def __getattr__(self, name: str) -> Any:
        # The wrapped builder's attributes (the dataset asks DBTargets for ``packed_maps``).
        if name == "fn":
            raise AttributeError(name)
        return getattr(self.fn, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            spent = (time.process_time() - began) * 1e3
            self.totals[self.name] = self.totals.get(self.name, 0.0) + spent


class TimedSource:
    """A page source whose ``load`` is CPU-timed."""

    def __init__(self, source: CanonicalSource, totals: dict[str, float]) -> None:
        self.source = source
        self.load = CpuTimed(source.load, "decode+exif", totals)

    def __len__(self) -> int:
        return len(self.source)


def stage_split(dataset: TextDetectionDataset, batch_size: int) -> dict[str, float]:
    """Mean in-process CPU ms per sample of each stage of the full sample."""
    totals: dict[str, float] = {}
    timed: Any = TextDetectionDataset(
        TimedSource(dataset.source, totals),  # type: ignore[arg-type]
        CpuTimed(dataset.transform, "augment", totals),  # type: ignore[arg-type]
        CpuTimed(dataset.targets, "targets", totals),  # type: ignore[arg-type]
    )
    original_pack = dataset_module.pack_map
    dataset_module.pack_map = CpuTimed(original_pack, "pack", totals)  # type: ignore[assignment]
    collate = CpuTimed(collate_batch, "collate", totals)
    count = 0
    began = time.process_time()
    try:
        for start in range(0, len(timed) - batch_size + 1, batch_size):
            collate([timed[i] for i in range(start, start + batch_size)])
            count += batch_size
    finally:
        total = (time.process_time() - began) * 1e3
        dataset_module.pack_map = original_pack
    totals["other"] = total - sum(totals.values())
    return {k: v / count for k, v in totals.items()}


def profile_full(dataset: TextDetectionDataset, batch_size: int, top: int = 12) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    for start in range(0, len(dataset) - batch_size + 1, batch_size):
        collate_batch([dataset[i] for i in range(start, start + batch_size)])
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(
        os.environ.get("BENCH_PROFILE_SORT", "tottime")
    ).print_stats(top)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()][-top - 1 :]
    print("\n".join("      " + ln for ln in lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num", type=int, default=30, help="pages written per size (80%% train)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--sizes", type=int, nargs="+", default=[640, 1280])
    parser.add_argument("--formats", nargs="+", default=["jpg", "png"])
    parser.add_argument("--archs", nargs="+", choices=["db", "craft"], default=["db", "craft"])
    parser.add_argument("--data", default="/tmp/ocrtop-bench-data", help="dataset cache dir")
    parser.add_argument("--profile", action="store_true", help="cProfile the full sample")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)  # as in DataLoader workers (TextDetectionDataset does the same)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"Pipeline vs decode-only, worker CPU ms per sample (batch {args.batch_size})")
    print(f"({os.cpu_count()} CPUs, load average {load}; torch {torch.__version__}, cv2 "
          f"{cv2.__version__})")  # fmt: skip
    summary, extra = [], []
    for size in args.sizes:
        variants = ensure_datasets(Path(args.data), size, args.num)
        for fmt in args.formats:
            source = CanonicalSource(str(variants[fmt]), "train")
            files = [source.image_dir / name for name in source.filenames]
            decoders = decoder_table(files, fmt)
            fastest = min(decoders, key=decoders.__getitem__)
            listed = ", ".join(f"{k} {v:.2f}" for k, v in decoders.items())
            print(f"\n{size} px {fmt.upper()}, {len(files)} files; decoders (ms/file): {listed}")
            limit = worker_cpu_ms(DecodeOnly(source), args.batch_size, None)
            print(f"  decode-only in a worker: {limit:.2f} ms/sample")
            for arch in args.archs:
                targets = DBTargets() if arch == "db" else CraftTargets()
                dataset = TextDetectionDataset(source, train_transforms(size=size), targets)
                full, full_faults = worker_cost(dataset, args.batch_size, collate_batch)
                floor_set = OutputFloor(
                    size,
                    map_shapes(targets, size, packed=True),
                    len(source),
                    float_maps=map_shapes(targets, size),
                )
                compact, floor_faults = worker_cost(floor_set, args.batch_size, collate_batch)
                nbytes = sample_bytes(dataset)
                floor_set.compact = False
                floor = worker_cpu_ms(floor_set, args.batch_size, collate_batch)
                ratio, worst = full / limit, full / decoders[fastest]
                stages = stage_split(dataset, args.batch_size)
                split = ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
                met = "met" if ratio <= 2 else "NOT met"
                print(
                    f"  {arch:>5}: full {full:6.2f} ms/sample = {ratio:4.2f}x decode-only "
                    f"({worst:4.2f}x {fastest} alone; goal <= 2: {met})\n"
                    f"         output floor (write + collate the contract's tensors only): "
                    f"uint8 (ocrtop) {compact:.2f} ms = {compact / limit:.2f}x decode-only; "
                    f"float32 (previous contract) {floor:.2f} ms = {floor / limit:.2f}x\n"
                    f"         in-process CPU ms per sample: {split}\n"
                    f"         sample tensors {nbytes / 1e6:.2f} MB; minor page faults per "
                    f"sample in the worker: full {full_faults:.0f}, uint8 floor {floor_faults:.0f}"
                )
                if args.profile:
                    profile_full(dataset, args.batch_size)
                summary.append((size, fmt, arch, limit, full, ratio, worst, floor, compact))
                extra.append((nbytes, full_faults, floor_faults))
    print("\nsize  fmt  arch | decode |   full | full/decode | full/fastest dec"
          " | uint8 floor/decode | float32 floor/decode")  # fmt: skip
    for size, fmt, arch, limit, full, ratio, worst, floor, compact in summary:
        print(f"{size:>4} {fmt:>4} {arch:>5} | {limit:6.2f} | {full:6.2f} | {ratio:11.2f} | "
              f"{worst:16.2f} | {compact / limit:18.2f} | {floor / limit:20.2f}")  # fmt: skip
    print(f"(load average at the end {', '.join(f'{v:.1f}' for v in os.getloadavg())})")
    keys = "size format arch decode_ms full_ms ratio ratio_fastest float32_floor_ms uint8_floor_ms"
    keys += " sample_bytes full_faults uint8_floor_faults"
    rows = [(*row, *more) for row, more in zip(summary, extra, strict=True)]
    print(json.dumps([dict(zip(keys.split(), row, strict=True)) for row in rows]))


if __name__ == "__main__":
    main()
