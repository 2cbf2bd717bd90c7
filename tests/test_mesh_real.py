"""Real buildings in: a suite of broken meshes (repaired or solidified, never made worse), a city
tile of 160 open LoD1 buildings, picking buildings, and errors in the file's own coordinates.
Pure: no bpy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from collapse_addon.core.citymodel import read_cityjson_buildings
from collapse_addon.core.errors import MeshError, SpecError
from collapse_addon.core.mesh_fracture import (
    fracture_mesh,
    repair_mesh,
    triangulate_faces,
    validate_solid_mesh,
    winding_numbers,
)
from collapse_addon.core.mesh_prepare import prepare_mesh
from collapse_addon.core.mesh_repair import mesh_defects
from collapse_addon.core.mesh_route import fracture_mesh_file
from collapse_addon.core.meshio import box_mesh, l_block_mesh
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.settings import MeshSource
from collapse_addon.core.solidify import solidify_mesh, winding_volume

DATA = Path(__file__).parent / "data"
DELFT = DATA / "delft_tile_lod1.city.json"


def _join(*meshes):
    vertices, faces, offset = [], [], 0
    for v, f in meshes:
        vertices.append(np.asarray(v, float))
        faces.extend(np.asarray(x) + offset for x in f)
        offset += len(v)
    return np.concatenate(vertices), faces


def _broken_meshes():
    """(name, vertices, faces, expected volume of the intended solid)."""
    v, f = box_mesh([0, 0, 0], [3, 2, 2])
    cases = [("hole (top missing)", v, f[:5], 12.0)]
    lv, lf = l_block_mesh()
    flipped = [x[::-1].copy() if k in (1, 4) else x for k, x in enumerate(lf)]
    cases.append(("flipped faces", lv, flipped, 12.0))
    a = box_mesh([0, 0, 0], [2, 2, 2])
    b = box_mesh([1, 0.5, 0.5], [3, 1.5, 1.5])
    cases.append(("self-intersecting boxes", *_join(a, b), 9.0))
    cases.append(("duplicated face", v, f + [f[5].copy()], 12.0))
    c = box_mesh([0, 0, 0], [2, 2, 2])
    d = box_mesh([2, 2, 0], [4, 4, 2])  # touches the first along the edge x = y = 2
    dv, df = _join(c, d)
    shared = {tuple(p): i for i, p in enumerate(dv[:8].tolist())}
    remap = np.array([shared.get(tuple(p), i) for i, p in enumerate(dv.tolist())])
    cases.append(("non-manifold edge", dv, [remap[x] for x in df], 16.0))
    # Several open pieces: the walls, and a floor and a lid as separate sheets overhanging them.
    walls = (v, f[2:4] + f[4:5] + f[5:6])  # 4 sides, open at the bottom and the top
    lid = (np.array([[-0.1, -0.1, 2.0], [3.1, -0.1, 2.0], [3.1, 2.1, 2.0], [-0.1, 2.1, 2.0]]),
           [np.array([0, 1, 2, 3])])
    floor = (lid[0] - [0, 0, 2.0], [np.array([3, 2, 1, 0])])
    cases.append(("several open pieces", *_join(walls, lid, floor), 12.0))
    return cases


@pytest.mark.parametrize("case", _broken_meshes(), ids=lambda c: c[0])
def test_broken_meshes_fracture_within_two_percent_of_their_winding_volume(case):
    name, vertices, faces, expected = case
    with pytest.raises(MeshError):
        validate_solid_mesh(vertices, faces, name)
    before = mesh_defects(vertices, faces)
    fixed = repair_mesh(vertices, faces)
    assert not fixed.after.worse_than(before), fixed.summary()  # never made worse
    assert fixed.before == before and fixed.summary()
    prepared = prepare_mesh(vertices, faces, name, repair=True, solidify=True, solidify_step=0.08)
    # The winding-number volume of the mesh the solid follows (the repair's, winding consistent);
    # it is the intended solid's.
    reference = winding_volume(fixed.vertices, fixed.faces, 0.05)
    assert reference == pytest.approx(expected, rel=0.03)
    assert prepared.solid.volume == pytest.approx(reference, rel=0.02), prepared.notes
    if prepared.route == "solidified":
        assert "solidified: volume" in prepared.notes[-1] and "max deviation" in prepared.notes[-1]
    shards = fracture_mesh(None, None, FractureSpec(cell_count=12, seed=3), solid=prepared.solid)
    assert shards.volume.sum() == pytest.approx(prepared.solid.volume, rel=1e-6)
    assert _closed_shards(shards)


def test_solidify_reports_volume_change_and_deviation_of_an_open_box():
    v, f = box_mesh([0, 0, 0], [4, 3, 2])
    result = solidify_mesh(v, f[:5], step=0.1)  # the lid is missing
    assert abs(result.volume_change) < 0.02
    assert result.describe().startswith("solidified: volume ")
    assert 0 < result.max_deviation < 2.0  # the bridged lid lies away from any input face
    closed = solidify_mesh(v, f, step=0.1)
    assert closed.volume == pytest.approx(24.0, rel=1e-3) and closed.max_deviation < 0.01


def test_repair_keeps_a_valid_mesh_whose_faces_share_two_edges():
    # The front and top faces both hold the midpoint of their common edge: they share two edges.
    vertices, faces = box_mesh([0, 0, 0], [2, 1, 1])
    vertices = np.concatenate([vertices, [[1.0, 0.0, 1.0]]])
    faces = [list(x) for x in faces]
    for k, face in enumerate(faces):
        for i in range(len(face)):
            a, b = face[i], face[(i + 1) % len(face)]
            if {a, b} == {4, 5}:
                faces[k] = face[:i + 1] + [8] + face[i + 1:]
                break
    faces = [np.array(x) for x in faces]
    validate_solid_mesh(vertices, faces)
    fixed = repair_mesh(vertices, faces)
    assert not fixed.changed and not fixed.reverted, fixed.notes
    assert all(np.array_equal(a, b) for a, b in zip(fixed.faces, faces, strict=True))
    validate_solid_mesh(fixed.vertices, fixed.faces)


def test_repair_undoes_a_step_that_opens_edges():
    # A closed box with its top pasted again the wrong way round: dropping both copies of the top
    # (right for an internal double wall) would open the box, so that is undone and one goes.
    v, f = box_mesh([0, 0, 0], [1, 2, 3])
    faces = f + [f[5][::-1].copy()]
    before = mesh_defects(v, faces)
    fixed = repair_mesh(v, faces, fill_holes=False)
    assert "drop doubled faces" in fixed.reverted
    assert fixed.dropped_duplicates == 1 and not fixed.after.worse_than(before)
    assert fixed.after.clean
    assert prepare_mesh(fixed.vertices, fixed.faces).solid.volume == pytest.approx(6.0, rel=1e-12)


def _closed_shards(shards) -> bool:
    """Every directed edge of every shard has its reverse in the same shard (vectorised)."""
    face_shard = np.repeat(np.arange(shards.count), np.diff(shards.face_start))
    corner_face = np.repeat(np.arange(len(shards.face_sizes)), shards.face_sizes)
    starts = shards.loop_start[corner_face]
    pos = np.arange(len(corner_face)) - starts
    nxt = starts + (pos + 1) % shards.face_sizes[corner_face]
    a, b = shards.loops, shards.loops[nxt]
    s = face_shard[corner_face]
    n = len(shards.vertices)
    forward = (s * n + a) * n + b
    backward = (s * n + b) * n + a
    return bool(np.isin(backward, forward).all() and len(np.unique(forward)) == len(forward))


def test_delft_tile_fractures_building_by_building():
    source = MeshSource(path=str(DELFT), objects="*")
    lines = []
    building, shards = fracture_mesh_file(source, FractureSpec(cell_count=480, seed=1), DELFT,
                                          log=lines.append)
    assert len(building.elements) >= 0.95 * 160
    # Each building's shards hold its checked solid's volume, and the whole tile's add up too.
    solid_volume = sum(float(np.prod(e.hi - e.lo)) for e in building.elements)  # upper bound
    assert shards.volume.sum() <= solid_volume
    per_element = np.bincount(shards.element, shards.volume, len(building.elements))
    assert (per_element > 0).all()
    assert _closed_shards(shards)
    # Every building stands on the ground; the tile is centred on the origin.
    assert np.allclose([e.lo[2] for e in building.elements], 0.0)
    lo, hi = building.lo, building.hi
    assert np.allclose((lo[:2] + hi[:2]) / 2, 0.0, atol=1e-6)
    assert any("Fractured 160 of 160" in line for line in lines)


def test_delft_buildings_repaired_volume_matches_their_winding_volume():
    buildings = read_cityjson_buildings(DELFT, lod="1")[:6]
    for b in buildings:
        prepared = prepare_mesh(b.vertices, b.faces, b.id, repair=True, merge_distance=1e-3)
        assert prepared.route == "repaired"  # open at the base: a planar hole filled
        # The open input's winding-number volume, by Monte Carlo (20,000 points: ~0.5% error).
        v = b.vertices - b.vertices.min(0)
        tris, _, _ = triangulate_faces(v, b.faces)
        hi = v.max(0)
        points = np.random.default_rng(7).random((20_000, 3)) * hi
        inside = winding_numbers(points, v[tris]) > 0.5
        reference = inside.mean() * float(np.prod(hi))
        assert prepared.solid.volume == pytest.approx(reference, rel=0.02)


def test_city_buildings_are_picked_by_id_and_bounding_box():
    every = read_cityjson_buildings(DELFT)
    assert len(every) == 160 and all(b.lod == "1" for b in every)
    assert "measuredHeight" in every[0].attributes
    one = read_cityjson_buildings(DELFT, ids=[every[3].id])
    assert [b.id for b in one] == [every[3].id]
    centre = np.array([(b.vertices.min(0)[:2] + b.vertices.max(0)[:2]) / 2 for b in every])
    x0, y0 = np.median(centre, axis=0)
    box = (x0 - 60.0, y0 - 60.0, x0 + 60.0, y0 + 60.0)
    inside = read_cityjson_buildings(DELFT, bbox=box)
    expected = ((centre[:, 0] >= box[0]) & (centre[:, 0] <= box[2])
                & (centre[:, 1] >= box[1]) & (centre[:, 1] <= box[3])).sum()
    assert 0 < len(inside) == expected < 160
    with pytest.raises(SpecError, match="mesh.bbox"):
        read_cityjson_buildings(DELFT, bbox=(0, 0, 1, 1))
    with pytest.raises(SpecError, match="mesh.objects"):
        read_cityjson_buildings(DELFT, ids=["no-such-building"])
    with pytest.raises(SpecError, match="mesh.lod"):
        read_cityjson_buildings(DELFT, lod="3")


def test_errors_name_the_vertex_in_the_file_coordinates(tmp_path):
    obj = tmp_path / "bad.obj"
    v, f = box_mesh([100, 200, 0], [102, 203, 4])
    lines = [f"v {x} {y} {z}" for x, y, z in v.tolist()]
    lines[5] = "v nan 201 4"
    lines += ["f " + " ".join(str(i + 1) for i in face) for face in f]
    obj.write_text("\n".join(lines) + "\n")
    with pytest.raises(MeshError, match=r"1 vertices have NaN .*vertex 5"):
        fracture_mesh_file(MeshSource(path=str(obj)), FractureSpec(cell_count=5), obj)
    # An open mesh: the hole is reported where it is in the file, not after a move.
    lines = [f"v {x} {y} {z}" for x, y, z in v.tolist()]
    lines += ["f " + " ".join(str(i + 1) for i in face) for face in f[:5]]
    obj.write_text("\n".join(lines) + "\n")
    with pytest.raises(MeshError, match=r"is open.*\(10[012].*solidify = true") as info:
        fracture_mesh_file(MeshSource(path=str(obj), solidify=False), FractureSpec(cell_count=5), obj)
    assert "repair = true" in str(info.value)
