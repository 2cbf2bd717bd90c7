"""Stress solver speed: a cold solve and a re-solve of one actor, the old path and the new side by side.

Run: ``.venv/bin/python bench/bench_stress.py`` (``--sizes`` to change the fracture cell counts).
For procedural buildings fractured so that one actor has about 1,000 / 10,000 / 40,000 bonds (the
issue-10 bar: re-solve a 10,000-bond actor in <= 50 ms) it prints, in one run:

- cold: the old path (``solve_bonds`` without a cache: assembly, then SuperLU below 6,000 DOFs or
  multigrid-preconditioned CG) and the new one (``solve_bonds`` with a cache, what ``settle`` uses:
  the fixed-pattern system of ``core.stress_system`` assembled and factored once);
- warm, a re-solve after 1 % of the bonds broke at random: the old path's solve (CG warm-started
  from the previous displacements with the previous multigrid preconditioner, or SuperLU below
  6,000 DOFs; its assembly not counted) and the new path's whole ``solve_bonds`` call (update of
  the cached matrix, CG with the cached factor and a local solve where bonds broke, bond forces);
- the bond forces of both against an exact sparse LU solve of the broken state (max difference
  over the largest force).

CPU time (process time, best of ``--repeat``): the machine may be shared, wall time would show its
load. Read the ratios.
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np

from collapse_addon.core import stress_linear
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.stress_solver import settle, solve_bonds
from collapse_addon.core.support_graph import build_support_graph, gravity_forces

BAR_SECONDS = 0.050


def best_of(repeat, fn):
    """Best CPU (process) time of ``repeat`` runs of ``fn`` and its last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        times.append(time.process_time() - t)
    return min(times), out


def family(cells_per_storey: int = 60):
    """Max bond utilisation under gravity over a generated family, material capacities only and
    as designed (``design_factor`` 1.5), and what cutting the ground storey does."""
    from collapse_addon.core.physics import shard_kinds, shard_storeys

    print("storeys span walls  bonds  raw-max  raw>=1  designed-max  raised  breaks  cut: upper block (share, free)")
    worst_raw = worst = 0.0
    for storeys in (1, 3, 6, 10, 14, 20):
        for span in (4.0, 6.5, 9.0):
            for walls in (True, False):
                spec = BuildingSpec(storeys=storeys, bays_x=3 if storeys < 10 else 2, bays_y=2, bay_width=span,
                                    bay_depth=span, facades=("south", "north", "west", "east") if walls else ())
                building = generate_building(spec)
                shards = fracture_building(building, FractureSpec(cell_count=cells_per_storey * storeys, seed=1))
                raw = build_support_graph(building, shards, design_factor=0)
                graph = build_support_graph(building, shards)
                forces = gravity_forces(graph)
                alive = np.ones(graph.n_bonds, bool)
                r_raw = settle(raw, alive, forces, raw.support, max_rounds=1).utilisation
                result = settle(graph, alive, forces, graph.support)
                kinds, st = shard_kinds(building, shards), shard_storeys(building, shards)
                cut = np.isin(kinds, ("column", "wall")) & (st == 0)
                upper = st >= 1
                share, free = 1.0, True
                if upper.any():
                    after = settle(graph, ~cut[graph.bond_pairs].any(1), forces, graph.support)
                    lab = after.labels[upper]
                    big = np.bincount(lab).argmax()
                    share, free = np.mean(lab == big), not after.supported[big]
                worst_raw, worst = max(worst_raw, r_raw.max()), max(worst, result.utilisation.max())
                print(f"{storeys:7d} {span:4.1f} {walls!s:5} {graph.n_bonds:6d}  {r_raw.max():7.2f}  "
                      f"{np.mean(r_raw >= 1):6.1%}  {result.utilisation.max():12.3f}  {np.mean(graph.designed):6.1%}  "
                      f"{len(result.broken):6d}  {share:.0%} {'falls' if free else 'HELD'}")
    print(f"family max utilisation: material only {worst_raw:.2f}, designed {worst:.3f}")


def progressive():
    """``settle`` after the ground storey loses a corner column / the x = 0 column line / two
    column lines: rounds, bonds broken (with a digest to compare runs and code versions), time."""
    import hashlib

    from collapse_addon.core.physics import shard_kinds, shard_storeys

    for storeys, bays_x, bays_y, cells in ((6, 3, 2, 600), (8, 4, 3, 3000)):
        building = generate_building(BuildingSpec(storeys=storeys, bays_x=bays_x, bays_y=bays_y))
        shards = fracture_building(building, FractureSpec(cell_count=cells, seed=1))
        graph = build_support_graph(building, shards)
        forces = gravity_forces(graph)
        ground = (shard_kinds(building, shards) == "column") & (shard_storeys(building, shards) == 0)
        x, y = graph.centroid[:, 0], graph.centroid[:, 1]
        cases = {"corner column": ground & (x < x.min() + 1) & (y < y.min() + 1),
                 "x = 0 column line": ground & (x < x.min() + 1),
                 "two column lines": ground & (x < x.min() + 1 + building.spec.bay_width)}
        for name, removed in cases.items():
            alive = ~removed[graph.bond_pairs].any(1)
            t, r = best_of(1, lambda a=alive, g=graph, f=forces: settle(g, a, f, g.support))
            digest = hashlib.sha256(np.sort(r.broken).tobytes()).hexdigest()[:10]
            print(f"{storeys}x{bays_x}x{bays_y}:{cells} {graph.n_bonds:6d} bonds | {name:17s} | {t:6.2f} s CPU | "
                  f"{len(r.broken)} broken (digest {digest}), {r.rounds} rounds", flush=True)


def _capture(fn):
    """Run ``fn`` and return the (K, b, points) that the old path handed to ``solve_stiffness``."""
    captured = {}
    original = stress_linear.solve_stiffness

    def capture(K, b, points, groups=None, **kw):
        captured.update(K=K, b=b, points=points)
        return original(K, b, points, groups, **kw)

    stress_linear.solve_stiffness = capture
    try:
        fn()
    finally:
        stress_linear.solve_stiffness = original
    return captured["K"], captured["b"], captured["points"]


def one_size(size: str, repeat: int):
    """``size``: "storeys x bays_x x bays_y : fracture cells" of a procedural building."""
    shape, cells = size.split(":")
    storeys, bays_x, bays_y = (int(v) for v in shape.split("x"))
    cells = int(cells)
    building = generate_building(BuildingSpec(storeys=storeys, bays_x=bays_x, bays_y=bays_y))
    shards = fracture_building(building, FractureSpec(cell_count=cells, seed=0))
    t0 = time.process_time()
    graph = build_support_graph(building, shards)
    t_graph = time.process_time() - t0
    forces = gravity_forces(graph)
    alive = np.ones(graph.n_bonds, bool)
    rng = np.random.default_rng(0)
    cut = alive.copy()
    cut[rng.choice(graph.n_bonds, max(1, graph.n_bonds // 100), replace=False)] = False

    # old path: cold solve, then the re-solve's linear solve (warm start + previous preconditioner)
    t_old_cold, _ = best_of(repeat, lambda: solve_bonds(graph, alive, forces, graph.support))
    K0, b0, p0 = _capture(lambda: solve_bonds(graph, alive, forces, graph.support))
    K1, b1, p1 = _capture(lambda: solve_bonds(graph, cut, forces, graph.support))
    info: dict = {}
    x0 = stress_linear.solve_stiffness(K0, b0, p0, info=info)
    warm = K1.shape == K0.shape and info["method"] == "pcg"
    kw = dict(x0=x0, pre=info["pre"]) if warm else {}
    info1: dict = {}
    t_old_warm, _ = best_of(repeat, lambda: stress_linear.solve_stiffness(K1, b1, p1, info=info1, **kw))
    old_forces, _, _ = solve_bonds(graph, cut, forces, graph.support)

    # new path: the cached system (cold: assemble + factor; warm: update + local correction)
    t_new_cold, cache = best_of(repeat, lambda: _cold(graph, alive, forces))
    base, u0 = cache.get("system"), cache.get("u")

    def resolve():  # every repeat from the same cached state (the factor of the intact actor)
        if base is not None:
            system = copy.copy(base)
            system.full, system.current = base.full.copy(), base.current.copy()
            cache.update(system=system, u=u0.copy())
        return solve_bonds(graph, cut, forces, graph.support, cache)[0]

    t_new_warm, new_forces = best_of(repeat, resolve)
    exact, _, _ = solve_bonds(graph, cut, forces, graph.support, {})  # fresh cache: an exact LU solve

    def err(f):
        return float(np.abs(f - exact).max() / np.abs(exact).max())

    n_dofs = K1.shape[0]
    print(f"{size:11s} {graph.n_bonds:6d} bonds {graph.n_nodes:6d} shards {n_dofs:6d} DOFs | graph {t_graph:6.2f} s | "
          f"cold old {t_old_cold * 1e3:7.1f} ms new {t_new_cold * 1e3:7.1f} ms ({t_new_cold / t_old_cold:4.2f}x) | "
          f"re-solve old {t_old_warm * 1e3:7.1f} ms ({info1['method']}, {info1['iterations']} it) "
          f"new {t_new_warm * 1e3:6.1f} ms ({cache.get('method', 'exact LU, own DOFs')}, {cache.get('iterations', 0)} it, "
          f"{cache.get('changed', 0)} nodes) "
          f"= {t_new_warm / t_old_warm:4.2f}x | force error vs exact: old {err(old_forces):.1e} new {err(new_forces):.1e}")
    return graph, forces, t_new_warm


def _cold(graph, alive, forces):
    cache: dict = {}
    solve_bonds(graph, alive, forces, graph.support, cache)
    return cache


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="2x2x1:300,8x4x3:3000,8x4x3:12000",
                        help="storeys x bays x bays : cells, comma-separated (default ~1,000 / 10,500 / 42,000 bonds)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--family", action="store_true", help="also the generated family's utilisation")
    parser.add_argument("--progressive", action="store_true", help="also settle after ground-storey columns go")
    args = parser.parse_args()
    if args.family:
        family()
    if args.progressive:
        progressive()
    print("procedural buildings (storeys x bays x bays : cells), one actor each; re-solve after 1 % of the "
          "bonds broke; CPU times")
    for size in args.sizes.split(","):
        graph, forces, t_warm = one_size(size, args.repeat)
        if 9_000 <= graph.n_bonds <= 12_000:
            print(f"  bar (10,000-bond actor re-solved in <= {BAR_SECONDS * 1e3:.0f} ms): "
                  f"{'met' if t_warm <= BAR_SECONDS else f'missed, {t_warm / BAR_SECONDS:.2f}x'}")
            all_alive = np.ones(graph.n_bonds, bool)
            t_settle, result = best_of(1, lambda g=graph, f=forces, a=all_alive: settle(g, a, f, g.support))
            print(f"  settle under gravity: {t_settle * 1e3:8.1f} ms, {result.rounds} round(s), "
                  f"max utilisation {result.utilisation.max():.3f}")


if __name__ == "__main__":
    main()
