"""CLEval: ocrtop's numpy/shapely implementation against the reference ``cleval`` package.

    python benchmarks/bench_cleval.py                  # 300 random images, seed 0
    python benchmarks/bench_cleval.py --images 40 --json --tolerance 1e-9   # what CI runs

Random pages of integer quads with text (the package truncates corners to integers, so
integer inputs make both sides read the same polygons): slanted and vertical words,
don't-care words (``###``), and detections that jitter, miss, split, merge, overlap,
sit in don't-care regions or are plain false positives. Both implementations score every
image; the figures are max |delta| of precision, recall and hmean over the images and of
the split's global scores, plus the counts of splits/merges/dropped cases the sample
exercised (so a sample that tests nothing shows it).

The reference runs in a subprocess (``pip install cleval``; it imports Polygon3 and numba,
and Polygon3 can abort the interpreter at exit): it writes its results to a file and
leaves with ``os._exit(0)``. Exit code: 0 when every delta is within ``--tolerance``
(default: report only), 1 when one is not, 3 when the package is not installed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from shapely.geometry import Polygon as ShapelyPolygon

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtop.ocr.metrics.cleval import CLEvalCounts, cleval_image

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

REFERENCE = r"""
import json, os, sys, time
from cleval.box_types import QUAD
from cleval.data import Stats, accumulate_stats, calculate_rph
from cleval.eval_functions import evaluation


class Args:  # the package's defaults, detection only
    DUMP_SAMPLE_RESULT = False
    E2E = False
    ORIENTATION = False
    CASE_SENSITIVE = True
    RECALL_GRANULARITY_PENALTY_WEIGHT = 1.0
    PRECISION_GRANULARITY_PENALTY_WEIGHT = 1.0
    VERTICAL_ASPECT_RATIO_THRESH = 0.5
    AREA_PRECISION_CONSTRAINT = 0.3


images = json.load(open(sys.argv[1]))
out, total = [], Stats()
evaluation(Args, [QUAD([0, 0, 9, 0, 9, 9, 0, 9], transcription="a")], [])  # numba warm-up
start = time.perf_counter()
for image in images:
    gts = [QUAD([float(v) for p in w["points"] for v in p], transcription=w["text"],
                is_dc=w["ignore"]) for w in image["gt"]]
    dets = [QUAD([float(v) for p in d for v in p], transcription="") for d in image["det"]]
    res = evaluation(Args, gts, dets)
    accumulate_stats(total, res.stats, False)
    s = res.stats.det
    out.append({"precision": s.precision, "recall": s.recall, "hmean": s.hmean,
                "num_char_gt": s.num_char_gt, "num_char_det": s.num_char_det,
                "num_char_tp": s.num_char_tp_recall, "num_split": res.stats.num_splitted,
                "num_merged": res.stats.num_merged})
seconds = time.perf_counter() - start
calculate_rph(total.det)
g = total.det
json.dump({"images": out, "seconds": seconds,
           "global": {"precision": g.precision, "recall": g.recall, "hmean": g.hmean}},
          open(sys.argv[2], "w"))
sys.stdout.flush()
os._exit(0)  # skip interpreter teardown: Polygon3 can abort there
"""


def _quad(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    """Integer corners of a ``w`` x ``h`` box centred at (cx, cy), top edge first."""
    c, s = np.cos(angle), np.sin(angle)
    local = np.array([[-w / 2, -h / 2], [w / 2, -h / 2], [w / 2, h / 2], [-w / 2, h / 2]])
    return np.round(local @ np.array([[c, s], [-s, c]]) + [cx, cy])


def _jitter(quad: np.ndarray, spread: float, rng: np.random.Generator) -> np.ndarray:
    """Integer corners moved by ~``spread`` px, redrawn until the outline is simple.

    Self-intersecting quads are left out of the comparison on purpose: Polygon3 reads a
    bow tie's area from its signed outline (zero for a symmetric one), while ocrtop keeps
    both lobes (``shapely.make_valid``).
    """
    for _ in range(20):
        moved = np.round(quad + rng.normal(0, spread, quad.shape))
        if ShapelyPolygon(moved).is_valid and ShapelyPolygon(moved).area > 0:
            return moved
    return quad


def _split(quad: np.ndarray, parts: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Cut a quad across its reading direction into ``parts`` pieces, with small gaps."""
    top_l, top_r, bot_r, bot_l = quad
    cuts = np.sort(rng.uniform(0.2, 0.8, parts - 1))
    edges = np.concatenate([[0.0], cuts, [1.0]])
    out = []
    for a, b in itertools.pairwise(edges):
        a2, b2 = a + 0.02 * (a > 0), b - 0.02 * (b < 1)
        piece = [
            top_l + (top_r - top_l) * a2,
            top_l + (top_r - top_l) * b2,
            bot_l + (bot_r - bot_l) * b2,
            bot_l + (bot_r - bot_l) * a2,
        ]
        out.append(np.round(np.array(piece)))
    return out


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The axis-aligned box around two quads (a detector that joined two words)."""
    both = np.vstack([a, b])
    (x0, y0), (x1, y1) = both.min(axis=0), both.max(axis=0)
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def random_image(rng: np.random.Generator, size: int = 400) -> dict[str, Any]:
    """One page: 3-14 words in rows (some slanted, some vertical) and their detections."""
    gt: list[dict[str, Any]] = []
    det: list[np.ndarray] = []
    y = rng.uniform(10, 40)
    while y < size - 30 and len(gt) < 14:
        h = rng.uniform(10, 30)
        x = rng.uniform(5, 40)
        while x < size - 40:
            n = int(rng.integers(1, 12))
            w = max(h * 0.55 * n, 8.0)
            if rng.random() < 0.1:  # a vertical word: tall box, top edge short
                quad = _quad(x + h / 2, y + w / 2, h, w, 0.0)
                x += h + rng.uniform(5, 30)
            else:
                quad = _quad(x + w / 2, y + h / 2, w, h, rng.normal(0, 0.08))
                x += w + rng.uniform(4, 40)
            dc = bool(rng.random() < 0.12)
            text = "###" if dc else "".join(rng.choice(list(LETTERS), n))
            gt.append({"points": quad, "text": text, "ignore": dc})
        y += h + rng.uniform(2, 25)  # rows of words; vertical words may reach the next row
    for i, word in enumerate(gt):
        quad, r = word["points"], rng.random()
        if r < 0.12:  # missed
            continue
        if r < 0.22:  # split in two or three
            det += _split(quad, int(rng.integers(2, 4)), rng)
        elif r < 0.32 and i + 1 < len(gt):  # merged with the next word
            det.append(_merge(quad, gt[i + 1]["points"]))
        else:  # found, with a few pixels of jitter (sometimes a lot)
            det.append(_jitter(quad, 1.5 if rng.random() < 0.8 else 6.0, rng))
        if rng.random() < 0.08:  # a duplicate overlapping the same word
            det.append(_jitter(quad, 3.0, rng))
    for _ in range(int(rng.integers(0, 3))):  # false positives anywhere
        w, h = rng.uniform(10, 80), rng.uniform(8, 40)
        det.append(_quad(rng.uniform(0, size), rng.uniform(0, size), w, h, rng.normal(0, 0.3)))
    order = rng.permutation(len(det))
    return {"gt": gt, "det": [det[k] for k in order]}


def _jsonable(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "gt": [{**w, "points": np.asarray(w["points"]).tolist()} for w in im["gt"]],
            "det": [np.asarray(d).tolist() for d in im["det"]],
        }
        for im in images
    ]


def run_reference(images: list[dict[str, Any]]) -> dict[str, Any]:
    """The package's per-image and global results, computed in a child interpreter."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp, "images.json"), Path(tmp, "result.json")
        src.write_text(json.dumps(_jsonable(images)))
        proc = subprocess.run(
            [sys.executable, "-c", REFERENCE, str(src), str(dst)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if not dst.is_file():
            raise RuntimeError(
                f"reference cleval failed (exit {proc.returncode}): {proc.stderr[-2000:]}"
            )
        return json.loads(dst.read_text())


def compare(num_images: int, seed: int) -> dict[str, Any]:
    """Score ``num_images`` random images both ways; the agreement figures."""
    rng = np.random.default_rng(seed)
    images = [random_image(rng) for _ in range(num_images)]
    start = time.perf_counter()
    ours = [
        cleval_image(
            [w["points"] for w in im["gt"]],
            [w["text"] for w in im["gt"]],
            [w["ignore"] for w in im["gt"]],
            im["det"],
        )
        for im in images
    ]
    our_seconds = time.perf_counter() - start
    ref = run_reference(images)
    total = sum(ours, CLEvalCounts())
    keys = ("precision", "recall", "hmean")
    per_image = {
        k: max(abs(o.scores()[k] - r[k]) for o, r in zip(ours, ref["images"], strict=True))
        for k in keys
    }
    glob = {k: abs(total.scores()[k] - ref["global"][k]) for k in keys}
    differ = [
        i
        for i, (o, r) in enumerate(zip(ours, ref["images"], strict=True))
        if max(abs(o.scores()[k] - r[k]) for k in keys) > 1e-9
    ]
    return {
        "images": num_images,
        "seed": seed,
        "gt_words": sum(len(im["gt"]) for im in images),
        "detections": sum(len(im["det"]) for im in images),
        "splits": total.num_split,
        "merges": total.num_merged,
        "ref_splits": sum(r["num_split"] for r in ref["images"]),
        "ref_merges": sum(r["num_merged"] for r in ref["images"]),
        "global_ours": total.scores(),
        "global_reference": ref["global"],
        "max_abs_delta_per_image": per_image,
        "max_abs_delta_global": glob,
        "images_that_differ": differ[:20],
        "num_images_that_differ": len(differ),
        "ours_ms_per_image": round(1e3 * our_seconds / num_images, 3),
        "reference_ms_per_image": round(1e3 * ref["seconds"] / num_images, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--tolerance", type=float, default=None, help="exit 1 above it")
    args = parser.parse_args()
    try:
        import importlib.util

        if importlib.util.find_spec("cleval") is None:
            raise ModuleNotFoundError
    except ModuleNotFoundError:
        print("error: the reference package is not installed (pip install cleval)", file=sys.stderr)
        return 3
    result = compare(args.images, args.seed)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")
        print(f"load: {Path('/proc/loadavg').read_text().split()[:3]}")
    worst = max(
        *result["max_abs_delta_per_image"].values(), *result["max_abs_delta_global"].values()
    )
    return 1 if args.tolerance is not None and worst > args.tolerance else 0


if __name__ == "__main__":
    sys.exit(main())
