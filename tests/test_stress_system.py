"""The stress solver's cached stiffness system: re-solves after bonds broke are local updates that
give the exact solve's bond forces (numpy/scipy only)."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core import stress_system
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.stress_solver import settle, solve_bonds
from collapse_addon.core.support_graph import build_support_graph, gravity_forces


@pytest.fixture(scope="module")
def frame():
    building = generate_building(BuildingSpec(bays_x=2, bays_y=1, storeys=3))
    shards = fracture_building(building, FractureSpec(cell_count=240, seed=3))
    graph = build_support_graph(building, shards)
    return graph, gravity_forces(graph)


@pytest.fixture
def updating(monkeypatch):
    """The update path on a small graph (it is taken above ``DIRECT_DOFS`` otherwise)."""
    monkeypatch.setattr(stress_system, "DIRECT_DOFS", 0)


def exact(graph, alive, forces, fixed):
    """Bond forces from a direct LU solve (no cache, a system this small is solved directly)."""
    return solve_bonds(graph, alive, forces, fixed)[0]


def close(a, b, rel=5e-5):
    """Equal to the CG tolerance (``stress_system.TOL``, a relative residual of 3e-5): the old
    iterative path stopped at 1e-4."""
    return np.abs(a - b).max() <= rel * np.abs(b).max()


def test_re_solve_after_breaks_is_a_local_update_with_the_exact_forces(frame, updating):
    graph, forces = frame
    alive = np.ones(graph.n_bonds, bool)
    cache: dict = {}
    first = solve_bonds(graph, alive, forces, graph.support, cache)[0]
    assert cache["system"].factorisations == 1 and close(first, exact(graph, alive, forces, graph.support))
    rng = np.random.default_rng(1)
    for _ in range(3):  # 1 % more each time, the cached factor kept
        alive[rng.choice(np.nonzero(alive)[0], graph.n_bonds // 100, replace=False)] = False
        local = solve_bonds(graph, alive, forces, graph.support, cache)[0]
        assert cache["method"] == "update" and 0 < cache["changed"] < 0.15 * graph.n_nodes
        assert cache["iterations"] <= stress_system.SLOW_ITERATIONS
        assert close(local, exact(graph, alive, forces, graph.support))
    assert cache["system"].factorisations == 1
    assert (local[~alive] == 0).all()


def test_supports_changing_and_bonds_coming_back_stay_exact(frame, updating):
    """Held nodes change (more supports, then fewer; a piece cut free and pinned) and broken bonds
    are alive again in the next call: still the exact forces from the same cached system."""
    graph, forces = frame
    alive = np.ones(graph.n_bonds, bool)
    cache: dict = {}
    solve_bonds(graph, alive, forces, graph.support, cache)
    fixed = graph.support | (graph.centroid[:, 2] < 1.0)  # the ground storey's feet held too
    x, z = graph.centroid[:, 0], graph.centroid[:, 2]
    corner = (z > z.max() - 1.5) & (x > x.max() - 3.0)  # a piece of the roof cut free: it is pinned
    cut = alive & (corner[graph.bond_pairs[:, 0]] == corner[graph.bond_pairs[:, 1]])
    methods = []
    for a, f in ((alive, fixed), (cut, fixed), (cut, graph.support), (alive, graph.support)):
        local, labels, supported = solve_bonds(graph, a, forces, f, cache)
        methods.append(cache["method"])
        assert close(local, exact(graph, a, forces, f))
        assert len(supported) == (1 if a is alive else 2)
    assert "update" in methods and cache["system"].factorisations < 1 + len(methods)


def test_many_changes_refactor_and_a_failed_update_falls_back_to_an_exact_solve(frame, updating, monkeypatch):
    graph, forces = frame
    alive = np.ones(graph.n_bonds, bool)
    cache: dict = {}
    solve_bonds(graph, alive, forces, graph.support, cache)
    half = alive & (graph.bond_centroid[:, 0] < np.median(graph.bond_centroid[:, 0]))
    local = solve_bonds(graph, half, forces, graph.support, cache)[0]
    assert cache["system"].factorisations == 2 and cache["changed"] == 0  # factored again
    assert close(local, exact(graph, half, forces, graph.support))
    monkeypatch.setattr(stress_system, "MAX_ITERATIONS", 1)
    fewer = half.copy()
    fewer[np.nonzero(half)[0][::50]] = False
    local = solve_bonds(graph, fewer, forces, graph.support, cache)[0]
    assert cache["method"] == "lu" and cache["system"].factorisations == 3
    assert close(local, exact(graph, fewer, forces, graph.support), rel=1e-9)


def test_settle_with_updates_breaks_what_the_exact_solves_break(frame, monkeypatch):
    """A demolished ground storey: the same bonds break, round by round, with the update path as
    with every solve exact (``DIRECT_DOFS`` above the system's size)."""
    graph, forces = frame
    alive = graph.centroid[graph.bond_pairs, 2].min(1) > 1.0
    monkeypatch.setattr(stress_system, "DIRECT_DOFS", 10**9)
    reference = settle(graph, alive, forces, graph.support)
    monkeypatch.setattr(stress_system, "DIRECT_DOFS", 0)
    result = settle(graph, alive, forces, graph.support)
    assert np.array_equal(result.broken, reference.broken)
    assert np.array_equal(result.labels, reference.labels)
    assert np.allclose(result.utilisation, reference.utilisation, rtol=1e-4, atol=1e-6)


def test_gathered_element_matrices_are_the_computed_ones_bit_for_bit(frame):
    """``Elements`` computes each bond once and serves any part of the graph: the same bits as a
    fresh ``_element_matrices`` of that part, at every force scale."""
    from collapse_addon.core.actor_local import local_graph
    from collapse_addon.core.stress_solver import Elements, _element_matrices

    graph, _ = frame
    store = Elements(graph)
    rng = np.random.default_rng(4)
    for scale in (7e9, 3.3e10, 7e9):
        bonds = np.sort(rng.choice(graph.n_bonds, graph.n_bonds // 3, replace=False))
        part = local_graph(graph, np.unique(graph.bond_pairs[bonds]), bonds)
        mine = np.sort(rng.choice(len(bonds), len(bonds) // 2, replace=False))
        op, ke = store.view(bonds).matrices(part, mine, scale)
        ref_op, ref_ke = _element_matrices(part, mine, scale)
        assert np.array_equal(ke, ref_ke) and np.array_equal(op.g, ref_op.g)
        assert np.array_equal(op.k, ref_op.k) and np.array_equal(op.dofs, ref_op.dofs)
    assert sorted(store.scaled) == [7e9, 3.3e10]


def test_direct_system_kept_between_rounds_gives_the_exact_forces(frame):
    """The pattern and order kept from the first solve: bonds broken, a piece cut free (pinned),
    more nodes held, a node left with no bond: each solve the forces of a fresh exact solve."""
    graph, forces = frame
    alive = np.ones(graph.n_bonds, bool)
    fixed = graph.support | (graph.centroid[:, 2] > graph.centroid[:, 2].max() - 1.0)  # the roof held too
    cache: dict = {}
    solve_bonds(graph, alive, forces, fixed, cache)
    system = cache["direct"][1]
    x, z = graph.centroid[:, 0], graph.centroid[:, 2]
    piece = (z > 2.0) & (z < 4.0) & (x > x.max() - 2.0)
    rng = np.random.default_rng(2)
    steps = []
    a = alive & (piece[graph.bond_pairs[:, 0]] == piece[graph.bond_pairs[:, 1]])  # cut free
    steps.append((a, fixed))
    a = a.copy()
    a[rng.choice(np.nonzero(a)[0], graph.n_bonds // 50, replace=False)] = False
    steps.append((a, fixed))
    lone = np.nonzero((z > 4.5) & (z < z.max() - 1.5))[0][0]  # free in every step
    a = a & ~(graph.bond_pairs == lone).any(1)  # a node with no bond left
    steps.append((a, fixed | (graph.centroid[:, 2] < 1.5)))
    for a, f in steps:
        local, labels, supported = solve_bonds(graph, a, forces, f, cache)
        ref = exact(graph, a, forces, f)
        assert cache["direct"][1] is system
        assert np.abs(local - ref).max() <= 1e-9 * np.abs(ref).max()
        assert (local[~a] == 0).all()
        assert not f[lone]
    assert system.factorisations == 1 + len(steps)
    assert len(supported) > 1 and not supported.all()  # the piece is a free body, solved pinned
    # a part much smaller than the kept system gets a system of its own (its factor costs its size)
    few = fixed | (z > np.sort(z)[len(z) // 3])
    local = solve_bonds(graph, alive, forces, few, cache)[0]
    assert cache["direct"][1] is not system and cache["direct"][1].factorisations == 1
    ref = exact(graph, alive, forces, few)
    assert np.abs(local - ref).max() <= 1e-9 * np.abs(ref).max()
