"""The stress solver: static bond forces, capacities and progressive failure (numpy/scipy only)."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core.building import (
    Building,
    BuildingSpec,
    Element,
    element_box_contacts,
    generate_building,
)
from collapse_addon.core.errors import SpecError
from collapse_addon.core.fracture import fracture_boxes, fracture_building
from collapse_addon.core.physics import shard_kinds, shard_storeys
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.stress_solver import (
    bond_forces,
    bond_frames,
    bond_utilisation,
    components,
    overloaded,
    settle,
    solve_bonds,
)
from collapse_addon.core.support_graph import build_support_graph, gravity_forces

G = 9.81


def boxes_building(boxes):
    """A Building of (kind, material, lo, hi) boxes."""
    elements = [Element(i, kind, 0, mat, np.array(lo, float), np.array(hi, float))
                for i, (kind, mat, lo, hi) in enumerate(boxes)]
    lo = np.array([e.lo for e in elements])
    hi = np.array([e.hi for e in elements])
    return Building(None, elements, element_box_contacts(lo, hi))


def fractured(boxes, seeds):
    building = boxes_building(boxes)
    lo = np.array([e.lo for e in building.elements])
    hi = np.array([e.hi for e in building.elements])
    return building, fracture_boxes(lo, hi, [np.asarray(s, float) for s in seeds], contacts=building.contacts)


def column(levels=6, height=3.0):
    """A 0.4 m concrete column on a foundation block, cut into ``levels`` stacked shards."""
    boxes = [("foundation", "reinforced_concrete", (-1, -1, -1), (1, 1, 0)),
             ("column", "reinforced_concrete", (-0.2, -0.2, 0), (0.2, 0.2, height))]
    zs = (np.arange(levels) + 0.5) * height / levels
    return fractured(boxes, [[(0, 0, -0.5)], [(0.01, -0.01, z) for z in zs]])


def test_column_under_its_own_weight_is_in_compression_equal_to_the_weight_above():
    building, shards = column()
    graph = build_support_graph(building, shards, design_factor=0)
    normal, shear = bond_forces(graph, np.ones(graph.n_bonds, bool), gravity_forces(graph), graph.support)
    for m in range(graph.n_bonds):
        z = graph.bond_centroid[m, 2]
        above = graph.mass[(graph.centroid[:, 2] > z) & ~graph.support].sum() * G
        assert normal[m] == pytest.approx(-above, rel=1e-6), m
        assert shear[m] < 1e-6 * above
    assert (normal < 0).all()
    # 6 shards of 0.4 x 0.4 x 0.5 m of 2400 kg/m^3 concrete
    assert graph.mass[~graph.support].sum() == pytest.approx(0.16 * 3.0 * 2400)


def cantilever(layers=2):
    """A 4 m timber beam sticking out of a wall block, ``layers`` shards deep, 4 long."""
    boxes = [("foundation", "reinforced_concrete", (-1, -1, -2), (0, 1, 2)),
             ("beam", "timber", (0, -0.15, 0), (4, 0.15, 0.4))]
    zs = (np.arange(layers) + 0.5) * 0.4 / layers
    seeds = [(x, 0.0, z) for x in (0.5, 1.5, 2.5, 3.5) for z in zs]
    return fractured(boxes, [[(-0.5, 0, 0)], seeds])


@pytest.mark.parametrize("layers", [1, 2])
def test_cantilever_root_carries_the_moment(layers):
    building, shards = cantilever(layers)
    graph = build_support_graph(building, shards, design_factor=0)
    alive = np.ones(graph.n_bonds, bool)
    local, labels, supported = solve_bonds(graph, alive, gravity_forces(graph), graph.support)
    assert supported.all() and len(supported) == 1
    root = np.nonzero(graph.support[graph.bond_pairs].any(1))[0]
    assert len(root) == layers
    # equilibrium of the beam: the root bonds hold its weight and its moment about the root face
    frames = bond_frames(graph.bond_normal[root])
    force = np.einsum("mji,mj->mi", frames, local[root, :3])  # on the beam side, from the bond
    moment = np.einsum("mji,mj->mi", frames, local[root, 3:])
    beam = ~graph.support
    weight = graph.mass[beam].sum() * G
    # the force a stretched bond puts on its second node pulls it back: -force
    assert (-force).sum(0) == pytest.approx([0, 0, weight], rel=1e-6, abs=1e-6 * weight)
    lever = graph.centroid[beam, 0] @ graph.mass[beam] / graph.mass[beam].sum()
    ref = np.array([0.0, 0.0, 0.2])
    total = (-moment).sum(0) + np.cross(graph.bond_centroid[root] - ref, -force).sum(0)
    assert total[1] == pytest.approx(-weight * lever, rel=1e-6)  # about +y: the beam tips down
    if layers == 2:
        top = root[np.argmax(graph.bond_centroid[root, 2])]
        bottom = root[np.argmin(graph.bond_centroid[root, 2])]
        assert local[top, 0] > 0.2 * weight  # tension on top
        assert local[bottom, 0] < -0.2 * weight  # compression underneath
    else:
        assert abs(local[root[0], 4:6]).max() == pytest.approx(weight * lever, rel=1e-6)


def test_capacity_scales_with_area_and_interface():
    building, shards = column(levels=3)
    graph = build_support_graph(building, shards, design_factor=0)
    per_area = graph.capacity_tension / graph.bond_area
    inner = ~graph.cross_element
    assert np.allclose(per_area[inner], 5.0e6)  # reinforced concrete, 5 MPa
    assert np.allclose(per_area[graph.cross_element], 5.0e6 * 0.6)  # joint to the foundation
    assert np.allclose(graph.capacity_compression / graph.bond_area, 30e6)
    assert np.allclose(graph.capacity_shear[inner] / graph.bond_area[inner], 3.0e6)


def test_overloaded_against_each_capacity():
    building, shards = column(levels=2)
    graph = build_support_graph(building, shards, design_factor=0)
    c, t, s = graph.capacity_compression, graph.capacity_tension, graph.capacity_shear
    assert not overloaded(graph, -0.99 * c, 0 * c).any()
    assert overloaded(graph, -1.01 * c, 0 * c).all()
    assert overloaded(graph, 1.01 * t, 0 * c).all()
    assert not overloaded(graph, 0.99 * t, 0.99 * s).any()
    assert overloaded(graph, 0 * c, 1.01 * s).all()
    # compression across the joint adds friction to the shear it holds
    mu = graph.bond_friction()
    assert not overloaded(graph, -0.5 * c, s + 0.49 * c * mu).any()


def test_components_follow_alive_bonds():
    pairs = np.array([[0, 1], [1, 2], [3, 4]])
    assert components(5, pairs).tolist() == [0, 0, 0, 1, 1]
    assert components(5, pairs, np.array([True, False, True])).tolist() == [0, 0, 1, 2, 2]


def test_bad_input_names_the_field():
    building, shards = column(levels=2)
    graph = build_support_graph(building, shards)
    with pytest.raises(SpecError, match="alive"):
        bond_forces(graph, np.ones(graph.n_bonds + 1, bool), gravity_forces(graph), graph.support)
    with pytest.raises(SpecError, match="node_forces"):
        bond_forces(graph, np.ones(graph.n_bonds, bool), np.full((graph.n_nodes, 3), np.nan), graph.support)
    with pytest.raises(SpecError, match="break_fraction"):
        settle(graph, np.ones(graph.n_bonds, bool), gravity_forces(graph), graph.support, break_fraction=1.5)


@pytest.fixture(scope="module")
def tower():
    spec = BuildingSpec(bays_x=2, bays_y=2, storeys=6, bay_width=4.5, bay_depth=4.5)
    building = generate_building(spec)
    shards = fracture_building(building, FractureSpec(cell_count=500, seed=3))
    return building, shards, build_support_graph(building, shards)


def test_building_stands_under_gravity_and_is_deterministic(tower):
    building, shards, graph = tower
    alive = np.ones(graph.n_bonds, bool)
    result = settle(graph, alive, gravity_forces(graph), graph.support)
    assert result.stable and len(result.broken) == 0
    assert result.n_components == 1 and result.supported.all()
    assert result.utilisation.max() < 1 / 1.4
    again = settle(build_support_graph(building, shards), alive, gravity_forces(graph), graph.support)
    assert np.array_equal(again.utilisation, result.utilisation)


def test_cutting_the_ground_storey_drops_the_upper_block_in_one_piece(tower):
    building, shards, graph = tower
    kinds, storeys = shard_kinds(building, shards), shard_storeys(building, shards)
    cut = np.isin(kinds, ("column", "wall")) & (storeys == 0)
    alive = ~cut[graph.bond_pairs].any(1)
    result = settle(graph, alive, gravity_forces(graph), graph.support)
    upper = storeys >= 1
    upper_labels = np.unique(result.labels[upper])
    big = np.bincount(result.labels[upper]).max()
    assert big >= 0.95 * upper.sum()  # the upper block stays (nearly) one actor
    assert not result.supported[np.bincount(result.labels[upper]).argmax()]  # and it is falling
    assert len(upper_labels) <= 5


def test_removing_a_corner_column_redistributes_load(tower):
    """A column gone: its bay's load reroutes through the frame (utilisation rises elsewhere)."""
    building, shards, graph = tower
    kinds, storeys = shard_kinds(building, shards), shard_storeys(building, shards)
    lo = np.array([-0.5, -0.5])
    corner = (kinds == "column") & (storeys == 0) & (shards.centroid[:, :2] < lo + 1.0).all(1)
    assert corner.any()
    forces = gravity_forces(graph)
    before, *_ = bond_utilisation(graph, np.ones(graph.n_bonds, bool), forces, graph.support)
    alive = ~corner[graph.bond_pairs].any(1)
    after, *_ = bond_utilisation(graph, alive, forces, graph.support)
    assert after.max() > 1.2 * before.max()


def test_iterative_solve_matches_the_direct_one(tower):
    """The multigrid-preconditioned CG used for big actors gives the direct solver's answer."""
    from scipy.sparse.linalg import spsolve

    from collapse_addon.core import stress_linear

    _, _, graph = tower
    captured = {}
    original = stress_linear.solve_stiffness

    def capture(K, b, points, groups=None, **kw):
        captured.update(K=K, b=b, points=points)
        return original(K, b, points, groups, **kw)

    stress_linear.solve_stiffness = capture
    try:
        solve_bonds(graph, np.ones(graph.n_bonds, bool), gravity_forces(graph), graph.support)
    finally:
        stress_linear.solve_stiffness = original
    K, b, points = captured["K"], captured["b"], captured["points"]
    exact = spsolve(K.tocsc(), b)
    pre = stress_linear.TwoLevel(K, points)
    x, iterations, residual = stress_linear.pcg(K, b, pre, tol=1e-10)
    assert residual <= 1e-10 and iterations < 200
    assert np.abs(x - exact).max() <= 1e-7 * np.abs(exact).max()
    assert np.array_equal(stress_linear.solve_stiffness(K, b, points, direct_below=0),
                          stress_linear.solve_stiffness(K, b, points, direct_below=0))


@pytest.mark.parametrize("storeys, span, walls", [(1, 9.0, True), (6, 6.5, True), (20, 4.0, False), (14, 9.0, True)])
def test_generated_family_stands_and_a_cut_ground_storey_drops_in_one_piece(storeys, span, walls):
    spec = BuildingSpec(storeys=storeys, bays_x=2, bays_y=1 if storeys > 10 else 2, bay_width=span, bay_depth=span,
                        facades=("south", "north", "west", "east") if walls else ())
    building = generate_building(spec)
    shards = fracture_building(building, FractureSpec(cell_count=25 * storeys + 40, seed=7))
    graph = build_support_graph(building, shards)
    forces = gravity_forces(graph)
    result = settle(graph, np.ones(graph.n_bonds, bool), forces, graph.support)
    assert result.stable and len(result.broken) == 0 and result.n_components == 1
    assert result.utilisation.max() <= 1 / 1.5 + 1e-9  # the design margin
    kinds, storey = shard_kinds(building, shards), shard_storeys(building, shards)
    cut = np.isin(kinds, ("column", "wall")) & (storey == 0)
    after = settle(graph, ~cut[graph.bond_pairs].any(1), forces, graph.support)
    upper = storey >= 1
    if upper.any():
        main = np.bincount(after.labels[upper]).argmax()
        assert np.mean(after.labels[upper] == main) >= 0.95 and not after.supported[main]


def test_material_capacities_alone_carry_a_bare_frame_but_not_long_span_infill():
    """Real strengths: a 6-storey 4 m frame stands with a margin on material capacities alone; 9 m
    spans with masonry infill overload lintel joints (what the design floor is for)."""
    def worst(span, facades):
        building = generate_building(BuildingSpec(storeys=6, bays_x=3, bays_y=2, bay_width=span, bay_depth=span,
                                                  facades=facades))
        shards = fracture_building(building, FractureSpec(cell_count=360, seed=1))
        graph = build_support_graph(building, shards, design_factor=0)
        ratio, *_ = bond_utilisation(graph, np.ones(graph.n_bonds, bool), gravity_forces(graph), graph.support)
        return ratio.max()

    assert worst(4.0, ()) < 0.5
    assert worst(9.0, ("south", "north", "west", "east")) > 1.0


_DETERMINISM_SCRIPT = """
import hashlib, numpy as np
from collapse_addon.core import stress_linear, stress_system
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.stress_solver import settle
from collapse_addon.core.support_graph import build_support_graph, gravity_forces
original = stress_linear.solve_stiffness
stress_linear.solve_stiffness = lambda *a, **k: original(*a, **{**k, "direct_below": 0})  # the PCG path
stress_system.DIRECT_DOFS = 0  # settle's re-solves: single-precision factor + CG update, not exact LU
building = generate_building(BuildingSpec(bays_x=2, bays_y=1, storeys=3))
shards = fracture_building(building, FractureSpec(cell_count=200, seed=4))
graph = build_support_graph(building, shards)
alive = graph.centroid[graph.bond_pairs[:, 0], 0] > 1.0
r = settle(graph, alive, gravity_forces(graph), graph.support)
print(hashlib.sha256(r.utilisation.tobytes() + r.broken.tobytes() + r.labels.tobytes()).hexdigest())
"""


def test_same_result_across_processes_and_thread_counts():
    import os
    import subprocess
    import sys

    digests = set()
    for threads in ("1", "2"):
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads,
               "MKL_NUM_THREADS": threads}
        out = subprocess.run([sys.executable, "-c", _DETERMINISM_SCRIPT], env=env, capture_output=True,
                             text=True, check=True, timeout=300)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_settle_re_solves_only_the_actor_that_lost_a_bond(monkeypatch):
    """A cantilever overloaded at its tip breaks off; a separate column beside it is not re-solved,
    and the result equals a full solve of what is left."""
    boxes = [("foundation", "reinforced_concrete", (-1, -1, -2), (0, 1, 2)),
             ("beam", "timber", (0, -0.15, 0), (4, 0.15, 0.4)),
             ("foundation", "reinforced_concrete", (9, -1, -1), (11, 1, 0)),
             ("column", "reinforced_concrete", (9.8, -0.2, 0), (10.2, 0.2, 12))]
    seeds = [[(-0.5, 0, 0)], [(x, 0.0, 0.2) for x in (0.5, 1.5, 2.5, 3.5)], [(10, 0, -0.5)],
             [(10.01, -0.01, z) for z in np.arange(0.25, 12, 0.5)]]
    building, shards = fractured(boxes, seeds)
    graph = build_support_graph(building, shards)
    forces = gravity_forces(graph)
    tip = int(np.argmax(graph.centroid[:, 0] * (graph.centroid[:, 0] < 5)))
    forces[tip, 2] -= 2e6  # 200 t hung from the tip
    from collapse_addon.core import support_graph as sg

    calls = []
    original = sg.subgraph
    monkeypatch.setattr(sg, "subgraph", lambda g, nodes: calls.append(int(np.sum(nodes))) or original(g, nodes))
    result = settle(graph, np.ones(graph.n_bonds, bool), forces, graph.support)
    assert calls and max(calls) <= 5  # only the beam's shards (and its wall) were re-solved
    assert result.stable and len(result.broken) >= 1 and result.broken_round.max() >= 1
    beam = graph.element == 1
    assert not result.supported[result.labels[tip]]  # the beam (or its end) fell off
    assert result.supported[result.labels[graph.element == 3]].all()  # the column still stands
    full, *_ = bond_utilisation(graph, result.alive, forces, graph.support)
    assert np.allclose(result.utilisation, full, rtol=1e-6, atol=1e-9)
    assert beam.sum() == 4


def test_an_impact_breaks_what_it_hits_not_what_is_far_away():
    """A 1 MN blow on the south facade as a transient load: the joints around the hit break, none
    farther than a bay; the same force held static would reach the foundations."""
    from collapse_addon.core.regions import in_sphere

    building = generate_building(BuildingSpec(storeys=4, bays_x=3, bays_y=2))
    shards = fracture_building(building, FractureSpec(cell_count=600, seed=2))
    graph = build_support_graph(building, shards)
    forces = gravity_forces(graph)
    hit = np.array([7.5, -0.1, 4.5])  # middle bay, first floor
    near = in_sphere(graph.centroid, hit, 1.5)
    blow = np.zeros_like(forces)
    blow[near, 1] = 1e6 / near.sum()  # into the building
    result = settle(graph, np.ones(graph.n_bonds, bool), forces, graph.support, transient=blow)
    distance = np.linalg.norm(graph.bond_centroid[result.broken] - hit, axis=1)
    assert len(result.broken) and distance.max() < 3.0
    close = in_sphere(graph.bond_centroid, hit, 1.5)
    assert (~result.alive[close]).mean() >= 0.5
    static = settle(graph, np.ones(graph.n_bonds, bool), forces + blow, graph.support)
    far = np.linalg.norm(graph.bond_centroid[static.broken] - hit, axis=1)
    assert far.max() > 5.0  # what the transient treatment is for


def test_settle_without_the_final_solve_breaks_the_same_and_saves_one_solve(tower, monkeypatch):
    """``final_solve=False`` (a moving actor's judgement): the same bonds break in the same rounds
    and the same pieces come out; the solve after the last round is skipped, so whether the
    pieces hold is not known (``stable`` False)."""
    from collapse_addon.core import stress_solver

    _, _, graph = tower
    forces = gravity_forces(graph) * 40.0  # far over capacity: failure goes on past the rounds
    solves = []
    real = stress_solver.bond_utilisation
    monkeypatch.setattr(stress_solver, "bond_utilisation", lambda *a, **k: solves.append(1) or real(*a, **k))
    alive = np.ones(graph.n_bonds, bool)
    full = settle(graph, alive, forces, graph.support, max_rounds=3)
    n_full = len(solves)
    short = settle(graph, alive, forces, graph.support, max_rounds=3, final_solve=False)
    assert full.rounds == short.rounds == 3 and len(solves) - n_full == n_full - 1
    assert np.array_equal(full.broken, short.broken) and np.array_equal(full.broken_round, short.broken_round)
    assert np.array_equal(full.labels, short.labels) and np.array_equal(full.supported, short.supported)
    assert np.array_equal(full.broken_ratio, short.broken_ratio) and not short.stable and not full.stable
