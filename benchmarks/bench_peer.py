"""An ocrtop checkpoint vs PP-OCRv4's text detector on the same held-out document pages.

    pip install 'ocrtop[peer]'        # rapidocr-onnxruntime: the ONNX model is in the wheel
    python benchmarks/bench_peer.py --data data/docs --run outputs/docs_peer [--max-pages N]

Both detectors see the same pages of the dataset's ``test`` split (documents no training
page came from: ``ocrtop data from-pdf`` splits by document) and are scored by the same
metric against the same line-level boxes: ICDAR-style one-to-one matching at IoU 0.5
(``ocrtop.ocr.metrics``), and CLEval (``ocrtop.ocr.metrics.cleval``, from the labels' text lengths).

Speed is images/s on this machine, one page at a time, one thread each
(``torch.set_num_threads(1)``; ONNX Runtime with one intra- and one inter-op thread), timed
from the PNG file to boxes in image coordinates: decoding, resizing, the network and the
post-processing, for both. The peer runs with RapidOCR's own default detector settings
(``limit_side_len`` 736 as a minimum side, thresh 0.3, box_thresh 0.5, unclip 1.6); ocrtop
runs the run's own eval transform (long side from the run's config), without padding to a
square (batch size 1 does not need it).

Prints one table and ``--json`` writes the figures; predictions of both go to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml


def _peer_detector() -> Any:
    """RapidOCR's TextDetector (PP-OCRv4 det) with its packaged config, one thread."""
    import rapidocr_onnxruntime
    from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
    from rapidocr_onnxruntime.utils import read_yaml

    package = Path(rapidocr_onnxruntime.__file__).parent
    config = read_yaml(package / "config.yaml")["Det"]
    config.update(
        model_path=str(package / config["model_path"]),
        intra_op_num_threads=1,
        inter_op_num_threads=1,
    )
    return TextDetector(config)


def run_peer(paths: list[Path]) -> tuple[dict[str, list[Any]], float]:
    """PP-OCRv4 detections per file name, and the images/s."""
    from ocrtop.ocr.types import Prediction

    detector = _peer_detector()
    detector(cv2.imread(str(paths[0])))  # warm-up: session initialisation is not per image
    results: dict[str, list[Any]] = {}
    start = time.perf_counter()
    for path in paths:
        boxes, _ = detector(cv2.imread(str(path)))  # BGR, as RapidOCR reads files itself
        results[path.name] = [
            Prediction(points=np.asarray(b, dtype=float), score=1.0)
            for b in (boxes if boxes is not None else [])
        ]
    return results, len(paths) / (time.perf_counter() - start)


def run_ocrtop(
    run_dir: Path, root: Path, split: str, names: list[str], overrides: list[str]
) -> tuple[dict, float]:
    """The run's best checkpoint on the same pages, and its images/s."""
    import hydra
    import torch
    from omegaconf import OmegaConf

    from ocrtop.ocr.data.canonical import CanonicalSource
    from ocrtop.ocr.data.collate import collate_batch
    from ocrtop.ocr.data.dataset import TextDetectionDataset
    from ocrtop.ocr.lightning.predict import load_weights

    torch.set_num_threads(1)
    cfg = OmegaConf.load(run_dir / "config_resolved.yaml")
    for item in overrides:  # e.g. post-processing thresholds picked on the val split
        key, _, value = item.partition("=")
        OmegaConf.update(cfg, key, yaml.safe_load(value))
    summary = json.loads((run_dir / "run_summary.json").read_text())
    ckpt = summary.get("best_checkpoint") or str(run_dir / "checkpoints" / "last.ckpt")
    model: Any = hydra.utils.instantiate(cfg.model)
    load_weights(model, ckpt)
    model.eval()
    transform = hydra.utils.instantiate(cfg.data.val.transform, square=False)
    source = CanonicalSource(str(root), split)
    keep = set(names)
    indices = [i for i, n in enumerate(source.filenames) if n in keep]
    dataset = TextDetectionDataset(source, transform=transform, targets=None)
    results: dict[str, list[Any]] = {}

    def one(index: int) -> None:
        batch = collate_batch([dataset[index]])
        output = model(batch["image"])
        (preds,) = model.postprocess(output, batch["meta"])
        results[str(batch["meta"][0]["filename"])] = preds

    with torch.inference_mode():
        one(indices[0])  # warm-up
        start = time.perf_counter()
        for index in indices:
            one(index)
        speed = len(indices) / (time.perf_counter() - start)
    return results, speed


def score(gt: Path, pred: Path) -> dict[str, Any]:
    """ICDAR 2015 IoU P/R/H and CLEval P/R/H (``ocrtop.ocr.metrics``), from the same files."""
    from ocrtop.ocr.metrics import evaluate_files

    both = evaluate_files(gt, pred, iou_threshold=0.5, metric="both")
    parts = ("precision", "recall", "hmean")
    return {
        "iou": {k: both[k] for k in parts},
        "cleval": {k: both[f"cleval_{k}"] for k in parts},
    }


def _subset_labels(labels: Path, names: list[str], out: Path) -> Path:
    images = json.loads(labels.read_text(encoding="utf-8"))["images"]
    out.write_text(json.dumps({"images": {n: images[n] for n in names}}), encoding="utf-8")
    return out


def main() -> None:
    """Run both detectors, score them, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="canonical dataset folder")
    parser.add_argument("--run", type=Path, required=True, help="an ocrtop run directory")
    parser.add_argument("--split", default="test")
    parser.add_argument("--max-pages", type=int, default=None, help="first N pages by name")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_peer"))
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override the run's config, e.g. --set model.postprocess.box_thresh=0.3",
    )  # fmt: skip
    args = parser.parse_args()

    from ocrtop.ocr.lightning.predictions import write_predictions

    labels = args.data / args.split / "labels.json"
    names = sorted(json.loads(labels.read_text(encoding="utf-8"))["images"])[: args.max_pages]
    args.out.mkdir(parents=True, exist_ok=True)
    gt = _subset_labels(labels, names, args.out / "gt.json")
    paths = [args.data / args.split / "images" / n for n in names]
    load_before = os.getloadavg()
    rows: dict[str, Any] = {}
    peer, peer_speed = run_peer(paths)
    ours, our_speed = run_ocrtop(args.run, args.data, args.split, names, args.set)
    for label, preds, speed in (("PP-OCRv4 det", peer, peer_speed), ("ocrtop", ours, our_speed)):
        path = write_predictions(preds, args.out / f"{label.split()[0].lower()}.json")
        rows[label] = {"images_per_s": speed, **score(gt, path)}
    load_after = os.getloadavg()
    load = f"loadavg {load_before[0]:.2f} -> {load_after[0]:.2f}"
    print(f"{len(names)} pages of {args.data}/{args.split}; {load}")
    print(f"{'detector':<14} {'P':>6} {'R':>6} {'H':>6}  {'CLEval H':>8}  {'images/s':>8}")
    for label, row in rows.items():
        iou, cle = row["iou"], row["cleval"]
        cle_h = f"{cle['hmean']:.4f}"
        print(
            f"{label:<14} {iou['precision']:6.4f} {iou['recall']:6.4f} {iou['hmean']:6.4f}  "
            f"{cle_h:>8}  {row['images_per_s']:8.3f}"
        )
    ratio = our_speed / peer_speed
    print(f"speed ratio ocrtop / peer: {ratio:.2f}x")
    if args.json:
        blob = {"pages": len(names), "loadavg": [load_before, load_after], "rows": rows}
        args.json.write_text(json.dumps(blob, indent=1, default=float), encoding="utf-8")


if __name__ == "__main__":
    main()
