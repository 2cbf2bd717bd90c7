"""Sliver control: no shard below a minimum volume, by re-fracturing without the seeds of tiny cells.

Pure numpy/scipy (never imports bpy). A Voronoi cell squeezed between close seeds or cut off by an
element's boundary can be a sliver of a few grams, which a rigid-body solver throws out at absurd
speeds. Merging it into a neighbour would make a non-convex union (the box path's shards are convex
cells), so instead the seed whose cell is too small is dropped and the element re-cut: the
neighbouring cells grow over its space, every shard stays an exact, closed Voronoi cell, volumes
still add up and the contact graph is recomputed exactly. A few rounds settle it (dropping a seed
only enlarges its neighbours).

Box path: checked on the raw Voronoi cells of each element before any shard or contact is built,
so only the affected elements are re-cut (no second fracture). Mesh path: checked on the shards
and the solid re-fractured (slivers come from the clipping there). A cell's volume is the sum of
the shards whose nearest seed it is (on the mesh path a cell cut by
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
    return small_cells(cell_volumes(seeds, centroids, volumes), min_volume)


def small_cells(vol: np.ndarray, min_volume: float) -> np.ndarray:
    """(K,) bool: cells under ``min_volume`` (capped at a tenth of the mean cell; never all)."""
    if min_volume <= 0 or len(vol) <= 1:
        return np.zeros(len(vol), bool)
    limit = min(min_volume, MAX_FRACTION * float(vol.sum()) / len(vol))
    small = vol < limit
    if small.all():
        small[np.argmax(vol)] = False
    return small


def raw_cell_volumes(cells) -> np.ndarray:
    """Volume of every cell of a ``voronoi.RawCells`` (divergence theorem over its oriented faces)."""
    from .voronoi import face_area_vectors

    area = cells.area_vectors
    if area is None:
        area = face_area_vectors(cells.vertices, cells.loops, cells.face_sizes)[0]
    corner = cells.vertices[cells.loops[cells.loop_start]]
    face_cell = np.repeat(np.arange(cells.count), np.diff(cells.face_start))
    return np.bincount(face_cell, np.einsum("ij,ij->i", area, corner) / 3.0, cells.count)


def drop_sliver_cells(seeds: list[np.ndarray], cells: list, min_volume: float, recut):
    """Box path, before any shard is built: per element, drop the seeds of cells under the
    threshold and re-cut only that element (``recut(i, seeds) -> RawCells``). Convex cells are
    their shards, so this costs a few elements' Voronoi cells, not a second fracture."""
    seeds, cells = list(seeds), list(cells)
    for i in range(len(seeds)):
        for _ in range(MAX_ROUNDS):
            s = np.asarray(seeds[i], float)
            if len(s) <= 1:
                break
            drop = small_cells(raw_cell_volumes(cells[i]), min_volume)
            if not drop.any():
                break
            seeds[i] = s[~drop]
            cells[i] = recut(i, seeds[i])
    return seeds, cells


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


def sliver_bonds(volume: np.ndarray, pairs: np.ndarray, area: np.ndarray, min_volume: float) -> np.ndarray:
    """(M,) bool: for every shard under ``min_volume``, its largest contact (made unbreakable).

    What re-fracturing cannot remove (a small island of a large cell cut by a non-convex mesh, or
    a fracture with slivers turned off) still never flies out on its own: the stress solver keeps
    it bonded to the neighbour it shares the most face with, so it moves as part of that actor.
    """
    volume = np.asarray(volume, float)
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    out = np.zeros(len(pairs), bool)
    small = volume < min_volume
    if min_volume <= 0 or not small.any() or len(pairs) == 0:
        return out
    ends = np.concatenate([pairs[:, 0], pairs[:, 1]])
    bond = np.concatenate([np.arange(len(pairs))] * 2)
    keep = small[ends]
    ends, bond = ends[keep], bond[keep]
    order = np.lexsort((bond, -np.asarray(area, float)[bond], ends))  # per shard: largest area first
    _, first = np.unique(ends[order], return_index=True)
    out[bond[order[first]]] = True
    return out
