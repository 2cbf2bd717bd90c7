"""The actor solver's local views and broad phase (the parts that keep a bake near-linear in shards):
each must give exactly what the plain whole-building computation gives."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from collapse_addon.core.actor_local import BondIndex, local_graph
from collapse_addon.core.actor_world import ActorWorld
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.fracture import FractureSpec, fracture_building
from collapse_addon.core.rigid import ContactModel, ShardShapes
from collapse_addon.core.stress_solver import settle
from collapse_addon.core.support_graph import build_support_graph, gravity_forces, subgraph


@pytest.fixture(scope="module")
def shot():
    building = generate_building(BuildingSpec(storeys=2, bays_x=2, bays_y=1))
    shards = fracture_building(building, FractureSpec(cell_count=160, seed=3))
    graph = build_support_graph(building, shards, ground_z=float(building.lo[2]))
    return building, shards, graph


def test_bonds_among_a_part_equal_the_plain_mask(shot):
    _, _, graph = shot
    rng = np.random.default_rng(0)
    index = BondIndex(graph)
    alive = rng.random(graph.n_bonds) > 0.2
    for size in (1, 5, 30, graph.n_nodes // 2, graph.n_nodes):  # adjacency and dense paths
        nodes = np.sort(rng.choice(graph.n_nodes, size, replace=False))
        mask = np.zeros(graph.n_nodes, bool)
        mask[nodes] = True
        a, b = graph.bond_pairs.T
        assert np.array_equal(index.among(nodes, alive), np.nonzero(mask[a] & mask[b] & alive)[0])


def test_a_part_settled_on_its_own_graph_breaks_what_the_whole_graph_breaks(shot):
    _, _, graph = shot
    index = BondIndex(graph)
    low = graph.centroid[:, 2] < np.median(graph.centroid[:, 2])
    nodes = np.nonzero(low)[0]
    bonds = index.among(nodes, np.ones(graph.n_bonds, bool))
    part = local_graph(graph, nodes, bonds)
    reference, node_index, bond_index = subgraph(graph, low)
    assert np.array_equal(node_index, nodes) and np.array_equal(bond_index, bonds)
    assert np.array_equal(part.bond_pairs, reference.bond_pairs)
    load = gravity_forces(part) * 40.0  # far over capacity: bonds break
    mine = settle(part, np.ones(part.n_bonds, bool), load, part.support, max_rounds=3)
    theirs = settle(reference, np.ones(reference.n_bonds, bool), load, reference.support, max_rounds=3)
    assert len(mine.broken) > 0
    assert np.array_equal(mine.broken, theirs.broken) and np.array_equal(mine.labels, theirs.labels)


def test_actor_pairs_are_every_overlapping_pair_of_different_actors(shot):
    _, shards, graph = shot
    shapes = ShardShapes.from_shards(shards)
    world = ActorWorld(shapes, shards.centroid, graph.mass, graph.inertia, ground_z=0.0, gravity=9.81,
                       contact=ContactModel(100.0))
    # one big actor (the lower half) and many small ones (single shards) next to it
    low = np.nonzero(shards.centroid[:, 2] < np.median(shards.centroid[:, 2]))[0]
    world.make_actor(low)
    for s in np.nonzero(shards.centroid[:, 2] >= np.median(shards.centroid[:, 2]))[0][::2]:
        world.make_actor(np.array([s]))
    pos, _ = world.shard_poses()
    solid = np.nonzero(world.owner >= 0)[0]
    found = world._actor_pairs(pos, solid)
    assert np.array_equal(found, np.unique(found, axis=0))  # sorted, no repeats
    r = shapes.radius
    a, b = found.T
    keep = (world.owner[a] != world.owner[b]) & (np.linalg.norm(pos[a] - pos[b], axis=1) < r[a] + r[b])
    everything = cKDTree(pos[solid]).query_pairs(2 * r.max(), output_type="ndarray")
    c, d = solid[everything].T
    want = (world.owner[c] != world.owner[d]) & (np.linalg.norm(pos[c] - pos[d], axis=1) < r[c] + r[d])
    expect = {tuple(sorted(p)) for p in solid[everything][want].tolist()}
    assert len(expect) > 10
    assert {tuple(p) for p in found[keep].tolist()} == expect
