"""Pure physics maths: settings validation, masses, glue, triggers, ground motion, report maths."""

from __future__ import annotations

import sys
from dataclasses import fields, replace

import numpy as np
import pytest

from collapse_addon.core import physics
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.errors import SpecError
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.materials import MATERIALS
from collapse_addon.core.physics import SimulationSpec, TriggerSpec
from collapse_addon.core.seeds import FractureSpec


@pytest.fixture(scope="module")
def small():
    building = generate_building(BuildingSpec(bays_x=2, bays_y=1, storeys=3))
    shards = fracture_building(building, FractureSpec(cell_count=120, seed=1))
    return building, shards


def test_physics_imports_without_bpy():
    assert "bpy" not in sys.modules or not physics.__dict__.get("bpy")
    assert "bpy" not in physics.__dict__


@pytest.mark.parametrize("spec_type", [SimulationSpec, TriggerSpec])
def test_every_field_has_default_doc_units_and_range(spec_type):
    from collapse_addon.core.field_meta import field_kind, in_range

    for f in fields(spec_type):
        meta = f.metadata
        assert meta["doc"], f.name
        assert "units" in meta and "range" in meta, f.name
        if field_kind(spec_type, f.name) in ("float", "int"):
            lo, hi = meta["range"]
            assert lo is not None and hi is not None and in_range(f.default, meta), f.name
    spec_type()  # the defaults validate


@pytest.mark.parametrize("kwargs, field", [
    (dict(fps=0), "fps"), (dict(substeps=2.5), "substeps"), (dict(frame_end=1), "frame_end"),
    (dict(gravity=float("nan")), "gravity"), (dict(start_asleep="yes"), "start_asleep"),
    (dict(time_scale=0), "time_scale"), (dict(min_glue_area=-1.0), "min_glue_area"),
])
def test_bad_simulation_settings_name_the_field(kwargs, field):
    with pytest.raises(SpecError) as err:
        SimulationSpec(**kwargs)
    assert err.value.field == field and err.value.fix


@pytest.mark.parametrize("kwargs, field", [
    (dict(type="tornado"), "type"), (dict(demolition_storeys=(-1,)), "demolition_storeys"),
    (dict(demolition_kinds=("roof",)), "demolition_kinds"),
    (dict(demolition_region=(5, 0, 1, 3)), "demolition_region"),
    (dict(impact_start=(0, 0)), "impact_start"), (dict(explosion_radius=0.0), "explosion_radius"),
    (dict(quake_freq_low=3.0, quake_freq_high=1.0), "quake_freq_high"),
    (dict(impact_start=(1, 2, 3), impact_target=(1, 2, 3)), "impact_target"),
    (dict(seed=-1), "seed"), (dict(kick_speed=float("inf")), "kick_speed"),
])
def test_bad_trigger_settings_name_the_field(kwargs, field):
    with pytest.raises(SpecError) as err:
        TriggerSpec(**kwargs)
    assert err.value.field == field


def test_trigger_frame_must_fall_inside_the_simulation():
    sim = SimulationSpec(frame_start=1, frame_end=50)
    physics.validate_trigger_timing(sim, TriggerSpec(frame=50))
    for frame in (1, 51):
        with pytest.raises(SpecError, match="frame"):
            physics.validate_trigger_timing(sim, TriggerSpec(frame=frame))
    physics.validate_trigger_timing(sim, TriggerSpec(type="none", frame=999))


def test_naive_settings_are_all_awake_ten_by_ten():
    naive = SimulationSpec.naive()
    assert (naive.substeps, naive.solver_iterations) == (10, 10)
    assert not naive.start_asleep and not naive.use_deactivation


def test_masses_are_density_times_volume(small):
    building, shards = small
    masses = physics.shard_masses(building, shards)
    expected = sum(MATERIALS[e.material].density * e.volume for e in building.elements)
    assert masses.sum() == pytest.approx(expected, rel=1e-9)
    assert (masses > 0).all()


def test_only_the_foundation_is_passive(small):
    building, shards = small
    passive = physics.anchor_mask(building, shards)
    kinds = physics.shard_kinds(building, shards)
    assert passive.any() and (kinds[passive] == "foundation").all()
    assert np.isfinite(physics.support_distance(shards, passive)).all()


def test_glue_keeps_every_shard_attached_and_drops_slivers(small):
    building, shards = small
    passive = physics.anchor_mask(building, shards)
    chosen = physics.glued_contacts(shards, passive, min_area=0.05)
    attached = np.zeros(shards.count, bool)
    attached[shards.contacts.pairs[chosen].ravel()] = True
    assert attached.all()
    dropped = np.setdiff1d(np.arange(shards.contacts.count), chosen)
    assert len(dropped) > 0 and (shards.contacts.area[dropped] < 0.05).all()


def test_glue_strength_is_bond_times_area_weaker_between_elements(small):
    building, shards = small
    graph = shards.contacts
    contacts = np.arange(graph.count)
    strength = physics.glue_strengths(building, shards, contacts)
    material = physics.shard_material_names(building, shards)
    for c in (np.nonzero(graph.cross_element)[0][0], np.nonzero(~graph.cross_element)[0][0]):
        a, b = graph.pairs[c]
        ma, mb = MATERIALS[material[a]], MATERIALS[material[b]]
        sigma = min(ma.bond_strength, mb.bond_strength)
        if graph.cross_element[c]:
            sigma *= min(ma.interface_factor, mb.interface_factor)
        assert strength[c] == pytest.approx(sigma * graph.area[c])


def test_thresholds_are_impulses_per_step():
    strength = np.array([1000.0, 10.0])
    load = np.array([10.0, 1000.0])
    coarse = physics.glue_thresholds(strength, load, SimulationSpec(substeps=5, glue_load_safety=2))
    fine = physics.glue_thresholds(strength, load, SimulationSpec(substeps=10, glue_load_safety=2))
    np.testing.assert_allclose(coarse, [1000 / 120, 2000 / 120])
    np.testing.assert_allclose(fine, coarse / 2)


def test_glue_carries_the_weight_it_holds_with_the_safety_margin(small):
    building, shards = small
    sim = SimulationSpec()
    masses = physics.shard_masses(building, shards)
    glue = physics.plan_glue(building, shards, sim, masses)
    heavier = np.maximum(masses[glue.pairs[:, 0]], masses[glue.pairs[:, 1]]) * sim.gravity
    assert (glue.threshold >= sim.glue_load_safety * heavier * sim.step_seconds - 1e-9).all()
    assert (glue.threshold >= glue.strength * sim.step_seconds - 1e-9).all()
    # the joints nearest the anchors carry the most
    distance = physics.support_distance(shards, physics.anchor_mask(building, shards))
    near = np.minimum(distance[glue.pairs[:, 0]], distance[glue.pairs[:, 1]])
    assert glue.static_load[near < 1.0].max() > 5 * np.median(glue.static_load)


def test_no_glue_when_switched_off(small):
    building, shards = small
    assert physics.plan_glue(building, shards, SimulationSpec(glue=False)).count == 0


def test_demolition_takes_the_chosen_supports_only(small):
    building, shards = small
    sim = SimulationSpec()
    glue = physics.plan_glue(building, shards, sim)
    plan = physics.plan_trigger(building, shards, sim, TriggerSpec(), glue)
    kinds = physics.shard_kinds(building, shards)[plan.kicked]
    storeys = physics.shard_storeys(building, shards)[plan.kicked]
    assert len(plan.kicked) and set(kinds) <= {"column", "wall"} and set(storeys) == {0}
    np.testing.assert_allclose(np.linalg.norm(plan.kick_velocity, axis=1), 2.0)
    touched = np.isin(glue.pairs[plan.unglue], plan.kicked).any(1)
    assert touched.all() and len(plan.unglue) == np.isin(glue.pairs, plan.kicked).any(1).sum()
    frames = plan.kick_frames()
    assert frames.min() == 24 and frames.max() == 24 + round(0.8 * 24)
    region = physics.plan_trigger(building, shards, sim, TriggerSpec(demolition_region=(-1, -1, 4, 6)), glue)
    assert 0 < len(region.kicked) < len(plan.kicked)
    assert (shards.centroid[region.kicked, 0] < 4.5).all()


def test_demolition_fraction_is_seeded(small):
    building, shards = small
    sim = SimulationSpec()
    glue = physics.plan_glue(building, shards, sim)

    def kicked(seed):
        spec = TriggerSpec(demolition_fraction=0.5, seed=seed)
        return physics.plan_trigger(building, shards, sim, spec, glue).kicked

    np.testing.assert_array_equal(kicked(3), kicked(3))
    assert not np.array_equal(kicked(3), kicked(4))


def test_explosion_pushes_outwards_within_its_radius(small):
    building, shards = small
    sim = SimulationSpec()
    glue = physics.plan_glue(building, shards, sim)
    spec = TriggerSpec(type="explosion", explosion_point=(5.0, 2.0, 1.5), explosion_radius=2.5,
                       explosion_strength=10.0)
    plan = physics.plan_trigger(building, shards, sim, spec, glue)
    offset = shards.centroid[plan.kicked] - np.array([5.0, 2.0, 1.5])
    assert (np.linalg.norm(offset, axis=1) < 2.5).all()
    assert (np.einsum("ij,ij->i", offset, plan.kick_velocity) > 0).all()
    assert np.linalg.norm(plan.kick_velocity, axis=1).max() <= 10.0
    assert 0 < len(plan.kicked) < shards.count / 2


def test_impact_ball_reaches_its_target_on_a_ballistic_path(small):
    building, shards = small
    sim = SimulationSpec()
    spec = TriggerSpec(type="impact", impact_start=(0.0, -10.0, 4.0), impact_target=(5.0, 0.0, 4.0),
                       impact_speed=20.0)
    plan = physics.plan_trigger(building, shards, sim, spec, physics.plan_glue(building, shards, sim))
    start, v = plan.ball["start"], plan.ball["velocity"]
    flight = np.linalg.norm(np.array([5.0, 10.0, 0.0])) / 20.0
    landing = start + v * flight + np.array([0, 0, -0.5 * sim.gravity]) * flight**2
    np.testing.assert_allclose(landing, (5.0, 0.0, 4.0), atol=1e-9)


def test_default_points_come_from_the_building(small):
    building, _shards = small
    spec = physics.resolve_trigger(building, TriggerSpec(type="impact"))
    assert spec.impact_target[1] == pytest.approx(building.lo[1])
    assert spec.impact_start[1] < building.lo[1]
    assert building.lo[0] <= spec.explosion_point[0] <= building.hi[0]


def test_earthquake_is_seeded_band_limited_and_starts_at_rest():
    sim = SimulationSpec(frame_end=240)
    spec = TriggerSpec(type="earthquake", frame=24, quake_amplitude=0.2, quake_freq_low=1.0,
                       quake_freq_high=2.0, quake_duration=6.0)
    motion = physics.earthquake_motion(spec, sim)
    assert motion.shape == (240, 3)
    np.testing.assert_array_equal(motion, physics.earthquake_motion(spec, sim))
    assert not np.allclose(motion, physics.earthquake_motion(replace(spec, seed=1), sim))
    assert np.abs(motion[:24]).max() == 0.0
    assert np.hypot(motion[:, 0], motion[:, 1]).max() <= 0.2 + 1e-9
    assert np.hypot(motion[:, 0], motion[:, 1]).max() > 0.1
    assert np.abs(motion[:, 2]).max() <= 0.2 * 0.3 + 1e-9
    # energy sits in the band: little below 0.5 Hz or above 3 Hz
    spectrum = np.abs(np.fft.rfft(motion[:, 0])) ** 2
    freq = np.fft.rfftfreq(len(motion), 1 / 24)
    inside = spectrum[(freq >= 0.5) & (freq <= 3.0)].sum()
    assert inside / spectrum.sum() > 0.8


def _rotation_z(angle):
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def test_glue_counts_as_broken_only_when_its_shards_part():
    pairs = np.array([[0, 1]])
    pivot = np.array([[1.0, 0.0, 0.0]])
    p0 = np.array([[0.0, 0, 0], [2.0, 0, 0]])
    # both shards rotate rigidly together about the origin: intact
    rot = _rotation_z(0.3)
    positions = np.stack([p0, p0 @ rot.T])
    rotations = np.stack([np.stack([np.eye(3)] * 2), np.stack([rot] * 2)])
    assert physics.broken_glue_fraction(rotations, positions, pairs, pivot).tolist() == [0.0, 0.0]
    # the second shard moves 5 cm away: broken, and it stays broken when it comes back
    positions = np.stack([p0, p0 + [[0, 0, 0], [0.05, 0, 0]], p0])
    rotations = np.stack([np.stack([np.eye(3)] * 2)] * 3)
    assert physics.broken_glue_fraction(rotations, positions, pairs, pivot).tolist() == [0.0, 1.0, 1.0]


def test_quaternions_give_rotations():
    q = np.random.default_rng(0).normal(size=(10, 4))
    r = physics.quaternion_matrices(q)
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), np.broadcast_to(np.eye(3), r.shape), atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(r), 1.0)


def test_mass_radius_holds_the_fraction():
    points = np.array([[1.0, 0], [2.0, 0], [3.0, 0], [10.0, 0]])
    masses = np.array([1.0, 1.0, 1.0, 0.1])
    assert physics.mass_radius(points, masses, np.zeros(2), 0.95) == 3.0
    assert physics.mass_radius(points, masses, np.zeros(2), 0.999) == 10.0


def test_report_numbers_from_synthetic_transforms():
    sim = SimulationSpec(frame_start=1, frame_end=5)
    positions = np.zeros((5, 3, 3))
    positions[:, 1] = [0, 0, 5.0]
    positions[:, 2] = [1.0, 0, 10.0]
    positions[3:, 2, 2] = [9.0, 7.0]  # shard 2 falls after the trigger at frame 4
    rotations = np.broadcast_to(np.eye(3), (5, 3, 3, 3)).copy()
    glue = physics.Glue(np.array([[1, 2]]), np.zeros(1, int), np.array([[0.5, 0, 7.5]]), np.ones(1),
                        np.ones(1), np.ones(1), np.ones(1))
    report = physics.report_from_transforms(
        positions, rotations, masses=np.array([100.0, 1.0, 1.0]), passive=np.array([True, False, False]),
        glue=glue, sim=sim, trigger_frame=4, trigger_speed=0.0, roof_height=10.0, ground_height=0.0,
        plan_centre=np.zeros(3))
    assert report["pre_trigger_drift_m"] == 0.0
    assert report["max_speed_m_s"] == pytest.approx(2.0 * 24)
    assert report["top_height_m"] == [10.0, 10.0, 10.0, 9.0, 7.0]
    assert report["top_drop_fraction_4s"] == pytest.approx(0.3)
    assert report["glue_broken_fraction"] == [0.0, 0.0, 0.0, 1.0, 1.0]


def test_top_height_follows_each_corner_as_the_shard_turns():
    # a 3 m column (corners +-1.5 m about its centroid at z = 1.5) tipping over onto its side
    corners = np.array([[0, 0, -1.5], [0, 0, 1.5], [-0.2, 0, 1.5]])
    owner = np.zeros(3, np.int64)
    positions = np.array([[[0, 0, 1.5]], [[0, 0, 0.2]]])
    lying = np.array([[0, 0, 1.0], [0, 1.0, 0], [-1.0, 0, 0]])  # 90 degrees about y
    rotations = np.stack([np.eye(3)[None], lying[None]])
    tops = physics.top_heights(positions, rotations, corners, owner, np.array([True]))
    np.testing.assert_allclose(tops, [3.0, 0.2 + 0.2])


def test_each_shard_carries_at_most_one_constraint():
    pairs = np.array([[0, 1], [0, 2], [1, 2], [2, 3], [3, 4]])
    excluded = np.array([False, False, False, False, True])
    own = np.array([False, False, False, True, False])
    hosts = physics.constraint_hosts(pairs, 5, excluded, own)
    assert hosts.tolist() == [0, 2, 1, -1, 3]
    carried = hosts[hosts >= 0]
    assert len(set(carried.tolist())) == len(carried)
    assert all(h in pair for h, pair in zip(hosts, pairs, strict=True) if h >= 0)
