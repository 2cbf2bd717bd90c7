"""Joints between mesh elements (core/mesh_contacts.py): two boxes stacked as two elements touch
over exactly their overlap, with the normal from the lower shard into the upper; boxes apart do
not; an element seated in a hole with a gap under ``gap`` bonds, one further away does not."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core.mesh_contacts import with_cross_element_contacts
from collapse_addon.core.mesh_parts import MeshPart, fracture_parts
from collapse_addon.core.mesh_prepare import prepare_mesh
from collapse_addon.core.seeds import FractureSpec


def _box(lo, hi):
    lo, hi = np.asarray(lo, float), np.asarray(hi, float)
    v = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])])
    faces = [np.array(f) for f in ([0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3],
                                   [0, 4, 6, 2], [1, 3, 7, 5])]
    return v, faces


def fracture_meshes(meshes, spec):
    """The boxes as one building's elements, through the one mesh route."""
    parts = [MeshPart(prepare_mesh(v, f, f"box{i}").solid, f"box{i}", "reinforced_concrete")
             for i, (v, f) in enumerate(meshes)]
    return fracture_parts(parts, spec)[1]


def _cross(shards):
    c = shards.contacts
    return c.pairs[c.cross_element], c.area[c.cross_element], c.normal[c.cross_element]


def test_stacked_elements_touch_over_their_overlap():
    meshes = [_box([0, 0, 0], [2, 1, 1]), _box([1, 0.25, 1], [3, 0.75, 2])]
    shards = with_cross_element_contacts(fracture_meshes(meshes, FractureSpec(cell_count=12, seed=4)))
    pairs, area, normal = _cross(shards)
    assert area.sum() == pytest.approx(1.0 * 0.5, rel=1e-6)  # x 1..2, y 0.25..0.75 (CrossSection: ~1e-8)
    lower = shards.element[pairs[:, 0]] == 0
    assert np.allclose(normal[lower], [0, 0, 1]) and np.allclose(normal[~lower], [0, 0, -1])
    assert (shards.element[pairs[:, 0]] != shards.element[pairs[:, 1]]).all()
    # the contacts inside each element are kept as they were
    assert (~shards.contacts.cross_element).sum() > 0


def test_elements_apart_or_beyond_the_gap_do_not_touch():
    apart = [_box([0, 0, 0], [1, 1, 1]), _box([0, 0, 1.05], [1, 1, 2])]
    shards = with_cross_element_contacts(fracture_meshes(apart, FractureSpec(cell_count=6, seed=1)), gap=0.01)
    assert _cross(shards)[0].size == 0
    near = [_box([0, 0, 0], [1, 1, 1]), _box([0, 0, 1.005], [1, 1, 2])]  # 5 mm: seated
    lines: list[str] = []
    shards = with_cross_element_contacts(fracture_meshes(near, FractureSpec(cell_count=6, seed=1)),
                                         gap=0.01, log=lines.append)
    pairs, area, _ = _cross(shards)
    assert area.sum() == pytest.approx(1.0, rel=1e-9) and "seated" in lines[0]
