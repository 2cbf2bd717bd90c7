"""Multi-level fracture: finer cells where the structure is likely to break (pure numpy/scipy).

A cheap first pass: the building is fractured coarsely (a quarter of the cells), the stress
solver rates every bond of that coarse fracture under gravity with the demolition trigger's
supports removed (``stress_solver.bond_utilisation``), and each coarse cell gets the largest
utilisation of its bonds. The final seeds are drawn with a density that rises from 1 (cells
under a quarter of the 90th-percentile utilisation) to ``stress_refine`` (at or above it), so
the shards go where breaks are likely; the fracture itself is the same exact Voronoi
(``fracture_boxes``), so shard volumes still add up to the building's.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .debris import allocate
from .fracture import fracture_boxes, fracture_building
from .seeds import FractureSpec, element_generators

COARSE_SHARE = 0.25  # the coarse pass has this share of the cells


def coarse_utilisation(building, shards, trigger=None) -> np.ndarray:
    """(S,) each shard's largest bond utilisation under gravity, the trigger's supports removed
    (demolition triggers; other triggers: gravity alone)."""
    from .stress_solver import bond_utilisation
    from .support_graph import build_support_graph, gravity_forces

    graph = build_support_graph(building, shards)
    alive = np.ones(graph.n_bonds, bool)
    if trigger is not None and trigger.type == "demolition":
        from .trigger_plan import demolition_supports

        removed = np.zeros(shards.count, bool)
        removed[demolition_supports(building, shards, trigger, graph.support)] = True
        alive &= ~(removed[graph.bond_pairs[:, 0]] | removed[graph.bond_pairs[:, 1]])
    ratio = bond_utilisation(graph, alive, gravity_forces(graph), graph.support)[0]
    ratio = np.where(np.isfinite(ratio), ratio, 0.0)
    out = np.zeros(shards.count)
    np.maximum.at(out, graph.bond_pairs[:, 0], ratio)
    np.maximum.at(out, graph.bond_pairs[:, 1], ratio)
    return out


def cell_density(utilisation: np.ndarray, ratio: float) -> np.ndarray:
    """Relative seed density per coarse cell: 1 to ``ratio``, linear in utilisation up to a
    quarter of its 90th percentile (most of a loaded region refines, not only its peak)."""
    loaded = utilisation[utilisation > 0]
    ref = 0.25 * float(np.quantile(loaded, 0.9)) if len(loaded) else 1.0
    return 1.0 + (ratio - 1.0) * np.clip(utilisation / max(ref, 1e-12), 0.0, 1.0)


def stress_refined_fracture(building, spec: FractureSpec, trigger=None):
    """The fracture with ``spec.cell_count`` cells, finer where the coarse pass is highly
    utilised (module doc). Returns (shards, coarse shards, coarse cell density)."""
    import dataclasses

    total = spec.cell_count if spec.shard_size is None else None
    coarse_spec = dataclasses.replace(spec, cell_count=max(1, int(round(COARSE_SHARE * (total or 0)))),
                                      shard_size=None if total else spec.shard_size / COARSE_SHARE ** (1 / 3))
    coarse = fracture_building(building, coarse_spec)
    dens = cell_density(coarse_utilisation(building, coarse, trigger), spec.stress_refine)
    lo = np.array([e.lo for e in building.elements])
    hi = np.array([e.hi for e in building.elements])
    breakable = np.array([e.kind != "foundation" for e in building.elements])
    # cells per element: the uniform allocation, weighted by the element's mean coarse density
    weight = np.ones(len(lo))
    for e in np.flatnonzero(breakable):
        cells = coarse.element == e
        weight[e] = np.average(dens[cells], weights=coarse.volume[cells]) if cells.any() else 1.0
    volume = np.prod(hi - lo, axis=1)
    if total is None:
        total = int(round(volume[breakable].sum() / spec.shard_size**3))
    counts = np.ones(len(lo), np.int64)
    counts[breakable] = np.maximum(allocate(volume[breakable] * weight[breakable], total),
                                   spec.min_cells_per_element)
    rngs = element_generators(spec.seed, len(lo))
    owner_tree = cKDTree(coarse.centroid)
    seeds = []
    for e in range(len(lo)):
        if not breakable[e]:
            seeds.append((0.5 * (lo[e] + hi[e]))[None])
            continue
        seeds.append(_sample(lo[e], hi[e], int(counts[e]), rngs[e], owner_tree, dens,
                             coarse.element, e))
    shards = fracture_boxes(lo, hi, seeds, contacts=building.contacts, gap=spec.gap,
                            min_volume=spec.min_shard_volume)
    return shards, coarse, dens


def _sample(lo, hi, count, rng, tree, dens, element, e) -> np.ndarray:
    """``count`` seeds in the box by rejection from the density of element ``e``'s coarse cell
    whose centre is nearest."""
    inset = 1e-6 * (hi - lo)
    lo_in, hi_in = lo + inset, hi - inset
    mine = np.flatnonzero(element == e)
    local = dens[mine]
    peak = float(local.max()) if len(local) else 1.0
    sub = cKDTree(tree.data[mine]) if len(mine) else None
    chosen, have = [], 0
    while have < count:
        batch = max(64, 4 * (count - have))
        cand = rng.uniform(lo_in, hi_in, size=(batch, 3))
        d = local[sub.query(cand)[1]] if sub is not None else np.ones(batch)
        keep = cand[rng.uniform(0.0, peak, batch) < d]
        chosen.append(keep)
        have += len(keep)
    return np.concatenate(chosen)[:count]
