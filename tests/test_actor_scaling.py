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


def _brute_pairs(world, pos):
    """Every pair that can touch, by testing all of them: bounding spheres overlap, different
    owners, at least one side moving (not a ground-only ghost), the other not a ghost."""
    n = len(world.mass)
    owner = world.owner
    actor = np.maximum(owner, 0)
    moving = (owner >= 0) & world.awake[actor]
    ghost = (owner >= 0) & world.ghost[actor]
    a, b = np.triu_indices(n, 1)
    r = world.shapes.radius
    near = np.linalg.norm(pos[a] - pos[b], axis=1) < r[a] + r[b]
    ok = near & (owner[a] != owner[b]) & (moving[a] | moving[b]) & ~ghost[a] & ~ghost[b]
    return {(int(x), int(y)) for x, y in zip(a[ok], b[ok], strict=True)}


def _brute_contacts(world, pos, quat, pairs):
    """Corners of one shard inside the other's hull (all faces), both ways round, with their
    depth: (owner, other) -> [(point, depth)]."""
    from collapse_addon.core.rigid import quat_matrix

    shapes = world.shapes
    found = {}
    for a, b in pairs:
        for first, second in ((a, b), (b, a)):
            corners = shapes.vertices[first][shapes.vertex_mask[first]]
            world_corners = corners @ quat_matrix(quat[first]).T + pos[first]
            local = (world_corners - pos[second]) @ quat_matrix(quat[second])
            planes = shapes.planes[second]
            depth = -(local @ planes[:, :3].T - planes[:, 3]).max(1)
            for k in np.nonzero(depth > -1e-9)[0]:
                found.setdefault((int(first), int(second)), []).append((world_corners[k], depth[k]))
    return found


def test_kept_pair_list_and_box_culls_find_what_testing_everything_finds(shot):
    """Over a real collapse, step by step: the Verlet list (kept between steps) gives exactly the
    pairs a test of all pairs gives, and the narrow phase's culls (world boxes) drop no contact."""
    from collapse_addon.core.actor_solver import ActorSolver
    from collapse_addon.core.physics import SimulationSpec, TriggerSpec

    building, shards, _ = shot
    solver = ActorSolver(building, shards, SimulationSpec(frame_end=40),
                         TriggerSpec(type="demolition", frame=2, demolition_sweep=0.0))
    world = solver.world
    step, checked, kept, step_index = world.step, [0], [0], [0]

    def checked_step(dt):
        pos, quat = world.shard_poses()
        moving = np.nonzero((world.owner >= 0) & world.awake[np.maximum(world.owner, 0)])[0] \
            if world.count else []
        if len(moving):
            before = world._pair_cache
            pairs = world._pairs(pos, moving, dt)
            kept[0] += world._pair_cache is before
            assert {tuple(sorted(p)) for p in pairs.tolist()} == _brute_pairs(world, pos)
            if len(pairs) and step_index[0] % 3 == 0:
                mine, other, points, depth, _ = world._hull_contacts(pos, quat, pairs)
                brute = _brute_contacts(world, pos, quat, pairs.tolist())
                for key, corners in brute.items():  # every corner clearly inside is found
                    got = points[(mine == key[0]) & (other == key[1])]
                    for point, d in corners:
                        if d > 1e-9:
                            assert len(got) and np.abs(got - point).max(1).min() < 1e-9
                for a, b, p, d in zip(mine, other, points, depth, strict=True):  # and only those
                    assert d > 0 and np.abs(np.array([c for c, _ in brute[(int(a), int(b))]]) - p).max(1).min() < 1e-9
                checked[0] += len(mine)
        step_index[0] += 1
        step(dt)

    world.step = checked_step
    solver.run()
    assert checked[0] > 100 and kept[0] > 10  # contacts were found, and lists were kept
