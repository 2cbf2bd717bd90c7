"""Mesh-path fracture speed: cells per second, a scaling table, where the time goes (issue-2 bars).

Run: ``.venv/bin/python bench/bench_mesh_fracture.py [--repeat 3]``.

Prints, best of ``--repeat`` runs, the whole ``fracture_mesh`` call (checking the mesh, seeds inside
it, Voronoi cells, booleans, polygons, contact graph):

- the 10 x 0.3 x 6 m wall with six 1.2 x 1.4 m windows at 250 / 1,000 / 4,000 / 16,000 cells
  (bar: 1,000 cells in at most 0.3 s, cost growing about N log N), with the growth exponent;
- the time per stage at 1,000 cells;
- an L-shaped block, a plain box through the mesh path beside the convex box path (the price of
  the general path), and the real LoD2 houses of ``tests/data`` (3D BAG, CC BY 4.0).

For scale (PERFORMANCE.md, not measured here): Blender's Cell Fracture takes 9.7 s for the wall
at 1,000 cells and 186 s at 4,000, and loses 1.5% of its volume.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collapse_addon.core import mesh_fracture as mf  # noqa: E402
from collapse_addon.core.fracture import fracture_box  # noqa: E402
from collapse_addon.core.meshio import (  # noqa: E402
    box_mesh,
    l_block_mesh,
    load_cityjson,
    wall_with_windows_mesh,
)
from collapse_addon.core.seeds import FractureSpec, element_generators  # noqa: E402
from collapse_addon.core.voronoi import box_voronoi_cells  # noqa: E402

HOUSES = Path(__file__).resolve().parents[1] / "tests" / "data" / "3dbag_shertogenbosch_10houses_multilod.city.json"
WALL_BAR_S = 0.3  # 1,000 cells (issue 2)


def best_of(repeat, fn):
    times, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def exponent(sizes, times):
    return float(np.polyfit(np.log(sizes), np.log(times), 1)[0])


def stages(vertices, faces, n, repeat):
    """Best time of each stage of ``fracture_mesh`` at ``n`` cells."""
    spec = FractureSpec(cell_count=n, seed=0)
    out = {}
    out["check mesh"], solid = best_of(repeat, lambda: mf.prepare_solid(vertices, faces))
    out["seeds inside"], seeds = best_of(repeat, lambda: mf.sample_mesh_seeds(
        spec, solid, n, element_generators(0, 1)[0]))
    out["voronoi cells"], cells = best_of(repeat, lambda: box_voronoi_cells(seeds, solid.lo, solid.hi))
    out["classify cells"], (crossing, facing, plane_tri, pairs) = best_of(
        repeat, lambda: mf._classify_cells(cells, solid))
    clip = plane_tri >= 0
    ids = np.nonzero(crossing & ~clip)[0]
    out[f"plane clips ({int(clip.sum())} cells)"], (clipped, whole) = best_of(
        repeat, lambda: mf._clip_cells(cells, np.nonzero(clip)[0], plane_tri[clip], pairs, solid))
    out[f"booleans ({len(ids)} cells)"], pieces = best_of(repeat, lambda: mf._cut_cells(cells, ids, solid, facing))
    crossing = crossing.copy()
    crossing[whole] = False
    out["polygons, contacts"], _ = best_of(repeat, lambda: mf._assemble(cells, crossing, pieces, solid, clipped))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    r = args.repeat

    wall_v, wall_f = wall_with_windows_mesh(10.0, 0.3, 6.0, windows=6, window_w=1.2, window_h=1.4)
    wall_volume = mf.prepare_solid(wall_v, wall_f).volume
    print("wall 10 x 0.3 x 6 m, six 1.2 x 1.4 m windows (fracture_mesh, whole call)")
    print(f"{'cells':>7} {'shards':>7} {'seconds':>8} {'cells/s':>9} {'non-convex':>10} {'volume err':>10}")
    sizes, times = [], []
    for n in (250, 1000, 4000, 16000):
        dt, shards = best_of(r, lambda n=n: mf.fracture_mesh(wall_v, wall_f, FractureSpec(cell_count=n, seed=0)))
        err = abs(shards.volume.sum() / wall_volume - 1)
        sizes.append(n)
        times.append(dt)
        bar = f"  (bar {WALL_BAR_S} s)" if n == 1000 else ""
        print(f"{n:7d} {shards.count:7d} {dt:8.3f} {n / dt:9.0f} {int((~shards.convex).sum()):10d} {err:10.1e}{bar}")
    print(f"growth exponent {exponent(sizes, times):.2f} (N log N over this range ~ 1.1)")

    print("\nwall, 1,000 cells, per stage")
    for name, dt in stages(wall_v, wall_f, 1000, r).items():
        print(f"  {name:28} {dt * 1e3:7.1f} ms")

    print("\nother solids, 1,000 cells")
    lv, lf = l_block_mesh()
    dt, shards = best_of(r, lambda: mf.fracture_mesh(lv, lf, FractureSpec(cell_count=1000, seed=0)))
    print(f"  L-block 4 x 3 x 2 m          {dt:7.3f} s  {shards.count} shards")
    hi = np.array([10.0, 4.0, 3.0])
    bv, bf = box_mesh([0, 0, 0], hi)
    dt_mesh, _ = best_of(r, lambda: mf.fracture_mesh(bv, bf, FractureSpec(cell_count=1000, seed=0)))
    seeds = mf.sample_mesh_seeds(FractureSpec(), mf.prepare_solid(bv, bf), 1000, np.random.default_rng(0))
    dt_box, _ = best_of(r, lambda: fracture_box([0, 0, 0], hi, seeds))
    print(f"  box 10 x 4 x 3 m, mesh path  {dt_mesh:7.3f} s  (convex box path {dt_box:.3f} s, "
          f"ratio {dt_mesh / dt_box:.1f}x)")

    print("\nreal LoD2.2 houses (3D BAG, tests/data)")
    houses = load_cityjson(HOUSES, lod="2.2")
    for n in (300, 1000):
        total, count, worst = 0.0, 0, 0.0
        for name, v, f in houses:
            dt, shards = best_of(r, lambda v=v, f=f, name=name, n=n: mf.fracture_mesh(
                v, f, FractureSpec(cell_count=n, seed=0), name=name))
            vol = mf.prepare_solid(v, f).volume
            worst = max(worst, abs(shards.volume.sum() / vol - 1))
            total += dt
            count += shards.count
        print(f"  10 houses x {n:5d} cells: {total:6.2f} s ({total / 10:.3f} s a house, "
              f"{10 * n / total:.0f} cells/s), {count} shards, worst volume error {worst:.1e}")
    name, v, f = max(houses, key=lambda h: len(h[2]))
    dt, shards = best_of(r, lambda: mf.fracture_mesh(v, f, FractureSpec(cell_count=1000, seed=0)))
    print(f"  house {name} ({len(f)} triangles), 1,000 cells: {dt:.3f} s, {shards.count} shards, "
          f"{int((~shards.convex).sum())} non-convex")


if __name__ == "__main__":
    main()
