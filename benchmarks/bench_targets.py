"""DB target generation per 640x640 image: vectorised border map vs the per-edge loop.

Run: ``python benchmarks/bench_targets.py [--repeats 15]``

For 10, 50 and 150 word-like quads (random sizes, +-15 degree tilt, same polygons for both
methods) it prints the median time of the full ``DBTargets`` call and of the border map
alone, their ratio, and the max / mean absolute difference between the two threshold maps.
Times are process CPU time, so other jobs on a shared machine inflate them less than wall
time would; the load average is printed alongside.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial

import numpy as np

from ocr.data.targets.db import DBTargets, border_map, border_map_loop
from ocr.geometry import shrink_distance
from ocr.types import Word

SIZE = 640


def random_words(count: int, seed: int) -> list[Word]:
    """Word-like rotated rectangles inside a 640x640 image."""
    rng = np.random.default_rng(seed)
    words = []
    for _ in range(count):
        w, h = rng.uniform(30, 160), rng.uniform(12, 40)
        cx, cy = rng.uniform(w / 2 + 5, SIZE - w / 2 - 5), rng.uniform(h / 2 + 5, SIZE - h / 2 - 5)
        angle = np.deg2rad(rng.uniform(-15, 15))
        rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    fast, loop = DBTargets(vectorized=True), DBTargets(vectorized=False)
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"DB targets per {SIZE}x{SIZE} image, median CPU ms of {args.repeats} runs")
    print(f"({os.cpu_count()} CPUs, load average {load})")
    header = f"{'words':>5} | {'targets vec':>11} | {'targets loop':>12} | {'ratio':>5} | "
    header += f"{'border vec':>10} | {'border loop':>11} | {'ratio':>5} | "
    header += f"{'max|diff|':>9} | {'mean|diff|':>10}"
    print(header)
    for count in (10, 50, 150):
        words = random_words(count, seed=count)
        polys = [w.points for w in words]
        dists = [shrink_distance(p) for p in polys]
        t_fast = median_ms(partial(fast, words, SIZE, SIZE), args.repeats)
        t_loop = median_ms(partial(loop, words, SIZE, SIZE), args.repeats)
        b_fast = median_ms(partial(border_map, polys, dists, SIZE, SIZE), args.repeats)
        b_loop = median_ms(partial(border_map_loop, polys, dists, SIZE, SIZE), args.repeats)
        diff = np.abs(fast(words, SIZE, SIZE)["thresh_map"] - loop(words, SIZE, SIZE)["thresh_map"])
        print(
            f"{count:>5} | {t_fast:>11.2f} | {t_loop:>12.2f} | {t_loop / t_fast:>5.1f} | "
            f"{b_fast:>10.2f} | {b_loop:>11.2f} | {b_loop / b_fast:>5.1f} | "
            f"{diff.max():>9.4f} | {diff.mean():>10.2e}"
        )


if __name__ == "__main__":
    main()
