"""Target generation per 640x640 image: the fast builders against their baselines.

Run: ``python benchmarks/bench_targets.py [--repeats 15]``

For the same polygons in one run, median process-CPU ms of:

* the DB border map for 10, 50 and 150 word-like rotated rectangles (+-15 degrees), 50
  general quads (each vertex jittered by up to 20 % of the word height: perspective-like)
  and 50 general quads at any angle (diagonal edges, the least favourable case for
  per-edge boxes): the batched map (:func:`border_map`, what training uses), the exact
  per-word reference (:func:`border_map_exact`) and MhLiao/DB's per-edge loop
  (:func:`border_map_loop`, the baseline), with loop/batched and loop/exact ratios and
  the batched map's max / mean |diff| from the exact one;
* the whole-image route that issue 13 suggested, measured before choosing: one
  ``cv2.distanceTransformWithLabels`` (precise L2, a label per outline pixel) over all
  words' rasterised outlines, each pixel scaled by its nearest outline's D; its time and
  its error against the exact map (it is not used: the error is far above the bound);
* the whole ``DBTargets`` call with the batched and the loop border map, and its ratio,
  for the rectangles and the general quads;
* the same DB build as the dataset ships it (uint8, the sample contract): the float
  build followed by ``pack_map`` of the four maps (the route before issue 13, item 2),
  ``DBTargets(packed=True)`` (uint8 ``thresh_map`` + ``db_flags`` built directly, what
  the dataset uses) and the loop border map's float build plus packing (the baseline),
  with packed/float+pack and loop+pack/packed ratios;
* ``CraftTargets`` (pseudo-characters from the word shape) next to
  ``CraftTargets.reference`` (one ``cv2.getPerspectiveTransform`` + warp per quad, the
  previous implementation), so CRAFT's cost is seen next to DB's.

Process CPU time is used so that other jobs on a shared machine inflate the figures less
than wall time would; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np

from ocrtop.ocr.data.sample import pack_map
from ocrtop.ocr.data.targets import CraftTargets
from ocrtop.ocr.data.targets.db import DBTargets, border_map, border_map_exact, border_map_loop
from ocrtop.ocr.geometry import shrink_distance
from ocrtop.ocr.types import Word

SIZE = 640


def random_words(
    count: int, seed: int, jitter: float = 0.0, max_degrees: float = 15.0
) -> list[Word]:
    """Word-like rotated rectangles inside a 640x640 image (``jitter``: general quads)."""
    rng = np.random.default_rng(seed)
    words = []
    for _ in range(count):
        w, h = rng.uniform(30, 160), rng.uniform(12, 40)
        cx, cy = rng.uniform(w / 2 + 5, SIZE - w / 2 - 5), rng.uniform(h / 2 + 5, SIZE - h / 2 - 5)
        angle = np.deg2rad(rng.uniform(-max_degrees, max_degrees))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        corners += rng.uniform(-jitter, jitter, corners.shape) * h
        words.append(Word(points=corners @ rot.T + [cx, cy]))
    return words


def loadavg() -> list[str]:
    """The 1, 5 and 15 minute load averages as ``/proc/loadavg`` states them."""
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm caches and lazy imports
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1e3)
    return statistics.median(times)


def distance_transform_map(
    polygons: list[np.ndarray], distances: list[float], height: int, width: int
) -> np.ndarray:
    """The whole-image route: one labelled distance transform over all outlines.

    Each outline is drawn (1/16 px vertices) with its word's number; the transform gives
    every pixel its distance to the nearest outline pixel and that pixel's label (labels
    follow raster order), hence its word and D. Rasterising the outline costs up to about
    half a pixel of distance, and a pixel takes the nearest word's D instead of the max
    over words.
    """
    owner = np.zeros((height, width), dtype=np.int32)
    for i, poly in enumerate(polygons):
        fixed = np.round(poly * 16).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(owner, [fixed], True, i + 1, shift=4)
    image = np.where(owner > 0, 0, 255).astype(np.uint8)
    dist, labels = cv2.distanceTransformWithLabels(
        image, cv2.DIST_L2, cv2.DIST_MASK_PRECISE, labelType=cv2.DIST_LABEL_PIXEL
    )
    zero = np.flatnonzero(image.ravel() == 0)
    d_of_label = np.ones(len(zero) + 1, dtype=np.float32)
    d_of_label[1:] = np.asarray(distances, dtype=np.float32)[owner.ravel()[zero] - 1]
    return np.maximum(0.0, 1.0 - dist / d_of_label[labels])


def border_row(label: str, words: list[Word], repeats: int) -> dict[str, object]:
    polys = [w.points for w in words]
    dists = [shrink_distance(p) for p in polys]
    args = (polys, dists, SIZE, SIZE)
    fast = median_ms(partial(border_map, *args), repeats)
    exact = median_ms(partial(border_map_exact, *args), repeats)
    loop = median_ms(partial(border_map_loop, *args), repeats)
    diff = np.abs(border_map(*args) - border_map_exact(*args))
    print(
        f"{label:>18} | {fast:>7.2f} | {exact:>6.2f} | {loop:>6.2f} | {loop / fast:>12.1f} | "
        f"{loop / exact:>10.1f} | {diff.max():>9.1e} | {diff.mean():>10.1e}"
    )
    return {
        "case": label, "batched_ms": fast, "exact_ms": exact, "loop_ms": loop,
        "max_diff": float(diff.max()), "mean_diff": float(diff.mean()),
    }  # fmt: skip


def transform_row(label: str, words: list[Word], repeats: int) -> dict[str, object]:
    polys = [w.points for w in words]
    dists = [shrink_distance(p) for p in polys]
    args = (polys, dists, SIZE, SIZE)
    route = median_ms(partial(distance_transform_map, *args), repeats)
    loop = median_ms(partial(border_map_loop, *args), repeats)
    exact = border_map_exact(*args)
    diff = np.abs(distance_transform_map(*args) - exact)
    print(
        f"{label:>18} | {route:>7.2f} | {loop:>6.2f} | {loop / route:>9.1f} | "
        f"{diff.max():>9.2f} | {diff.mean():>10.4f} | {diff[exact > 0].mean():>11.4f}"
    )
    return {
        "case": f"{label}, distance transform", "transform_ms": route, "loop_ms": loop,
        "max_diff": float(diff.max()), "mean_diff": float(diff.mean()),
    }  # fmt: skip


def _packed_after(targets: DBTargets, words: list[Word]) -> dict[str, np.ndarray]:
    """The float build, then each map packed to uint8 as the dataset did before."""
    return {k: pack_map(v) for k, v in targets(words, SIZE, SIZE).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    load_before = loadavg()
    print(f"Targets per {SIZE}x{SIZE} image, median CPU ms of {args.repeats} runs")
    print(f"({os.cpu_count()} CPUs, /proc/loadavg before: {' '.join(load_before)})")
    print("\nDB border map (batched vs exact reference vs MhLiao/DB per-edge loop)")
    print(
        f"{'words':>18} | {'batched':>7} | {'exact':>6} | {'loop':>6} | {'loop/batched':>12} | "
        f"{'loop/exact':>10} | {'max|diff|':>9} | {'mean|diff|':>10}"
    )
    quads = random_words(50, 50, 0.2)
    rows = [border_row(f"{n} rects", random_words(n, seed=n), args.repeats) for n in (10, 50, 150)]
    rows.append(border_row("50 gen. quads", quads, args.repeats))
    rows.append(border_row("50 quads, any angle", random_words(50, 51, 0.2, 180), args.repeats))

    print("\nWhole-image route: one labelled distance transform (not used), vs the loop")
    print(
        f"{'words':>18} | {'transf.':>7} | {'loop':>6} | {'loop/tr.':>9} | {'max|diff|':>9} | "
        f"{'mean|diff|':>10} | {'mean in band':>11}"
    )
    rows.append(transform_row("50 gen. quads", quads, args.repeats))

    print(
        "\nWhole target build: DBTargets (batched / loop border map), "
        "CraftTargets (batched / per-quad reference)"
    )
    print(
        f"{'words':>18} | {'DB':>7} | {'DB loop':>7} | {'ratio':>5} | {'CRAFT':>6} | "
        f"{'CRAFT ref':>9} | {'ratio':>5} | {'CRAFT/DB':>8}"
    )
    fast_db, loop_db, craft = DBTargets(border="fast"), DBTargets(border="loop"), CraftTargets()
    cases = [(f"{n} rects", random_words(n, seed=n)) for n in (10, 50, 150)]
    for label, words in [*cases, ("50 gen. quads", quads)]:
        t_fast = median_ms(partial(fast_db, words, SIZE, SIZE), args.repeats)
        t_loop = median_ms(partial(loop_db, words, SIZE, SIZE), args.repeats)
        t_craft = median_ms(partial(craft, words, SIZE, SIZE), args.repeats)
        t_ref = median_ms(partial(craft.reference, words, SIZE, SIZE), args.repeats)
        print(
            f"{label:>18} | {t_fast:>7.2f} | {t_loop:>7.2f} | {t_loop / t_fast:>5.1f} | "
            f"{t_craft:>6.2f} | {t_ref:>9.2f} | {t_ref / t_craft:>5.1f} | {t_craft / t_fast:>8.2f}"
        )
        rows.append({
            "case": f"{label}, whole build", "db_ms": t_fast, "db_loop_ms": t_loop,
            "craft_ms": t_craft, "craft_reference_ms": t_ref,
        })  # fmt: skip
    print("\nDB shipped as uint8: float build + pack_map / packed=True / loop build + pack_map")
    print(
        f"{'words':>18} | {'f.+pack':>7} | {'packed':>6} | {'saved':>5} | {'loop+pack':>9} | "
        f"{'ratio':>5}"
    )
    for label, words in [*cases, ("50 gen. quads", quads)]:
        t_float = median_ms(partial(_packed_after, fast_db, words), args.repeats)
        t_packed = median_ms(partial(fast_db, words, SIZE, SIZE, packed=True), args.repeats)
        t_loop = median_ms(partial(_packed_after, loop_db, words), args.repeats)
        print(
            f"{label:>18} | {t_float:>7.2f} | {t_packed:>6.2f} | {t_float - t_packed:>5.2f} | "
            f"{t_loop:>9.2f} | {t_loop / t_packed:>5.1f}"
        )
        rows.append({
            "case": f"{label}, shipped uint8", "db_float_pack_ms": t_float,
            "db_packed_ms": t_packed, "db_loop_pack_ms": t_loop,
        })  # fmt: skip
    load_after = loadavg()
    print(f"\n/proc/loadavg after: {' '.join(load_after)}")
    rows.append({"loadavg_before": load_before, "loadavg_after": load_after})
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
