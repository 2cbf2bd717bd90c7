"""Voronoi fracture: exact, closed, non-overlapping shards and a consistent contact graph."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shard_checks import assert_closed_outward, convex_overlap, overlapping_pairs, shard_bounds

from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.errors import SpecError
from collapse_addon.core.fracture import fracture_box, fracture_building
from collapse_addon.core.seeds import FractureSpec, density
from collapse_addon.core.voronoi import available_backends, box_voronoi_cells

SMALL = BuildingSpec(bays_x=2, bays_y=1, storeys=2)


@pytest.fixture(scope="module")
def small_building():
    return generate_building(SMALL)


@pytest.fixture(scope="module")
def small_shards(small_building):
    return fracture_building(small_building, FractureSpec(cell_count=250, seed=3))


def test_shards_conserve_each_elements_volume(small_building, small_shards):
    for e in small_building.elements:
        total = small_shards.volume[small_shards.element == e.index].sum()
        assert abs(total - e.volume) <= 1e-9 * e.volume


def test_every_shard_is_closed_with_outward_normals(small_shards):
    assert (small_shards.volume > 0).all()
    for s in range(small_shards.count):
        assert_closed_outward(small_shards, s)


def test_no_two_shards_overlap(small_shards):
    pairs = overlapping_pairs(shard_bounds(small_shards))
    assert pairs, "bounding boxes of neighbouring shards should overlap somewhere"
    bad = [(a, b) for a, b in pairs if convex_overlap(small_shards, a, b)]
    assert bad == []


def test_shards_cover_their_element_without_loss_or_duplication():
    rng = np.random.default_rng(7)
    seeds = rng.uniform([0, 0, 0], [2, 1, 1], (40, 3))
    shards = fracture_box([0, 0, 0], [2, 1, 1], seeds)
    # Each sample point lies in exactly one shard (half-space test against every shard's faces).
    points = rng.uniform([0, 0, 0], [2, 1, 1], (4000, 3))
    from shard_checks import shard_planes

    inside = np.zeros(len(points), int)
    for s in range(shards.count):
        n, d = shard_planes(shards, s)
        inside += ((points @ n.T - d) <= 1e-12).all(1)
    assert (inside == 1).all()


def test_contact_graph_is_symmetric_and_matches_both_sides(small_shards):
    g = small_shards.contacts
    assert (g.pairs[:, 0] < g.pairs[:, 1]).all()
    assert len(np.unique(g.pairs, axis=0)) == g.count
    adj = g.adjacency(small_shards.count)
    assert abs(adj - adj.T).max() == 0
    # Inside an element the shared face is computed from both cells: the areas agree.
    from shard_checks import shard_faces

    v = small_shards.vertices
    face_area = {}
    for s in range(small_shards.count):
        for f, loop in zip(range(small_shards.face_start[s], small_shards.face_start[s + 1]),
                           shard_faces(small_shards, s), strict=True):
            p = v[loop]
            face_area[f] = 0.5 * np.linalg.norm(sum(np.cross(p[k] - p[0], p[k + 1] - p[0]) for k in range(1, len(p) - 1)))
    assert np.allclose(np.linalg.norm(g.normal, axis=1), 1)
    inner = ~g.cross_element
    assert inner.sum() > 0 and (~inner).sum() > 0


def test_free_plus_contact_area_is_the_surface(small_building, small_shards):
    """Per element: the shards' free surface is the element's surface minus what other elements cover."""
    s = small_shards
    assert (s.free_area >= -1e-9).all()
    assert np.allclose(s.free_area + s.contacts.contact_area_per_shard(s.count), s.surface_area, rtol=1e-12)
    ec = small_building.contacts
    covered = np.bincount(ec.pairs.ravel(), np.repeat(ec.area, 2), len(small_building.elements))
    for e in small_building.elements:
        ext = e.hi - e.lo
        box_surface = 2 * (ext[0] * ext[1] + ext[1] * ext[2] + ext[0] * ext[2])
        mine = s.element == e.index
        # inner contacts count twice in the shards' surfaces (once per side)
        inner = ~s.contacts.cross_element & mine[s.contacts.pairs[:, 0]]
        free = s.surface_area[mine].sum() - 2 * s.contacts.area[inner].sum()
        cross = s.contacts.cross_element & (mine[s.contacts.pairs[:, 0]] | mine[s.contacts.pairs[:, 1]])
        assert free == pytest.approx(box_surface, rel=1e-9)
        assert s.contacts.area[cross].sum() == pytest.approx(covered[e.index], rel=1e-6)
        assert s.free_area[mine].sum() == pytest.approx(box_surface - covered[e.index], rel=1e-6, abs=1e-9)


def test_cross_element_contacts_sum_to_element_contacts(small_building, small_shards):
    s = small_shards
    g = s.contacts
    el = s.element[g.pairs]
    for (a, b), area in zip(small_building.contacts.pairs, small_building.contacts.area, strict=True):
        mask = g.cross_element & (((el[:, 0] == a) & (el[:, 1] == b)) | ((el[:, 0] == b) & (el[:, 1] == a)))
        assert g.area[mask].sum() == pytest.approx(area, rel=1e-9)


def test_same_seed_same_shards_other_seed_other_shards(small_building):
    a = fracture_building(small_building, FractureSpec(cell_count=120, seed=5))
    b = fracture_building(small_building, FractureSpec(cell_count=120, seed=5))
    c = fracture_building(small_building, FractureSpec(cell_count=120, seed=6))
    for name in ("vertices", "loops", "face_sizes", "volume", "centroid", "element"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.contacts.pairs, b.contacts.pairs)
    assert not np.array_equal(a.centroid, c.centroid)


@pytest.mark.skipif("voro++" not in available_backends(), reason="needs the multivoro wheel")
def test_voro_and_qhull_backends_agree():
    rng = np.random.default_rng(2)
    seeds = rng.uniform([0, 0, 0], [3, 2, 1], (60, 3))
    a = box_voronoi_cells(seeds, [0, 0, 0], [3, 2, 1], "voro++")
    b = box_voronoi_cells(seeds, [0, 0, 0], [3, 2, 1], "qhull")
    sa = fracture_box([0, 0, 0], [3, 2, 1], seeds, backend="voro++")
    sb = fracture_box([0, 0, 0], [3, 2, 1], seeds, backend="qhull")
    assert np.allclose(sa.volume, sb.volume, rtol=1e-9)
    assert np.allclose(sa.centroid, sb.centroid, atol=1e-9)
    assert np.array_equal(sa.contacts.pairs, sb.contacts.pairs)
    assert len(a.face_sizes) == len(b.face_sizes)


@settings(max_examples=25, deadline=None)
@given(size=st.tuples(*[st.floats(0.05, 20.0)] * 3), count=st.integers(1, 80), seed=st.integers(0, 2**31))
def test_any_box_fractures_exactly(size, count, seed):
    hi = np.array(size)
    seeds = np.random.default_rng(seed).uniform(0.001 * hi, 0.999 * hi, (count, 3))
    shards = fracture_box([0, 0, 0], hi, seeds)
    assert shards.count == count
    assert abs(shards.volume.sum() - hi.prod()) <= 1e-9 * hi.prod()
    for s in range(min(count, 10)):
        assert_closed_outward(shards, s)


def test_cell_count_follows_volume_and_pattern(small_building):
    shards = fracture_building(small_building, FractureSpec(cell_count=400, seed=1))
    assert shards.count == 400 + 1  # the foundation stays whole
    per_elem = np.bincount(shards.element, minlength=len(small_building.elements))
    vol = np.array([e.volume for e in small_building.elements])
    slabs = [e.index for e in small_building.elements if e.kind == "slab"]
    cols = [e.index for e in small_building.elements if e.kind == "column"]
    assert per_elem[slabs].sum() / vol[slabs].sum() == pytest.approx(per_elem[cols].sum() / vol[cols].sum(), rel=0.25)
    focus = (2.5, 0.0, 1.0)
    impact = fracture_building(small_building, FractureSpec(cell_count=400, pattern="impact", focus=focus, radius=1.0))
    near = np.linalg.norm(impact.centroid - np.array(focus), axis=1) < 1.5
    far = np.linalg.norm(shards.centroid - np.array(focus), axis=1) < 1.5
    assert near.sum() > 2 * far.sum()
    graded = FractureSpec(cell_count=400, pattern="graded", focus_height=0.0, radius=1.0)
    assert density(graded, np.array([[0, 0, 0.0]]))[0] > density(graded, np.array([[0, 0, 6.0]]))[0]


@pytest.mark.parametrize("kwargs, field", [
    ({"cell_count": 0}, "cell_count"), ({"cell_count": 10**9}, "cell_count"),
    ({"cell_count": 2.5}, "cell_count"), ({"shard_size": -1.0}, "shard_size"),
    ({"shard_size": float("nan")}, "shard_size"), ({"pattern": "zigzag"}, "pattern"),
    ({"pattern": "impact"}, "focus"), ({"pattern": "impact", "focus": (0, float("nan"), 0)}, "focus"),
    ({"radius": 0.0}, "radius"), ({"seed": -1}, "seed"), ({"gap": 2.0}, "gap"),
])
def test_bad_fracture_spec_names_the_field(kwargs, field):
    with pytest.raises(SpecError) as info:
        FractureSpec(**kwargs)
    assert info.value.field == field


@pytest.mark.parametrize("seeds, problem", [
    (np.array([[5.0, 1.0, 1.0]]), "not strictly inside"),
    (np.array([[0.5, 0.5, float("nan")]]), "NaN"),
    (np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]), "duplicate"),
    (np.zeros((0, 3)), "N >= 1"),
])
def test_bad_seeds_are_rejected_clearly(seeds, problem):
    with pytest.raises(SpecError, match=problem) as info:
        fracture_box([0, 0, 0], [1, 1, 1], seeds)
    assert info.value.field == "seeds[0]"


def test_flat_box_is_rejected():
    with pytest.raises(SpecError, match="size > 0"):
        fracture_box([0, 0, 0], [1, 1, 0], np.array([[0.5, 0.5, 0.0]]))


def test_too_fine_shard_size_is_rejected(small_building):
    with pytest.raises(SpecError) as info:
        fracture_building(small_building, FractureSpec(shard_size=0.01))
    assert info.value.field == "shard_size"


def test_gap_separates_neighbours_by_exactly_the_gap():
    rng = np.random.default_rng(4)
    seeds = rng.uniform([0, 0, 0], [4, 2, 2], (60, 3))
    exact = fracture_box([0, 0, 0], [4, 2, 2], seeds)
    gapped = fracture_box([0, 0, 0], [4, 2, 2], seeds, gap=0.02)
    assert gapped.count == exact.count
    assert (gapped.volume < exact.volume).all()
    for s in range(gapped.count):
        assert_closed_outward(gapped, s)
    v, start = gapped.vertices, gapped.vertex_start
    seps = []
    for (a, b), n in zip(exact.contacts.pairs, exact.contacts.normal, strict=True):
        seps.append((v[start[b]:start[b + 1]] @ n).min() - (v[start[a]:start[a + 1]] @ n).max())
    assert min(seps) == pytest.approx(0.02, abs=1e-9)
    # faces on the box surface do not move: the shards still span the box
    assert np.allclose(v.min(0), 0) and np.allclose(v.max(0), [4, 2, 2])


def test_gap_too_large_for_a_shard_is_a_clear_error():
    seeds = np.array([[0.5, 0.5, 0.5], [0.52, 0.5, 0.5]])
    with pytest.raises(SpecError) as info:
        fracture_box([0, 0, 0], [1, 1, 1], seeds, gap=0.1)
    assert info.value.field == "gap"
