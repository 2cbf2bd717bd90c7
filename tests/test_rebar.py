"""Rebar ends at broken reinforced-concrete bonds (pure numpy, no bpy)."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core import rebar
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.seeds import FractureSpec


@pytest.fixture(scope="module")
def shot():
    building = generate_building(BuildingSpec(bays_x=1, bays_y=1, storeys=1))
    shards = fracture_building(building, FractureSpec(cell_count=60, seed=5))
    materials = [building.elements[int(e)].material for e in shards.element]
    return building, shards, materials


def _inside_cell(shards, s, point, tol=1e-9) -> bool:
    """``point`` strictly inside convex shard ``s`` (behind every face plane)."""
    starts = shards.loop_start
    centre = shards.centroid[s]
    for f in range(shards.face_start[s], shards.face_start[s + 1]):
        corners = shards.vertices[shards.loops[starts[f]:starts[f] + shards.face_sizes[f]]]
        c = corners.mean(0)
        n = np.cross(corners - c, np.roll(corners, -1, 0) - c).sum(0)
        n *= np.sign(n @ (c - centre))  # outward
        if (point - c) @ n > -tol:
            return False
    return True


def _all_contacts(shards):
    c = shards.contacts
    return c.pairs[:, 0], c.pairs[:, 1], c.centroid, c.normal


def test_bars_only_between_reinforced_concrete_and_hidden_in_the_neighbour(shot):
    building, shards, materials = shot
    a, b, points, normals = _all_contacts(shards)
    # the normal from a to b
    flip = np.einsum("ij,ij->i", shards.centroid[b] - shards.centroid[a], normals) < 0
    normals = np.where(flip[:, None], -normals, normals)
    bars = rebar.rebar_bars(shards, shards.centroid, materials, a, b, points, normals, seed=1)
    rc = np.array([materials[i] == rebar.RC and materials[j] == rebar.RC for i, j in zip(a, b, strict=True)])
    assert rc.any() and (~rc).any()  # the building has both kinds of bonds
    assert bars.count >= rc.sum()  # about one to four bars per RC break
    assert rc[bars.event].all()  # none where a non-RC material broke
    for k in range(bars.count):
        e = bars.event[k]
        owner = bars.shard[k]
        other = b[e] if owner == a[e] else a[e]
        assert owner in (a[e], b[e])
        # embedded in its owner, its broken end inside the neighbour: unseen until they part
        assert _inside_cell(shards, owner, bars.start[k])
        assert _inside_cell(shards, other, bars.end[k])
        length = np.linalg.norm(bars.end[k] - bars.start[k])
        assert rebar.EMBED < length < rebar.EMBED + 0.3


def test_bars_are_deterministic_and_seeded(shot):
    building, shards, materials = shot
    a, b, points, normals = _all_contacts(shards)
    one = rebar.rebar_bars(shards, shards.centroid, materials, a, b, points, normals, seed=3)
    two = rebar.rebar_bars(shards, shards.centroid, materials, a, b, points, normals, seed=3)
    other = rebar.rebar_bars(shards, shards.centroid, materials, a, b, points, normals, seed=4)
    assert np.array_equal(one.end, two.end) and np.array_equal(one.shard, two.shard)
    assert one.end.shape != other.end.shape or not np.array_equal(one.end, other.end)


def test_bar_mesh_is_closed_at_the_tip_and_faces_out():
    start = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    end = start + np.array([[0.0, 0.0, 0.2], [0.1, 0.0, 0.0]])
    verts, quads = rebar.bar_mesh(start, end, radius=0.01)
    assert verts.shape == (16, 3) and quads.shape == (10, 4)
    for q in quads:
        p = verts[q]
        n = np.cross(p[1] - p[0], p[2] - p[1])
        bar = 0 if q[0] < 8 else 1
        middle = 0.5 * (start[bar] + end[bar])
        assert n @ (p.mean(0) - middle) > 0  # every face points away from the bar's axis middle
