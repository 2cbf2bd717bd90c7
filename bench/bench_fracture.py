"""Fracture speed: cells per second and a scaling table (the issue-2 bars).

Run: ``.venv/bin/python bench/bench_fracture.py`` (or ``./dev bench``). Prints, for a 10 x 4 x 3 m box,
1,000 / 4,000 / 20,000 cells with both Voronoi backends where they finish in reasonable time, the
default building at several sizes, and the growth exponent between sizes. Best of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from collapse_addon.core.building import generate_building
from collapse_addon.core.fracture import fracture_box, fracture_building
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.voronoi import available_backends

BARS = {1000: 0.1, 4000: 0.4, 20000: 2.0}  # seconds, 10 x 4 x 3 m box (issue 2)


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def exponent(sizes, times):
    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--qhull-max", type=int, default=4000, help="largest size for the Qhull backend")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    hi = np.array([10.0, 4.0, 3.0])
    print("box 10 x 4 x 3 m (fracture_box: cells, shards, contact graph)")
    print(f"{'backend':8} {'cells':>7} {'seconds':>8} {'cells/s':>9} {'bar s':>6}")
    for backend in available_backends():
        sizes, times = [], []
        for n in (1000, 4000, 20000):
            if backend == "qhull" and n > args.qhull_max:
                continue
            seeds = rng.uniform(1e-6 * hi, hi * (1 - 1e-6), (n, 3))
            dt = best_of(args.repeat, lambda s=seeds, b=backend: fracture_box([0, 0, 0], hi, s, backend=b))
            sizes.append(n)
            times.append(dt)
            print(f"{backend:8} {n:7d} {dt:8.3f} {n / dt:9.0f} {BARS[n]:6.1f}")
        if len(sizes) > 1:
            print(f"{backend:8} growth exponent {exponent(sizes, times):.2f} (N log N ~ 1.1)")
    print("\ndefault building (fracture_building, foundation whole)")
    building = generate_building()
    sizes, times = [], []
    for n in (500, 1000, 2000, 4000, 8000):
        dt = best_of(args.repeat, lambda n=n: fracture_building(building, FractureSpec(cell_count=n)))
        sizes.append(n)
        times.append(dt)
        print(f"{n:7d} cells {dt:7.3f} s {n / dt:9.0f} cells/s")
    print(f"growth exponent {exponent(sizes, times):.2f}")


if __name__ == "__main__":
    main()
