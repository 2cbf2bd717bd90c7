"""Support graph: masses, inertia, bonds, capacities and supports, from real fractures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from collapse_addon.core.building import Building, Element, element_box_contacts
from collapse_addon.core.errors import SpecError
from collapse_addon.core.fracture import fracture_box
from collapse_addon.core.materials import MATERIALS
from collapse_addon.core.mesh_fracture import fracture_mesh
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.strength import STRENGTHS
from collapse_addon.core.stress_solver import settle
from collapse_addon.core.support_graph import (
    build_support_graph,
    gravity_forces,
    polyhedron_inertia,
)


def mesh_building(vertices, material="masonry"):
    lo, hi = vertices.min(0), vertices.max(0)
    element = Element(0, "mesh", 0, material, lo, hi, "test")
    return Building(None, [element], element_box_contacts(lo[None], hi[None]))


def box_mesh(lo, hi):
    """A closed box as 6 quads (outward winding)."""
    x0, y0, z0 = lo
    x1, y1, z1 = hi
    v = np.array([[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0],
                  [x0, y0, z1], [x1, y0, z1], [x1, y1, z1], [x0, y1, z1]], float)
    faces = [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]]
    return v, faces


def test_box_inertia_is_exact():
    shards = fracture_box((0, 0, 0), (2.0, 1.0, 0.5), np.array([[1.0, 0.5, 0.25]]))
    mass, centroid, inertia = polyhedron_inertia(shards, np.array([2400.0]))
    m = 2400.0
    assert mass[0] == pytest.approx(m)
    assert centroid[0] == pytest.approx([1.0, 0.5, 0.25])
    expected = m / 12 * np.diag([1.0 + 0.25, 4.0 + 0.25, 4.0 + 1.0])
    assert inertia[0] == pytest.approx(expected, abs=1e-9 * m)


def test_voronoi_shards_add_up_to_the_box_inertia():
    rng = np.random.default_rng(1)
    seeds = rng.uniform([0.1, 0.1, 0.1], [1.9, 0.9, 0.4], (12, 3))
    shards = fracture_box((0, 0, 0), (2.0, 1.0, 0.5), seeds)
    mass, centroid, inertia = polyhedron_inertia(shards)
    com = centroid.T @ mass / mass.sum()
    r = centroid - com
    total = inertia.sum(0) + np.einsum("n,nij->ij", mass, (r ** 2).sum(1)[:, None, None] * np.eye(3)
                                       - np.einsum("ni,nj->nij", r, r))
    assert mass.sum() == pytest.approx(1.0)
    assert total == pytest.approx(np.diag([1.25, 4.25, 5.0]) / 12, abs=1e-9)


def test_every_preset_has_documented_strengths():
    for name, m in MATERIALS.items():
        assert name in STRENGTHS
        for key, value in STRENGTHS[name].items():
            assert getattr(m, key) == value > 0
        assert m.compressive_strength >= m.tensile_strength or name == "steel"


def test_material_table_is_an_argument_and_errors_name_the_field():
    v, f = box_mesh((0, 0, 0), (4, 3, 6))
    building = mesh_building(v)
    shards = fracture_mesh(v, f, FractureSpec(cell_count=20, seed=2))
    weak = dict(MATERIALS)
    weak["masonry"] = dataclasses.replace(MATERIALS["masonry"], tensile_strength=0.015)
    base = build_support_graph(building, shards, design_factor=0)
    scaled = build_support_graph(building, shards, weak, design_factor=0)
    assert np.allclose(scaled.capacity_tension, base.capacity_tension / 10)
    assert MATERIALS["masonry"].tensile_strength == 0.15  # nothing global changed
    bad = dict(MATERIALS)
    bad["masonry"] = dataclasses.replace(MATERIALS["masonry"], shear_strength=0.0)
    with pytest.raises(SpecError, match="materials.masonry.shear_strength"):
        build_support_graph(building, shards, bad)


def test_mesh_path_supports_are_the_shards_on_the_ground():
    v, f = box_mesh((-2, -1.5, 0), (2, 1.5, 9))
    building = mesh_building(v)
    shards = fracture_mesh(v, f, FractureSpec(cell_count=60, seed=4))
    graph = build_support_graph(building, shards)
    lowest = np.array([shards.vertices[shards.vertex_start[s]:shards.vertex_start[s + 1], 2].min()
                       for s in range(shards.count)])
    assert np.array_equal(graph.support, lowest <= 0.09 + 1e-9)
    assert graph.support.any() and not graph.support.all()
    assert graph.bond_pairs.dtype == np.int64 and (graph.bond_pairs[:, 0] < graph.bond_pairs[:, 1]).all()
    assert np.allclose(np.linalg.norm(graph.bond_normal, axis=1), 1)
    # a given ground plane above the base moves the supports up
    raised = build_support_graph(building, shards, ground_z=3.0)
    assert raised.support.sum() > graph.support.sum()
    # the mesh building stands under its own weight: nothing breaks
    result = settle(graph, np.ones(graph.n_bonds, bool), gravity_forces(graph), graph.support)
    assert result.stable and len(result.broken) == 0 and result.supported.all()


def test_cut_above_the_supports_separates_the_mesh_building():
    v, f = box_mesh((-2, -1.5, 0), (2, 1.5, 9))
    building = mesh_building(v)
    shards = fracture_mesh(v, f, FractureSpec(cell_count=60, seed=4))
    graph = build_support_graph(building, shards)
    low = graph.centroid[:, 2] < 2.0
    alive = ~low[graph.bond_pairs].any(1)  # every bond of a shard centred below 2 m cut
    result = settle(graph, alive, gravity_forces(graph), graph.support)
    high = shards.centroid[:, 2] > 4.0
    assert not result.supported[result.labels[high]].any()
    assert len(result.broken) == 0  # in free fall nothing is loaded
    assert result.supported[result.labels[graph.support]].all()


def test_real_house_from_cityjson_stands_and_demolition_by_region_drops_it():
    """Mesh path on a real building (3D BAG, tests/data/README.md): supports from the ground band,
    stands under gravity, and a storey band cut on the mesh (no element kinds) frees the top."""
    from pathlib import Path

    from collapse_addon.core.meshio import load_cityjson
    from collapse_addon.core.regions import bonds_touching, in_band

    path = Path(__file__).parent / "data" / "3dbag_shertogenbosch_10houses_multilod.city.json"
    _, vertices, faces = load_cityjson(path, lod="2.2", object_ids=["2921895"])[0]  # gabled, non-convex
    vertices = np.asarray(vertices, float)
    vertices = vertices - [0, 0, vertices[:, 2].min()]
    shards = fracture_mesh(vertices, faces, FractureSpec(cell_count=80, seed=1))
    building = mesh_building(vertices)
    graph = build_support_graph(building, shards)
    assert graph.support.any() and not graph.support.all()
    forces = gravity_forces(graph)
    result = settle(graph, np.ones(graph.n_bonds, bool), forces, graph.support)
    assert result.stable and len(result.broken) == 0
    height = vertices[:, 2].max()
    band = in_band(graph.centroid, 0.0, 0.25 * height)
    after = settle(graph, ~bonds_touching(graph.bond_pairs, band), forces, graph.support)
    top = graph.centroid[:, 2] > 0.5 * height
    assert not after.supported[after.labels[top]].any()


def test_compound_actor_inertia_is_the_whole_box():
    from collapse_addon.core.stress_solver import components
    from collapse_addon.core.support_graph import compound

    v, f = box_mesh((0, 0, 0), (2.0, 1.0, 0.5))
    building = mesh_building(v, "concrete")
    shards = fracture_mesh(v, f, FractureSpec(cell_count=15, seed=3))
    graph = build_support_graph(building, shards)
    labels = components(graph.n_nodes, graph.bond_pairs)
    mass, com, inertia = compound(graph, labels)
    m = 2300.0
    assert mass == pytest.approx([m]) and com[0] == pytest.approx([1.0, 0.5, 0.25])
    assert inertia[0] == pytest.approx(m / 12 * np.diag([1.25, 4.25, 5.0]), abs=1e-9 * m)
    halves = (graph.centroid[:, 0] > 1.0).astype(np.int64)
    mass2, _, _ = compound(graph, halves)
    assert mass2.sum() == pytest.approx(m)


def test_slab_joints_are_as_deep_as_the_slab():
    """Bending stiffness and strength use the face's shape: a slab's joints are 0.22 m deep."""
    from collapse_addon.core.building import BuildingSpec, generate_building
    from collapse_addon.core.fracture import fracture_building
    from collapse_addon.core.physics import shard_kinds
    from collapse_addon.core.stress_solver import bond_frames

    building = generate_building(BuildingSpec(bays_x=1, bays_y=1, storeys=1, facades=()))
    shards = fracture_building(building, FractureSpec(cell_count=60, seed=2))
    graph = build_support_graph(building, shards)
    kinds = shard_kinds(building, shards)
    inside = (kinds[graph.bond_pairs] == "slab").all(1) & (np.abs(graph.bond_normal[:, 2]) < 0.1)
    assert inside.any()
    frames = bond_frames(graph.bond_normal[inside])
    vertical = np.abs(frames[:, 2, 2]) > 0.99  # t2 is vertical for a vertical face
    assert vertical.all()
    depth = graph.extents()[inside, 1]
    assert (depth <= 0.25).all() and 0.15 < np.median(depth) <= 0.22 + 1e-9  # slanted faces a bit more
    assert np.allclose(graph.extents().prod(1), graph.bond_area)
