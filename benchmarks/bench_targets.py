"""Target generation per 640x640 image: the fast builders against their baselines.

Run: ``python benchmarks/bench_targets.py [--repeats 15]``

For 10, 50 and 150 word-like quads (random sizes, +-15 degree tilt; the same polygons for
every method in one run) it prints median process-CPU ms of:

* the DB border map: fast (:func:`border_map`, what training uses), exact
  (:func:`border_map_exact`, the reference) and MhLiao/DB's per-edge loop
  (:func:`border_map_loop`, the baseline), with fast/loop and exact/loop ratios and the
  fast map's max / mean |diff| from the exact one;
* the same for general quads (each vertex jittered by up to 20 % of the short side), which
  the fast map hands to the exact path: the least flattering case;
* the whole ``DBTargets`` call with the fast and the loop border map, and its ratio;
* ``CraftTargets`` (pseudo-characters from the word shape) next to
  ``CraftTargets.reference`` (one ``cv2.getPerspectiveTransform`` + warp per quad, the
  previous implementation), so CRAFT's cost is seen next to DB's.

Process CPU time is used so that other jobs on a shared machine inflate the figures less
than wall time would; the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from ocr.data.targets import CraftTargets
from ocr.data.targets.db import DBTargets, border_map, border_map_exact, border_map_loop
from ocr.geometry import shrink_distance
from ocr.types import Word

SIZE = 640


def random_words(count: int, seed: int, jitter: float = 0.0) -> list[Word]:
    """Word-like rotated rectangles inside a 640x640 image (``jitter``: general quads)."""
    rng = np.random.default_rng(seed)
    words = []
    for _ in range(count):
        w, h = rng.uniform(30, 160), rng.uniform(12, 40)
        cx, cy = rng.uniform(w / 2 + 5, SIZE - w / 2 - 5), rng.uniform(h / 2 + 5, SIZE - h / 2 - 5)
        angle = np.deg2rad(rng.uniform(-15, 15))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
        corners += rng.uniform(-jitter, jitter, corners.shape) * h
        words.append(Word(points=corners @ rot.T + [cx, cy]))
    return words


def median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm caches and lazy imports
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append((time.process_time() - start) * 1e3)
    return statistics.median(times)


def border_row(label: str, words: list[Word], repeats: int) -> dict[str, object]:
    polys = [w.points for w in words]
    dists = [shrink_distance(p) for p in polys]
    args = (polys, dists, SIZE, SIZE)
    fast = median_ms(partial(border_map, *args), repeats)
    exact = median_ms(partial(border_map_exact, *args), repeats)
    loop = median_ms(partial(border_map_loop, *args), repeats)
    diff = np.abs(border_map(*args) - border_map_exact(*args))
    print(
        f"{label:>14} | {fast:>6.2f} | {exact:>6.2f} | {loop:>6.2f} | {loop / fast:>9.1f} | "
        f"{loop / exact:>10.1f} | {diff.max():>9.1e} | {diff.mean():>10.1e}"
    )
    return {
        "case": label, "fast_ms": fast, "exact_ms": exact, "loop_ms": loop,
        "max_diff": float(diff.max()), "mean_diff": float(diff.mean()),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"Targets per {SIZE}x{SIZE} image, median CPU ms of {args.repeats} runs")
    print(f"({os.cpu_count()} CPUs, load average {load})")
    print("\nDB border map (fast vs exact reference vs MhLiao/DB per-edge loop)")
    print(
        f"{'words':>14} | {'fast':>6} | {'exact':>6} | {'loop':>6} | {'loop/fast':>9} | "
        f"{'loop/exact':>10} | {'max|diff|':>9} | {'mean|diff|':>10}"
    )
    rows = [border_row(f"{n} rects", random_words(n, seed=n), args.repeats) for n in (10, 50, 150)]
    rows.append(border_row("50 gen. quads", random_words(50, 50, 0.2), args.repeats))

    print(
        "\nWhole target build: DBTargets (fast / loop border map), "
        "CraftTargets (batched / per-quad reference)"
    )
    print(
        f"{'words':>5} | {'DB fast':>7} | {'DB loop':>7} | {'ratio':>5} | {'CRAFT':>6} | "
        f"{'CRAFT ref':>9} | {'ratio':>5} | {'CRAFT/DB':>8}"
    )
    fast_db, loop_db, craft = DBTargets(border="fast"), DBTargets(border="loop"), CraftTargets()
    for count in (10, 50, 150):
        words = random_words(count, seed=count)
        t_fast = median_ms(partial(fast_db, words, SIZE, SIZE), args.repeats)
        t_loop = median_ms(partial(loop_db, words, SIZE, SIZE), args.repeats)
        t_craft = median_ms(partial(craft, words, SIZE, SIZE), args.repeats)
        t_ref = median_ms(partial(craft.reference, words, SIZE, SIZE), args.repeats)
        print(
            f"{count:>5} | {t_fast:>7.2f} | {t_loop:>7.2f} | {t_loop / t_fast:>5.1f} | "
            f"{t_craft:>6.2f} | {t_ref:>9.2f} | {t_ref / t_craft:>5.1f} | {t_craft / t_fast:>8.2f}"
        )
        rows.append({
            "case": f"{count} words, whole build", "db_fast_ms": t_fast, "db_loop_ms": t_loop,
            "craft_ms": t_craft, "craft_reference_ms": t_ref,
        })  # fmt: skip
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
