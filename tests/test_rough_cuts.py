"""Rough breaks: cut faces offset by one world-space noise field (pure numpy, no bpy)."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core import rough_cuts
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.seeds import FractureSpec


@pytest.fixture(scope="module")
def cells():
    building = generate_building(BuildingSpec(bays_x=1, bays_y=1, storeys=2))
    return fracture_building(building, FractureSpec(cell_count=80, seed=3))


@pytest.mark.parametrize("rms", [0.01, 0.03, 0.08])
def test_cut_faces_deviate_from_their_plane_by_the_rms(cells, rms):
    rough = rough_cuts.roughen(cells, rms, seed=1)
    deviation = np.linalg.norm(rough.offset[rough.inner], axis=1)
    assert np.sqrt(np.mean(deviation**2)) == pytest.approx(rms, rel=1e-9)
    assert not rough.offset[~rough.inner].any()  # corners and edges of every face stay put
    # offsets are along the face normal: each cut triangle's inner points stay over their plane
    assert deviation.max() > rms


def test_shard_volumes_still_add_up(cells):
    rough = rough_cuts.roughen(cells, 0.05, seed=2)
    before = rough_cuts.shard_volumes(cells.vertices, cells)
    after = rough_cuts.shard_volumes(rough.displaced_vertices(), rough.shards)
    np.testing.assert_allclose(before, cells.volume, rtol=1e-9)
    assert abs(after.sum() - before.sum()) < 1e-6 * before.sum()
    assert np.abs(after - before).max() > 1e-5  # the shards themselves did change


def test_neighbours_meet_without_gap_or_overlap(cells):
    """Both sides of every cut carry the same displaced points: their surfaces coincide, so the
    gap and overlap volume between neighbours is zero (to rounding)."""
    rough = rough_cuts.roughen(cells, 0.05, seed=2)
    undisplaced = rough.shards.vertices[rough.inner]
    displaced = rough.displaced_vertices()[rough.inner]
    _, group, counts = np.unique(np.round(undisplaced, 7), axis=0, return_inverse=True,
                                 return_counts=True)
    assert (counts == 2).all()
    group = group.ravel()
    order = np.argsort(group, kind="stable")
    pairs = displaced[order].reshape(-1, 2, 3)
    assert np.abs(pairs[:, 0] - pairs[:, 1]).max() < 1e-9


def test_material_factor_keeps_steel_and_glass_flat(cells):
    factor = np.zeros(cells.count)
    factor[: cells.count // 2] = 1.0
    rough = rough_cuts.roughen(cells, 0.03, seed=4, factor=factor)
    owner = np.repeat(np.arange(cells.count), np.diff(rough.shards.vertex_start))
    assert not rough.offset[factor[owner] == 0].any()
    assert rough.offset[factor[owner] == 1].any()


def test_noise_field_is_seeded_and_smooth():
    pts = np.random.default_rng(0).uniform(0, 10, (500, 3))
    a, b = rough_cuts.noise_field(pts, 1), rough_cuts.noise_field(pts, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, rough_cuts.noise_field(pts, 2))
    step = rough_cuts.noise_field(pts + 1e-3, 1) - a
    assert np.abs(step).max() < 0.1


def test_face_frames_are_the_one_face_formulas_bit_for_bit(cells):
    centres, normals = rough_cuts.face_frames(cells)
    starts = cells.loop_start
    for f in range(len(cells.face_sizes)):
        corners = cells.vertices[cells.loops[starts[f]:starts[f] + cells.face_sizes[f]]]
        assert np.array_equal(centres[f], corners.mean(0))
        assert np.array_equal(normals[f], rough_cuts._face_normal(corners))
    some = rough_cuts.face_frames(cells, [0, 2])[0]
    mine = np.repeat(np.arange(cells.count), np.diff(cells.face_start))
    assert np.array_equal(some[np.isin(mine, [0, 2])], centres[np.isin(mine, [0, 2])])
    assert np.isnan(some[~np.isin(mine, [0, 2])]).all()
