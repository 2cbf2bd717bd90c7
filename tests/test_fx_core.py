"""Break events from baked transforms, and rubble/dust emission: pure numpy, no bpy."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core import debris, physics
from collapse_addon.core.break_events import BreakEvents
from collapse_addon.core.glue_breaks import glue_break_events


def _rot_z(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def _three_shards(frames=6, break_at=3, step=0.1, turn=0.0):
    """Shards 0 (anchor), 1, 2 in a row along x; from ``break_at`` shards 1 and 2 slide away
    together (bond 0-1 breaks, bond 1-2 holds) while shard 0 turns by ``turn`` about z."""
    centres = np.array([[0.0, 0, 0], [1.0, 0, 0], [2.0, 0, 0]])
    positions = np.repeat(centres[None], frames, axis=0)
    rotations = np.tile(np.eye(3), (frames, 3, 1, 1))
    for f in range(break_at, frames):
        positions[f, 1:, 0] += step * (f - break_at + 1)
        rotations[f, 0] = _rot_z(turn)
    pairs = np.array([[0, 1], [1, 2]])
    pivots = np.array([[0.5, 0, 0], [1.5, 0, 0]])
    normals = np.array([[1.0, 0, 0], [1.0, 0, 0]])
    return positions, rotations, pairs, pivots, normals


def test_break_events_match_the_reports_broken_bonds_and_sit_on_the_face():
    positions, rotations, pairs, pivots, normals = _three_shards()
    masses = np.array([100.0, 20.0, 30.0])
    events = glue_break_events(positions, rotations, pairs=pairs, pivots=pivots, normals=normals,
                               masses=masses, passive=np.array([True, False, False]),
                               materials=["concrete", "masonry", "glass"], frame_start=1, fps=24)
    fraction = physics.broken_glue_fraction(rotations, positions, pairs, pivots)
    assert events.count == round(fraction[-1] * len(pairs)) == 1
    assert events.frame.tolist() == [1 + 3] and events.time[0] == pytest.approx(3 / 24)
    np.testing.assert_allclose(events.position[0], pivots[0])  # the anchor keeps its copy in place
    np.testing.assert_allclose(events.normal[0], [1, 0, 0])
    # the anchor does not move: the reduced mass is the free side's, 20 kg, at 0.1 m per frame
    assert events.impulse[0] == pytest.approx(20.0 * 0.1 * 24)
    assert (events.shard_a[0], events.shard_b[0]) == (0, 1)
    assert (events.material_a[0], events.material_b[0], events.cause[0]) == ("concrete", "masonry", "glue")


def test_break_event_normal_turns_with_the_first_shard():
    positions, rotations, pairs, pivots, normals = _three_shards(turn=np.pi / 2)
    events = glue_break_events(positions, rotations, pairs=pairs, pivots=pivots, normals=normals,
                               masses=np.ones(3), passive=np.zeros(3, bool),
                               materials=["concrete"] * 3, frame_start=10, fps=24)
    assert events.count == 1 and events.frame[0] == 13
    np.testing.assert_allclose(events.normal[0], [0, 1, 0], atol=1e-12)
    np.testing.assert_allclose(events.position[0], [0, 0.5, 0], atol=1e-12)


def test_no_events_when_every_bond_holds():
    positions, rotations, pairs, pivots, normals = _three_shards(step=0.0)
    events = glue_break_events(positions, rotations, pairs=pairs, pivots=pivots, normals=normals,
                               masses=np.ones(3), passive=np.zeros(3, bool),
                               materials=["concrete"] * 3, frame_start=1, fps=24)
    assert events.count == 0


def _events(n, material="concrete", seed=0):
    rng = np.random.default_rng(seed)
    return BreakEvents.from_lists([
        (f / 24, 10 + f, rng.uniform(-3, 3, 3) + [0, 0, 6], [1.0, 0, 0], float(rng.uniform(1, 50)),
         f, f + 1, material, material, "glue") for f in range(n)])


def test_allocation_adds_up_and_follows_the_weights():
    counts = debris.allocate(np.array([1.0, 2.0, 0.0, 1.0]), 101)
    assert counts.sum() == 101 and counts[2] == 0 and counts[1] > counts[0]
    assert debris.allocate(np.zeros(3), 10).sum() == 0


def test_rubble_is_ten_times_the_shards_and_lands_on_the_ground():
    events = _events(40)
    rng = np.random.default_rng(1)
    rubble = debris.rubble_points(events, 25, "medium", ground_z=-0.5, size=0.2, fps=24, rng=rng)
    assert rubble.count >= 10 * 25
    assert (rubble.t0 >= events.frame.min() / 24).all() and (rubble.t1 > rubble.t0).all()
    landed, _ = rubble.at(1e3)
    np.testing.assert_allclose(landed[:, 2], -0.5 + 0.5 * rubble.r0, atol=1e-9)
    for t in np.linspace(0, 5, 11):
        pos, alive = rubble.at(t)
        assert (pos[alive, 2] >= -0.5 + 0.5 * rubble.r0[alive] - 1e-9).all()
    assert not rubble.at(events.frame.min() / 24 - 1e-3)[1].any()  # nothing before the first break


def test_steel_makes_no_dust_or_rubble_and_glass_no_dust():
    rng = np.random.default_rng(2)
    for material, rubble_expected in (("steel", False), ("glass", True)):
        events = _events(10, material)
        dust = debris.dust_points(events, 10, "high", ground_z=0, size=1, fps=24, rng=rng)
        rubble = debris.rubble_points(events, 10, "high", ground_z=0, size=1, fps=24, rng=rng)
        assert dust.count == 0
        assert (rubble.count > 0) == rubble_expected


def test_quality_knob_scales_the_counts_and_off_makes_none():
    events = _events(30)
    counts = [debris.rubble_points(events, 20, q, ground_z=0, size=0.2, fps=24,
                                   rng=np.random.default_rng(3)).count for q in debris.QUALITY]
    assert counts[0] == 0 and counts == sorted(counts)


def test_emission_is_deterministic_for_a_seed():
    events = _events(15)
    a = debris.dust_points(events, 10, "medium", ground_z=0, size=1, fps=24, rng=np.random.default_rng(5))
    b = debris.dust_points(events, 10, "medium", ground_z=0, size=1, fps=24, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a.p0, b.p0)
    np.testing.assert_array_equal(a.v0, b.v0)


def test_fragment_shapes_are_closed_and_face_outwards():
    for verts, tris in debris.fragment_shapes(np.random.default_rng(4)):
        a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
        volume = np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6
        assert volume > 0
        edges = np.sort(np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]]), axis=1)
        _, counts = np.unique(edges, axis=0, return_counts=True)
        assert (counts == 2).all()


def test_dust_settles_and_thins_out_and_its_volume_is_capped():
    events = _events(40)  # breaks from frame 10 to 49 at 24 fps
    dust = debris.dust_points(events, 200, "high", ground_z=0, size=1.5, fps=24,
                              rng=np.random.default_rng(6))
    assert dust.count == 800  # 4 puffs a shard, no cap

    def volume(t):
        pos, alive = dust.at(t)
        return float(np.sum(4 / 3 * np.pi * dust.radius(t)[alive] ** 3)), pos, alive

    times = np.linspace(0.0, 20.0, 201)
    curve = np.array([volume(t)[0] for t in times])
    assert curve[times < 10 / 24].max() == 0.0  # none before the first break
    peak = int(np.argmax(curve))
    last = 49 / 24 + debris.GROWTH[1] + debris.FADE[1]
    assert curve[peak] > 0 and times[peak] < last
    assert (np.diff(curve[times > times[peak] + debris.GROWTH[1]]) <= 1e-12).all()  # only thins
    assert curve[times > last + 0.1].max() == 0.0  # all settled and thinned out
    # after its growth, each puff sinks at a Stokes settling speed
    t = float(np.max(dust.t1)) + 0.5
    _, before, alive = volume(t)
    _, after, _ = volume(t + 0.5)
    drop = (before - after)[alive & (dust.t2 > t + 0.5)][:, 2] / 0.5
    assert drop.size and (drop >= debris.SETTLING[0] - 1e-9).all() and (drop <= debris.SETTLING[1] + 1e-9).all()
    # the cloud at full size fills at most max_volume
    capped = debris.dust_points(events, 200, "high", ground_z=0, size=1.5, fps=24,
                                rng=np.random.default_rng(6), max_volume=300.0)
    assert capped.count <= 300.0 / (4 / 3 * np.pi * 1.5**3) + 1 < dust.count


def test_few_points_spread_over_all_the_events_in_order():
    weights = np.random.default_rng(8).uniform(0.2, 3.0, 1000)
    counts = debris.allocate(weights, 50)
    share = weights / weights.sum() * 50
    assert counts.sum() == 50 and ((counts == np.floor(share)) | (counts == np.ceil(share))).all()
    first = np.flatnonzero(counts)
    assert first[0] < 40 and first[-1] > 960  # from the first breaks to the last
