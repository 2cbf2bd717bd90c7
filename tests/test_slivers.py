"""Sliver control: no shard below the minimum volume, exact shards and contacts after re-fracture."""

from __future__ import annotations

import numpy as np
import pytest
from shard_checks import assert_closed_outward

from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.errors import SpecError
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.mesh_fracture import fracture_mesh
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.slivers import cell_volumes, sliver_seeds


def box_mesh(lo, hi):
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], float)
    return v, [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]]


def test_sliver_seed_is_the_small_cell():
    seeds = np.array([[0.5, 0.5, 0.5], [2.0, 0.5, 0.5], [2.02, 0.5, 0.5]])
    centroids = np.array([[0.6, 0.5, 0.5], [1.9, 0.5, 0.5], [2.03, 0.5, 0.5]])
    volumes = np.array([1.2, 0.8, 0.001])
    assert cell_volumes(seeds, centroids, volumes) == pytest.approx(volumes)
    assert sliver_seeds(seeds, centroids, volumes, 0.01).tolist() == [False, False, True]
    # never more than a tenth of the mean cell: a fine fracture keeps its small cells
    assert not sliver_seeds(seeds, centroids, np.array([0.002, 0.0021, 0.0019]), 0.01).any()
    with pytest.raises(SpecError, match="min_shard_volume"):
        FractureSpec(min_shard_volume=-1.0)


def test_building_has_no_sliver_and_stays_exact():
    building = generate_building(BuildingSpec(bays_x=2, bays_y=1, storeys=2))
    spec = FractureSpec(cell_count=400, seed=11, min_shard_volume=0.03)
    raw = fracture_building(building, FractureSpec(cell_count=400, seed=11, min_shard_volume=0.0))
    shards = fracture_building(building, spec)
    element_volume = np.array([e.volume for e in building.elements])
    per_element = np.bincount(shards.element, shards.volume, len(element_volume))
    assert per_element == pytest.approx(element_volume, rel=1e-9)

    def under(s):
        counts = np.bincount(s.element, minlength=len(element_volume))
        limit = np.minimum(0.03, 0.1 * element_volume / np.maximum(counts, 1))
        return s.volume < limit[s.element]

    assert under(raw).any()  # there were slivers to remove
    assert not under(shards).any()
    assert shards.count < raw.count
    for s in range(0, shards.count, 37):
        assert_closed_outward(shards, s)
    # the contact graph is the new cells': every contact's area is a real shared face
    assert (shards.contacts.pairs < shards.count).all()
    assert shards.contacts.area.min() > 0


def test_mesh_path_has_no_sliver():
    v, f = box_mesh((0, 0, 0), (3, 2, 0.15))  # a thin slab: cells cut by its faces can be slivers

    def smallest(min_volume):
        shards = fracture_mesh(v, f, FractureSpec(cell_count=300, seed=1, min_shard_volume=min_volume))
        assert shards.volume.sum() == pytest.approx(0.9, rel=1e-9)
        return shards.volume.min() / shards.volume.mean()

    assert smallest(0.0) < 0.1 <= smallest(1.0)  # capped at a tenth of the mean shard


def test_a_remaining_sliver_keeps_its_largest_bond():
    """What re-fracturing leaves (here: slivers turned off) never becomes an actor of its own."""
    from collapse_addon.core.building import Building, Element, element_box_contacts
    from collapse_addon.core.stress_solver import settle
    from collapse_addon.core.support_graph import build_support_graph, gravity_forces

    v, f = box_mesh((0, 0, 0), (3, 2, 0.15))
    shards = fracture_mesh(v, f, FractureSpec(cell_count=300, seed=1, min_shard_volume=0.0))
    lo, hi = v.min(0), v.max(0)
    building = Building(None, [Element(0, "mesh", 0, "concrete", lo, hi)], element_box_contacts(lo[None], hi[None]))
    graph = build_support_graph(building, shards, sliver_volume=0.0005)
    small = np.nonzero(shards.volume < 0.0005)[0]
    assert len(small)
    forever = np.isinf(graph.capacity_tension)
    for s in small:
        mine = np.nonzero((graph.bond_pairs == s).any(1))[0]
        assert forever[mine].sum() >= 1
        assert forever[mine[np.argmax(graph.bond_area[mine])]]
    # tear at the sliver with 10 MN: it may take its neighbour along, but never leaves alone
    forces = gravity_forces(graph)
    forces[small[0], 2] += 1e7
    result = settle(graph, np.ones(graph.n_bonds, bool), forces, graph.support)
    assert (result.labels == result.labels[small[0]]).sum() >= 2
