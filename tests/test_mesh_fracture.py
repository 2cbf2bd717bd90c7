"""Fracturing the artist's own closed mesh: exact volume, closed shards, islands, contacts, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import ConvexHull
from shard_checks import assert_closed_outward, shard_faces

from collapse_addon.core.errors import MeshError, SpecError
from collapse_addon.core.mesh_fracture import (
    fracture_mesh,
    prepare_solid,
    repair_mesh,
    triangulate_faces,
    validate_solid_mesh,
    winding_numbers,
)
from collapse_addon.core.mesh_parts import MeshPart, fracture_parts
from collapse_addon.core.meshio import (
    box_mesh,
    l_block_mesh,
    load_cityjson,
    load_obj,
    prism_mesh,
    u_block_mesh,
    wall_with_windows_mesh,
)
from collapse_addon.core.seeds import FractureSpec

HOUSES = Path(__file__).parent / "data" / "3dbag_shertogenbosch_10houses_multilod.city.json"
HOUSE_ID = "2921895"  # the largest LoD2.2 house in the file: 68 triangles, gabled and non-convex


def test_mesh_modules_import_without_bpy():
    code = ("import sys; sys.modules['bpy'] = None\n"
            "import collapse_addon.core.mesh_fracture, collapse_addon.core.meshio\nprint('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def _house():
    [(name, vertices, faces)] = load_cityjson(HOUSES, lod="2.2", object_ids=[HOUSE_ID])
    return name, vertices, faces


def _mesh_volume(vertices, faces) -> float:
    return prepare_solid(vertices, faces).volume


def _shard_triangles(shards, s):
    """Fan triangles (K, 3, 3) of shard ``s`` (signed fans: exact for planar non-convex faces)."""
    tris = []
    for loop in shard_faces(shards, s):
        p = shards.vertices[loop]
        tris.extend(np.stack([np.repeat(p[:1], len(p) - 2, 0), p[1:-1], p[2:]], 1))
    return np.array(tris)


def _shard_winding(shards, points):
    """(P, S) winding numbers of points with respect to every shard (bounding boxes first)."""
    out = np.zeros((len(points), shards.count))
    for s in range(shards.count):
        v = shards.vertices[shards.vertex_start[s]:shards.vertex_start[s + 1]]
        near = ((points >= v.min(0) - 1e-9) & (points <= v.max(0) + 1e-9)).all(1)
        if near.any():
            out[near, s] = winding_numbers(points[near], _shard_triangles(shards, s))
    return out


def _check_shards(shards, vertices, faces, samples=300, seed=7):
    """The bars: exact volume, closed outward shards, a partition of the solid, consistent contacts."""
    solid = prepare_solid(vertices, faces)
    assert shards.volume.sum() == pytest.approx(solid.volume, rel=1e-6)
    assert (shards.volume > 0).all()
    for s in range(shards.count):
        assert_closed_outward(shards, s)
    # No shard lost or duplicated: points inside lie in exactly one shard, points outside in none.
    rng = np.random.default_rng(seed)
    points = rng.uniform(solid.lo, solid.hi, size=(samples, 3))
    inside = solid.contains(points)
    assert inside.any() and (~inside).any()
    hits = (_shard_winding(shards, points) > 0.5).sum(1)
    assert (hits[inside] == 1).all()
    assert (hits[~inside] == 0).all()
    # Convex flags tell the truth (the rigid-body side picks collision shapes from them).
    for s in range(shards.count):
        v = shards.vertices[shards.vertex_start[s]:shards.vertex_start[s + 1]]
        hull = ConvexHull(v).volume
        if shards.is_convex(s):
            assert hull == pytest.approx(shards.volume[s], rel=1e-7, abs=1e-12)
        else:
            assert hull > shards.volume[s] * (1 + 1e-9)
    _check_contacts(shards)
    _check_no_overlaps(shards)
    return solid


def _check_no_overlaps(shards, tol=1e-9):
    """Every shard is a valid manifold3d solid and no two shards share volume (non-convex too)."""
    import manifold3d

    solids, lo, hi = [], [], []
    for s in range(shards.count):
        v, sizes, loops, _ = shards.shard_mesh(s)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        tris, _, _ = triangulate_faces(v, [loops[a:a + k] for a, k in zip(starts, sizes, strict=True)])
        m = manifold3d.Manifold(manifold3d.Mesh64(vert_properties=np.ascontiguousarray(v),
                                                  tri_verts=np.ascontiguousarray(tris, dtype=np.uint64)))
        assert m.status() == manifold3d.Error.NoError, f"shard {s}: {m.status()}"
        assert m.volume() == pytest.approx(shards.volume[s], rel=1e-9)
        solids.append(m)
        lo.append(v.min(0))
        hi.append(v.max(0))
    lo, hi = np.array(lo), np.array(hi)
    i, j = np.triu_indices(shards.count, 1)
    near = (np.minimum(hi[i], hi[j]) - np.maximum(lo[i], lo[j]) > 1e-9).all(1)
    for a, b in zip(i[near], j[near], strict=True):
        assert (solids[a] ^ solids[b]).volume() <= tol, f"shards {a} and {b} overlap"


def _check_contacts(shards):
    g = shards.contacts
    assert (g.pairs[:, 0] < g.pairs[:, 1]).all()
    assert len(np.unique(g.pairs, axis=0)) == g.count
    assert (g.area > 0).all()
    assert np.allclose(np.linalg.norm(g.normal, axis=1), 1.0)
    assert np.allclose(g.adjacency(shards.count).toarray(), g.adjacency(shards.count).toarray().T)
    # Each shard's cut faces, measured on the shard itself, are exactly its contacts; the rest is
    # original surface: free surface + contact areas = surface area.
    face_shard = np.repeat(np.arange(shards.count), np.diff(shards.face_start))
    interior_area = np.zeros(shards.count)
    for f in np.nonzero(shards.face_interior)[0]:
        p = shards.vertices[shards.loops[shards.loop_start[f]:shards.loop_start[f] + shards.face_sizes[f]]]
        interior_area[face_shard[f]] += 0.5 * np.linalg.norm(np.cross(p, np.roll(p, -1, 0)).sum(0))
    contact = g.contact_area_per_shard(shards.count)
    np.testing.assert_allclose(interior_area, contact, rtol=0, atol=1e-6 * shards.surface_area.max())
    assert np.allclose(shards.free_area + contact, shards.surface_area, rtol=1e-6)
    # Normals point from the first shard into the second (checked where both are convex, so the
    # contact centroid lies on both faces).
    both = np.array([shards.is_convex(a) and shards.is_convex(b) for a, b in g.pairs], bool)
    if both.any():
        step = 1e-4 * np.sqrt(g.area[both])[:, None]
        probe_a = g.centroid[both] - step * g.normal[both]
        probe_b = g.centroid[both] + step * g.normal[both]
        wa = _shard_winding(shards, probe_a)
        wb = _shard_winding(shards, probe_b)
        rows = np.arange(both.sum())
        assert (wa[rows, g.pairs[both, 0]] > 0.5).all()
        assert (wb[rows, g.pairs[both, 1]] > 0.5).all()


# ---------------------------------------------------------------------------------------------
# The bars on three solids
# ---------------------------------------------------------------------------------------------

def test_l_block_shards_are_exact_closed_and_partition_it():
    vertices, faces = l_block_mesh(4.0, 3.0, 2.0, 1.0)
    shards = fracture_mesh(vertices, faces, FractureSpec(cell_count=60, seed=1), name="L")
    _check_shards(shards, vertices, faces)
    assert shards.volume.sum() == pytest.approx(4 * 1 * 2 + 1 * 2 * 2, rel=1e-12)
    assert (~shards.convex).any()  # cells around the inner corner are cut into L-shaped pieces
    assert (shards.element == 0).all()


def test_wall_with_windows_shards_are_exact_closed_and_partition_it():
    vertices, faces = wall_with_windows_mesh()
    expected = 10 * 0.3 * 6 - 6 * 1.2 * 1.4 * 0.3
    assert _mesh_volume(vertices, faces) == pytest.approx(expected, rel=1e-12)
    shards = fracture_mesh(vertices, faces, FractureSpec(cell_count=120, seed=2), name="wall")
    _check_shards(shards, vertices, faces, samples=400)
    # Surface = original surface + both sides of every contact.
    assert shards.face_interior.any() and (~shards.face_interior).any()
    exterior = ~shards.face_interior
    assert shards.surface_area.sum() - shards.contacts.area.sum() * 2 == pytest.approx(
        _exterior_area(shards, exterior), rel=1e-9)


def _exterior_area(shards, mask):
    total = 0.0
    for f in np.nonzero(mask)[0]:
        p = shards.vertices[shards.loops[shards.loop_start[f]:shards.loop_start[f] + shards.face_sizes[f]]]
        total += 0.5 * np.linalg.norm(np.cross(p, np.roll(p, -1, 0)).sum(0))
    return total


def test_plane_clipped_cells_match_the_boolean(monkeypatch):
    # Cells entered by one plane only are clipped without manifold3d: same shards as the boolean.
    from collapse_addon.core import mesh_fracture

    name, vertices, faces = _house()
    spec = FractureSpec(cell_count=150, seed=9)
    solid = prepare_solid(vertices, faces)
    classify = mesh_fracture._classify_cells
    seeds = mesh_fracture.sample_mesh_seeds(spec, solid, 150, np.random.default_rng(9))
    cells = mesh_fracture.box_voronoi_cells(seeds, solid.lo, solid.hi)
    assert (classify(cells, solid)[2] >= 0).sum() > 10  # the fast path is taken
    clipped = fracture_mesh(vertices, faces, seeds=seeds)

    def no_clip(cells, solid):
        crossing, facing, plane_tri, pairs = classify(cells, solid)
        return crossing, facing, np.full_like(plane_tri, -1), pairs

    monkeypatch.setattr(mesh_fracture, "_classify_cells", no_clip)
    booleans = fracture_mesh(vertices, faces, seeds=seeds)
    assert clipped.count == booleans.count
    np.testing.assert_allclose(clipped.volume, booleans.volume, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(clipped.centroid, booleans.centroid, atol=1e-9)
    np.testing.assert_allclose(clipped.surface_area, booleans.surface_area, rtol=1e-9)
    assert np.array_equal(clipped.contacts.pairs, booleans.contacts.pairs)
    np.testing.assert_allclose(clipped.contacts.area, booleans.contacts.area, rtol=1e-8)


def test_real_lod2_house_shards_are_exact_and_keep_its_surface():
    name, vertices, faces = _house()
    shards = fracture_mesh(vertices, faces, FractureSpec(cell_count=80, seed=3), name=name)
    solid = _check_shards(shards, vertices, faces)
    # The original surface survives whole: exterior faces add up to the house's own area.
    p = solid.tri_points
    house_area = 0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1).sum()
    assert _exterior_area(shards, ~shards.face_interior) == pytest.approx(house_area, rel=1e-9)


def test_shard_size_and_patterns_fill_the_solid():
    vertices, faces = l_block_mesh()
    by_size = fracture_mesh(vertices, faces, FractureSpec(shard_size=0.8, seed=0))
    assert 12 / 0.8**3 * 0.8 < by_size.count < 12 / 0.8**3 * 1.3
    impact = fracture_mesh(vertices, faces, FractureSpec(cell_count=80, pattern="impact",
                                                         focus=(0.5, 0.5, 1.0), radius=0.7, seed=0))
    near = np.linalg.norm(impact.centroid - [0.5, 0.5, 1.0], axis=1) < 1.0
    assert impact.volume[near].mean() < impact.volume[~near].mean()  # smaller shards at the impact
    assert impact.volume.sum() == pytest.approx(12.0, rel=1e-9)


@settings(max_examples=10, deadline=None)
@given(cells=st.integers(1, 40), seed=st.integers(0, 2**31 - 1), arm=st.floats(0.3, 2.5))
def test_any_u_block_fracture_conserves_volume_and_closes(cells, seed, arm):
    vertices, faces = u_block_mesh(length=6.0, width=3.0, height=1.5, arm=arm, base=0.8)
    volume = _mesh_volume(vertices, faces)
    shards = fracture_mesh(vertices, faces, FractureSpec(cell_count=cells, seed=seed))
    assert shards.volume.sum() == pytest.approx(volume, rel=1e-9)
    assert shards.count >= cells
    for s in range(shards.count):
        assert_closed_outward(shards, s)
    _check_contacts(shards)


# ---------------------------------------------------------------------------------------------
# Islands and contacts split across islands
# ---------------------------------------------------------------------------------------------

def test_cell_across_both_arms_of_a_u_gives_two_shards():
    # Arms x in [0, 2.9] and [3.1, 6] above a base y < 1: the cell of the seed near the top of the
    # gap holds the tops of both arms, which do not touch inside it.
    vertices, faces = u_block_mesh(length=6.0, width=3.0, height=2.0, arm=2.9, base=1.0)
    seeds = np.array([[3.0, 0.5, 1.0], [2.85, 2.9, 1.0]])
    shards = fracture_mesh(vertices, faces, FractureSpec(), seeds=seeds)
    assert shards.count == 3
    tops = np.nonzero(shards.centroid[:, 1] > 1.5)[0]
    assert len(tops) == 2
    assert sorted(np.round(shards.centroid[tops, 0] < 3.0)) == [0.0, 1.0]  # one per arm
    _check_shards(shards, vertices, faces)


def test_contact_between_split_cells_is_the_overlap_not_the_ridge():
    # Two layers of the cells above: the plane z = 1 is split into two islands on both sides.
    vertices, faces = u_block_mesh(length=6.0, width=3.0, height=2.0, arm=2.9, base=1.0)
    seeds = np.array([[3.0, 0.5, 0.5], [2.85, 2.9, 0.5], [3.0, 0.5, 1.5], [2.85, 2.9, 1.5]])
    shards = fracture_mesh(vertices, faces, FractureSpec(), seeds=seeds)
    assert shards.count == 6
    _check_shards(shards, vertices, faces)
    g = shards.contacts
    top = shards.centroid[:, 1] > 1.5
    left = shards.centroid[:, 0] < 3.0
    for (a, b), area in zip(g.pairs, g.area, strict=True):
        if top[a] and top[b]:
            assert left[a] == left[b], "islands of different arms do not touch"
            both_z = abs(shards.centroid[a, 2] - shards.centroid[b, 2]) > 0.5
            assert both_z and area < 2.9 * 2.0  # part of one arm's section, not the whole ridge


@pytest.mark.parametrize("seeds", [[[0.5, 0.5, 1.0], [1.5, 0.5, 1.0]], [[1.5, 0.5, 1.0], [0.5, 0.5, 1.0]]])
def test_voronoi_plane_on_the_mesh_surface_keeps_the_true_contact(seeds):
    # The bisector x = 1 lies on the L's inner face: the x < 1 cell is whole (a 1 x 3 x 2 column),
    # the other keeps only the 3 x 1 x 2 arm; they touch on 1 x 2 m, not on the 3 x 2 m ridge.
    vertices, faces = l_block_mesh(4.0, 3.0, 2.0, 1.0)
    shards = fracture_mesh(vertices, faces, seeds=np.array(seeds))
    assert shards.count == 2
    assert np.allclose(np.sort(shards.volume), [6.0, 6.0])
    for s in range(2):
        assert_closed_outward(shards, s)
    assert shards.contacts.count == 1
    assert shards.contacts.area[0] == pytest.approx(2.0, rel=1e-9)
    assert np.allclose(shards.contacts.centroid[0], [1.0, 0.5, 1.0])


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------

def test_same_seed_same_shards_other_seed_differs():
    vertices, faces = wall_with_windows_mesh()
    a = fracture_mesh(vertices, faces, FractureSpec(cell_count=70, seed=11))
    b = fracture_mesh(vertices, faces, FractureSpec(cell_count=70, seed=11))
    c = fracture_mesh(vertices, faces, FractureSpec(cell_count=70, seed=12))
    for name in ("vertices", "vertex_start", "face_sizes", "face_start", "loops", "face_interior",
                 "volume", "centroid", "surface_area", "convex"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert np.array_equal(a.contacts.pairs, b.contacts.pairs)
    assert np.array_equal(a.contacts.area, b.contacts.area)
    assert a.vertices.shape != c.vertices.shape or not np.array_equal(a.vertices, c.vertices)


def test_several_houses_share_the_cells_and_keep_their_own_volume():
    houses = load_cityjson(HOUSES)[:3]
    meshes = [(v, f) for _, v, f in houses]

    def parts(meshes):
        return [MeshPart(prepare_solid(v, f, f"house {i}"), f"house {i}", "brick")
                for i, (v, f) in enumerate(meshes)]

    building, shards = fracture_parts(parts(meshes), FractureSpec(cell_count=90, seed=4))
    assert [e.part for e in building.elements] == ["house 0", "house 1", "house 2"]
    volumes = np.array([_mesh_volume(v, f) for v, f in meshes])
    per_element = np.bincount(shards.element, shards.volume, 3)
    np.testing.assert_allclose(per_element, volumes, rtol=1e-9)
    assert 90 <= shards.count <= 110
    assert (shards.element[shards.contacts.pairs[:, 0]] == shards.element[shards.contacts.pairs[:, 1]]).all()
    _, one = fracture_parts(parts(meshes[:1]), FractureSpec(cell_count=30, seed=4))
    alone = fracture_mesh(*meshes[0], FractureSpec(cell_count=30, seed=4))
    assert np.array_equal(one.vertices, alone.vertices) and np.array_equal(one.loops, alone.loops)


def test_parts_share_cells_by_volume_and_anchors_stay_whole():
    boxes = [([0, 0, 0], [1, 1, 1]), ([2, 0, 0], [5, 1, 1]), ([0, 0, -1], [5, 1, 0])]
    parts = [MeshPart(prepare_solid(*box_mesh(lo, hi), f"box {i}"), f"box {i}", "brick",
                      anchor=i == 2) for i, (lo, hi) in enumerate(boxes)]
    building, shards = fracture_parts(parts, FractureSpec(cell_count=40, seed=3))
    assert np.bincount(shards.element, minlength=3).tolist() == [10, 30, 1]
    assert [e.kind for e in building.elements] == ["mesh", "mesh", "foundation"]
    assert building.contacts.pairs.tolist() == [[0, 2], [1, 2]]  # both boxes rest on the anchor


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

def _two_boxes(lo2, hi2):
    v1, f1 = box_mesh([0, 0, 0], [1, 1, 1])
    v2, f2 = box_mesh(lo2, hi2)
    return np.concatenate([v1, v2]), f1 + [f + 8 for f in f2]


def test_open_mesh_is_refused_with_where():
    vertices, faces = box_mesh([0, 0, 0], [1, 1, 1])
    with pytest.raises(MeshError, match="open: 4 boundary edges") as err:
        validate_solid_mesh(vertices, faces[:-1], "lid")
    assert err.value.name == "lid" and "Fill" in err.value.fix


def test_non_manifold_edge_is_refused():
    # Two boxes sharing one vertical edge (same vertex indices): four faces meet there.
    v1, f1 = box_mesh([0, 0, 0], [1, 1, 1])
    v2, f2 = box_mesh([1, 1, 0], [2, 2, 1])
    vertices = np.concatenate([v1, v2])
    faces = f1 + [f + 8 for f in f2]
    remap = np.arange(16)
    remap[8 + 0], remap[8 + 4] = 3, 7  # box 2's corner (1,1,0)/(1,1,1) is box 1's (1,1,0)/(1,1,1)
    with pytest.raises(MeshError, match="non-manifold"):
        validate_solid_mesh(vertices, [remap[f] for f in faces])


def test_flat_mesh_is_refused():
    # A tetrahedron squashed into its base plane: closed and manifold, but no volume.
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.3, 0.3, 0]], float)
    faces = [[0, 2, 1], [0, 1, 3], [1, 2, 3], [2, 0, 3]]
    with pytest.raises(MeshError, match="flat"):
        validate_solid_mesh(vertices, faces)


def test_self_intersecting_mesh_is_refused():
    vertices, faces = _two_boxes([0.5, 0.5, 0.5], [1.5, 1.5, 1.5])
    with pytest.raises(MeshError, match="self-intersects"):
        validate_solid_mesh(vertices, faces)


def test_box_inside_a_box_is_refused():
    vertices, faces = _two_boxes([0.25, 0.25, 0.25], [0.75, 0.75, 0.75])
    with pytest.raises(MeshError, match="overlaps itself"):
        validate_solid_mesh(vertices, faces)


def test_nan_inside_out_inconsistent_and_degenerate_are_refused():
    vertices, faces = box_mesh([0, 0, 0], [1, 1, 1])
    nan = vertices.copy()
    nan[3, 1] = np.nan
    with pytest.raises(MeshError, match="NaN"):
        validate_solid_mesh(nan, faces)
    with pytest.raises(MeshError, match="inside out"):
        validate_solid_mesh(vertices, [f[::-1] for f in faces])
    with pytest.raises(MeshError, match="inconsistent winding"):
        validate_solid_mesh(vertices, faces[:-1] + [faces[-1][::-1]])
    squashed = vertices.copy()
    squashed[[1, 3, 5, 7], 0] = 0.0  # the +x face collapses onto the -x face
    with pytest.raises(MeshError):
        validate_solid_mesh(squashed, faces)


def test_seed_outside_the_solid_is_a_spec_error():
    vertices, faces = l_block_mesh(4.0, 3.0, 2.0, 1.0)
    with pytest.raises(SpecError, match="outside the solid") as err:
        fracture_mesh(vertices, faces, seeds=[[0.5, 0.5, 1.0], [3.0, 2.0, 1.0]])  # in the notch
    assert err.value.field == "seeds"
    with pytest.raises(SpecError) as err:
        fracture_mesh(vertices, faces, FractureSpec(gap=0.01))
    assert err.value.field == "gap"


def test_cavity_stays_empty_and_islands_are_fine():
    # A box with a cubic cavity (inner shell wound inwards) and a separate box beside it.
    v1, f1 = box_mesh([0, 0, 0], [2, 2, 2])
    v2, f2 = box_mesh([0.5, 0.5, 0.5], [1.5, 1.5, 1.5])
    v3, f3 = box_mesh([3, 0, 0], [4, 1, 1])
    vertices = np.concatenate([v1, v2, v3])
    faces = f1 + [f[::-1] + 8 for f in f2] + [f + 16 for f in f3]
    shards = fracture_mesh(vertices, faces, FractureSpec(cell_count=40, seed=5))
    assert shards.volume.sum() == pytest.approx(8 - 1 + 1, rel=1e-12)
    _check_shards(shards, vertices, faces)


# ---------------------------------------------------------------------------------------------
# Repair
# ---------------------------------------------------------------------------------------------

def test_repair_merges_drops_and_orients_without_losing_volume():
    vertices, faces = l_block_mesh()
    # Unwelded (every face owns its corners, as from some exporters), one face flipped, all inside
    # out, a doubled face and a degenerate sliver.
    split_v, split_f = [], []
    for k, f in enumerate(faces):
        start = sum(len(g) for g in faces[:k])
        split_v.append(vertices[f] + 1e-9)
        split_f.append(np.arange(start, start + len(f))[::-1])
    split_v = np.concatenate(split_v)
    split_f[2] = split_f[2][::-1]
    split_f.append(split_f[5].copy())
    split_f.append(np.array([split_f[0][0], split_f[0][1], split_f[0][0]]))
    with pytest.raises(MeshError):
        validate_solid_mesh(split_v, split_f)
    fixed = repair_mesh(split_v, split_f)
    assert fixed.changed and fixed.merged_vertices > 0 and fixed.flipped_faces > 0
    assert fixed.dropped_degenerate == 1 and fixed.dropped_duplicates == 1
    assert _mesh_volume(fixed.vertices, fixed.faces) == pytest.approx(12.0, rel=1e-9)


def test_repair_keeps_a_cavity_inside():
    v1, f1 = box_mesh([0, 0, 0], [2, 2, 2])
    v2, f2 = box_mesh([0.5, 0.5, 0.5], [1.5, 1.5, 1.5])  # wound outwards: wrong for a cavity
    fixed = repair_mesh(np.concatenate([v1, v2]), f1 + [f + 8 for f in f2])
    assert fixed.flipped_faces == 6
    assert _mesh_volume(fixed.vertices, fixed.faces) == pytest.approx(7.0, rel=1e-12)


def test_repair_closes_t_junctions():
    # The top of a 2 x 1 x 1 box is two quads meeting at x = 1; the sides do not have those
    # midpoints, so the mesh is open along both top edges until they are inserted.
    vertices, faces = box_mesh([0, 0, 0], [2, 1, 1])
    vertices = np.concatenate([vertices, [[1, 0, 1], [1, 1, 1]]])
    faces = faces[:5] + [np.array([4, 8, 9, 6]), np.array([8, 5, 7, 9])]
    with pytest.raises(MeshError, match="open"):
        validate_solid_mesh(vertices, faces)
    fixed = repair_mesh(vertices, faces)
    assert fixed.split_t_junctions == 2 and fixed.flipped_faces == 0
    assert _mesh_volume(fixed.vertices, fixed.faces) == pytest.approx(2.0, rel=1e-12)
    shards = fracture_mesh(fixed.vertices, fixed.faces, FractureSpec(cell_count=20, seed=0))
    assert shards.volume.sum() == pytest.approx(2.0, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# Readers and builders
# ---------------------------------------------------------------------------------------------

def test_cityjson_houses_are_recentred_closed_solids():
    houses = load_cityjson(HOUSES)  # all ten at LoD 2.2, one common offset
    assert len(houses) == 10
    lows = np.array([v.min(0) for _, v, _ in houses])
    highs = np.array([v.max(0) for _, v, _ in houses])
    assert lows[:, 2].min() == pytest.approx(0.0, abs=1e-9)
    centre = 0.5 * (lows.min(0) + highs.max(0))
    assert np.allclose(centre[:2], 0.0, atol=1e-6)
    for name, v, f in houses:
        validate_solid_mesh(v, f, name)
    name, v, _ = _house()
    assert name == HOUSE_ID and v[:, 2].min() == pytest.approx(0.0, abs=1e-9)
    assert 8 < np.ptp(v[:, 2]) < 10
    with pytest.raises(SpecError, match="LoD 3.0"):
        load_cityjson(HOUSES, lod="3.0")
    with pytest.raises(SpecError) as err:
        load_cityjson(HOUSES, object_ids=["nope"])
    assert err.value.field == "object_ids"


def test_obj_round_trip(tmp_path):
    vertices, faces = l_block_mesh()
    path = tmp_path / "l.obj"
    lines = [f"v {float(x)!r} {float(y)!r} {float(z)!r}" for x, y, z in vertices]
    lines += ["f " + " ".join(f"{i + 1}/1/1" for i in f) for f in faces]
    path.write_text("o L\n" + "\n".join(lines) + "\n")
    v, f = load_obj(path)
    assert np.array_equal(v, vertices) and all(np.array_equal(a, b) for a, b in zip(f, faces, strict=True))
    assert _mesh_volume(v, f) == pytest.approx(12.0, rel=1e-12)


def test_builders_make_closed_outward_solids():
    assert _mesh_volume(*box_mesh([0, 0, 0], [1, 2, 3])) == pytest.approx(6.0)
    assert _mesh_volume(*prism_mesh([(0, 0), (0, 1), (1, 0)], 0, 2)) == pytest.approx(1.0)  # clockwise in
    assert _mesh_volume(*u_block_mesh()) == pytest.approx(2 * (6 * 1 + 2 * 1 * 2))
    assert _mesh_volume(*wall_with_windows_mesh(windows=0)) == pytest.approx(18.0)
    with pytest.raises(SpecError):
        wall_with_windows_mesh(windows=6, window_w=4.0)
