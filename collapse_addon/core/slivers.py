"""Sliver control: no shard below a minimum volume, by re-fracturing without the seeds of tiny cells.

Pure numpy/scipy (never imports bpy). A Voronoi cell squeezed between close seeds or cut off by an
element's boundary can be a sliver of a few grams, which a rigid-body solver throws out at absurd
speeds. Merging it into a neighbour would make a non-convex union (the box path's shards are convex
cells), so instead the seed whose cell is too small is dropped and the element re-fractured: the
neighbouring cells grow over its space, every shard stays an exact, closed Voronoi cell, volumes
still add up and the contact graph is recomputed exactly. A few rounds settle it (dropping a seed
only enlarges its neighbours).

A cell's volume is the sum of the shards whose nearest seed it is (on the mesh path a cell cut by
a non-convex mesh can be several pieces: each piece lies in its cell, so its centroid's nearest
seed is its own). A small island of a large cell stays (its seed carries a large shard).

Threshold per element: ``min_shard_volume``, but never more than ``MAX_FRACTION`` of the element's
mean shard volume, so a deliberately fine fracture keeps its detail.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

MAX_FRACTION = 0.1
MAX_ROUNDS = 4


def cell_volumes(seeds: np.ndarray, centroids: np.ndarray, volumes: np.ndarray) -> np.ndarray:
    """Volume of each seed's cell: the shards whose centroid is nearest to it."""
    seeds = np.asarray(seeds, float)
    if len(seeds) == 1:
        return np.array([float(np.sum(volumes))])
    _, owner = cKDTree(seeds).query(np.asarray(centroids, float))
    return np.bincount(owner, volumes, len(seeds))


def sliver_seeds(seeds: np.ndarray, centroids: np.ndarray, volumes: np.ndarray, min_volume: float) -> np.ndarray:
    """(K,) bool: seeds whose cell is under the threshold (never every seed)."""
    if min_volume <= 0 or len(seeds) <= 1:
        return np.zeros(len(seeds), bool)
    vol = cell_volumes(seeds, centroids, volumes)
    limit = min(min_volume, MAX_FRACTION * float(vol.sum()) / len(seeds))
    small = vol < limit
    if small.all():
        small[np.argmax(vol)] = False
    return small


def without_slivers(fracture, seeds: list[np.ndarray], shards, min_volume: float, element=None):
    """Re-fracture until no element has a cell below its threshold.

    ``fracture(seeds_list) -> ShardSet`` fractures every element from its seed array; ``shards``
    is its result for ``seeds``; ``element`` (optional (S,) array) says which seed array each shard
    belongs to (default: ``shards.element``). Returns ``(shards, seeds)``.
    """
    if min_volume <= 0:
        return shards, seeds
    seeds = [np.asarray(s, float) for s in seeds]
    for _ in range(MAX_ROUNDS):
        owner = shards.element if element is None else element
        changed = False
        new = []
        for e, s in enumerate(seeds):
            mine = owner == e
            drop = sliver_seeds(s, shards.centroid[mine], shards.volume[mine], min_volume)
            if drop.any():
                changed = True
                s = s[~drop]
            new.append(s)
        if not changed:
            break
        seeds = new
        shards = fracture(seeds)
    return shards, seeds
