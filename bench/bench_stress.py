"""Stress solver speed: building the support graph, a cold solve and a re-solve of one actor.

Run: ``.venv/bin/python bench/bench_stress.py`` (``--cells`` to change the size). Prints, for a
procedural building fractured so that one actor has about 10,000 bonds (the issue-10 bar: re-solve
a 10,000-bond actor in <= 50 ms): the support-graph build, a cold solve with the sparse direct LU
and with the multigrid-preconditioned CG side by side (their ratio), and the re-solve after 1 % of
the bonds broke, warm-started with the previous preconditioner (what ``settle`` does every round).
Best of ``--repeat`` runs; the machine's load shows in the figures, so read the ratios.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.sparse.linalg import spsolve

from collapse_addon.core import stress_linear
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.stress_solver import settle, solve_bonds
from collapse_addon.core.support_graph import build_support_graph, gravity_forces

BAR_SECONDS = 0.050


def best_of(repeat, fn):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
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


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, default=3000, help="fracture cells (3,000: ~10,500 bonds)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--family", action="store_true", help="also the generated family's utilisation")
    args = parser.parse_args()
    if args.family:
        family()
    building = generate_building(BuildingSpec(storeys=8, bays_x=4, bays_y=3))
    shards = fracture_building(building, FractureSpec(cell_count=args.cells, seed=0))
    t_graph, graph = best_of(args.repeat, lambda: build_support_graph(building, shards))
    forces = gravity_forces(graph)
    alive = np.ones(graph.n_bonds, bool)
    print(f"building 8 storeys 4 x 3 bays: {graph.n_nodes} shards, {graph.n_bonds} bonds (one actor)")
    print(f"support graph (with the gravity design solve): {t_graph * 1e3:8.1f} ms")

    captured = {}
    original = stress_linear.solve_stiffness

    def capture(K, b, points, groups=None, **kw):
        captured.update(K=K, b=b, points=points)
        return original(K, b, points, groups, **kw)

    stress_linear.solve_stiffness = capture
    t_solve, _ = best_of(args.repeat, lambda: solve_bonds(graph, alive, forces, graph.support))
    stress_linear.solve_stiffness = original
    K, b, points = captured["K"], captured["b"], captured["points"]
    t_colamd, _ = best_of(1, lambda: spsolve(K.tocsc(), b, permc_spec="COLAMD"))
    t_direct, exact = best_of(1, lambda: stress_linear.direct_solve(K, b))
    info: dict = {}
    t_pcg, x = best_of(args.repeat, lambda: stress_linear.solve_stiffness(K, b, points, direct_below=0, info=info))
    err = float(np.abs(x - exact).max() / np.abs(exact).max())
    print(f"{K.shape[0]} DOFs, {K.nnz} nonzeros")
    print(f"cold solve, SuperLU default      : {t_colamd * 1e3:8.1f} ms")
    print(f"cold solve, SuperLU symmetric    : {t_direct * 1e3:8.1f} ms")
    print(f"cold solve, AMG-PCG              : {t_pcg * 1e3:8.1f} ms  ({info['iterations']} iterations, "
          f"max rel. difference {err:.1e}); LU / PCG = {t_direct / t_pcg:.2f}")
    print(f"solve_bonds (assembly + solve)   : {t_solve * 1e3:8.1f} ms")

    rng = np.random.default_rng(0)
    cut = alive.copy()
    cut[rng.choice(graph.n_bonds, graph.n_bonds // 100, replace=False)] = False
    cache: dict = {}
    solve_bonds(graph, alive, forces, graph.support, cache)

    def resolve():
        c = dict(cache)
        solve_bonds(graph, cut, forces, graph.support, c)
        return c

    t_re, c = best_of(args.repeat, resolve)
    print(f"re-solve after 1 % of bonds broke: {t_re * 1e3:8.1f} ms  ({c['iterations']} iterations, "
          f"warm start + previous preconditioner); bar {BAR_SECONDS * 1e3:.0f} ms: "
          f"{'met' if t_re <= BAR_SECONDS else f'missed, {t_re / BAR_SECONDS:.1f}x'}")
    t_settle, result = best_of(1, lambda: settle(graph, alive, forces, graph.support))
    print(f"settle under gravity             : {t_settle * 1e3:8.1f} ms, {result.rounds} round(s), "
          f"max utilisation {result.utilisation.max():.3f}")


if __name__ == "__main__":
    main()
