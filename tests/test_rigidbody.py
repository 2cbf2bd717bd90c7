"""Rigid-body module in real Blender: assembly, real Bullet bakes, the physics bars, exports.

Small buildings and short bakes keep this file within a few minutes on 2 cores; the full-size
checks (default and 10-storey buildings standing, 5,000-shard assembly, naive vs optimised bake)
are in ``bench/bench_bake.py``. The fall test uses the default building: a smaller frame
(2 x 1 bays) lands on its first-floor columns and stays up, so it would not test the claim.
"""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core import physics
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.errors import CollapseError
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.physics import SimulationSpec, TriggerSpec
from collapse_addon.core.seeds import FractureSpec


@pytest.fixture(scope="module")
def small():
    building = generate_building(BuildingSpec(bays_x=2, bays_y=1, storeys=4))
    return building, fracture_building(building, FractureSpec(cell_count=120, seed=1))


@pytest.fixture(scope="module")
def tiny():
    building = generate_building(BuildingSpec(bays_x=1, bays_y=1, storeys=2))
    return building, fracture_building(building, FractureSpec(cell_count=30, seed=2))


def _sim():
    from collapse_addon.blender import simulation

    return simulation


def _bake_report(building, shards, sim, trigger):
    simulation = _sim()
    handle = simulation.build_collapse_scene(building, shards, sim, trigger)
    simulation.bake_collapse(handle)
    return handle, simulation.collapse_report(handle)


def test_assembly_builds_shards_bodies_and_glue(clean_scene, bpy_module, tiny):
    bpy = bpy_module
    building, shards = tiny
    original = bpy.data.objects.new("artist mesh", bpy.data.meshes.new("artist mesh"))
    clean_scene.collection.objects.link(original)
    sim = SimulationSpec(solver="glue", frame_end=20)
    handle = _sim().build_collapse_scene(building, shards, sim, TriggerSpec(frame=10),
                                         source_objects=[original])
    objects = handle.shard_objects()
    assert len(objects) == shards.count == handle.shard_count
    # collections: building / kind / storey
    root = bpy.data.collections[handle.root]
    kinds = {c.name for c in bpy.data.collections[f"{handle.root} building"].children}
    assert kinds == {f"{handle.root} building {k}" for k in ("foundation", "column", "beam", "slab", "wall")}
    assert bpy.data.collections[f"{handle.root} building column storey 1"].objects
    assert root.name in clean_scene.collection.children
    # meshes: origin at the centroid, exterior/interior slots, flat
    masses = physics.shard_masses(building, shards)
    passive = physics.anchor_mask(building, shards)
    for s, obj in enumerate(objects):
        np.testing.assert_allclose(obj.location, shards.centroid[s], atol=1e-5)
        verts, _sizes, _loops, interior = shards.shard_mesh(s)
        co = np.empty(len(verts) * 3, np.float32)
        obj.data.vertices.foreach_get("co", co)
        np.testing.assert_allclose(co.reshape(-1, 3) + shards.centroid[s], verts, atol=1e-4)
        index = np.empty(len(interior), np.int32)
        obj.data.polygons.foreach_get("material_index", index)
        np.testing.assert_array_equal(index, interior.astype(int))
        assert len(obj.data.materials) == 2 and "interior" in obj.data.materials[1].name
        assert not any(p.use_smooth for p in obj.data.polygons)
        rb = obj.rigid_body
        assert rb.type == ("PASSIVE" if passive[s] else "ACTIVE")
        assert rb.collision_shape == "CONVEX_HULL"
        assert rb.mass == pytest.approx(masses[s], rel=1e-5)
    # glue: one breakable FIXED constraint per glued pair, with the core's thresholds
    glue = physics.plan_glue(building, shards, sim)
    plan = physics.plan_trigger(building, shards, sim, TriggerSpec(frame=10), glue)
    empties = [bpy.data.objects[name] for name in handle.glue_names]
    assert handle.constraint_count == glue.count > 0
    for g in range(glue.count):
        c = empties[g].rigid_body_constraint
        # glue on the cut supports holds until the charges fire; the rest can break any time
        assert c.type == "FIXED" and c.use_breaking == (g not in plan.unglue)
        assert c.breaking_threshold == pytest.approx(glue.threshold[g], rel=1e-5)
        assert {c.object1.name, c.object2.name} == {objects[i].name for i in glue.pairs[g]}
    # the artist's mesh is kept, hidden
    assert original.name in bpy.data.objects and original.hide_render and original.hide_viewport
    # the handle lives in the .blend; a second build into the same scene is refused
    assert _sim().CollapseScene.from_scene(clean_scene).shard_names == handle.shard_names
    with pytest.raises(CollapseError, match="already holds a collapse"):
        _sim().build_collapse_scene(building, shards, sim, TriggerSpec(frame=10))


def test_building_stands_still_awake_for_two_seconds(clean_scene, small):
    building, shards = small
    # every shard awake from the start: the glue itself has to hold the building
    sim = SimulationSpec(solver="glue", frame_end=49, start_asleep=False, use_deactivation=False)
    _handle, report = _bake_report(building, shards, sim, TriggerSpec(type="none"))
    assert report["drift_first_2s_m"] <= 0.01
    assert report["glue_broken_fraction"][-1] == 0.0


@pytest.mark.slow
def test_default_building_falls_after_ground_storey_demolition(clean_scene):
    # the default shot: default building and fracture, demolition at frame 24, frames 1-120
    # (4 s after the trigger). The drop is sensitive to small changes (52-73 % seen while tuning).
    building = generate_building()
    shards = fracture_building(building)
    trigger = TriggerSpec()
    sim = SimulationSpec(solver="glue")
    assert sim.frame_end - trigger.frame == 96
    handle, report = _bake_report(building, shards, sim, trigger)
    assert report["pre_trigger_drift_m"] <= 0.01
    assert report["top_drop_fraction_4s"] >= 0.6
    assert report["max_speed_m_s"] <= report["speed_limit_m_s"]
    assert report["glue_broken_fraction"][-1] > 0.5
    assert handle.kicked > 0 and handle.unglued > 0


@pytest.mark.parametrize("kind, kwargs", [
    ("explosion", {}),
    ("impact", {"impact_speed": 20.0}),
])
def test_local_triggers_break_only_part(clean_scene, small, kind, kwargs):
    building, shards = small
    sim = SimulationSpec(solver="glue", frame_end=48)
    _handle, report = _bake_report(building, shards, sim, TriggerSpec(type=kind, frame=6, **kwargs))
    broken = report["glue_broken_fraction"][-1]
    assert 0.01 < broken < 0.6
    assert report["pre_trigger_drift_m"] <= 0.01
    assert report["max_speed_m_s"] <= report["speed_limit_m_s"]


def test_earthquake_moves_the_ground_and_shakes_the_building(clean_scene, bpy_module, tiny):
    building, shards = tiny
    sim = SimulationSpec(solver="glue", frame_end=40)
    trigger = TriggerSpec(type="earthquake", frame=4, quake_amplitude=0.2, quake_duration=1.5)
    handle, report = _bake_report(building, shards, sim, trigger)
    motion = physics.earthquake_motion(trigger, sim)
    ground = bpy_module.data.objects[handle.ground]
    rest = np.array(ground.location)
    positions = []
    for frame in (4, 20):
        clean_scene.frame_set(frame)
        positions.append(np.array(ground.matrix_world.translation))
    np.testing.assert_allclose(positions[1] - positions[0], motion[19] - motion[3], atol=1e-4)
    del rest
    moved = max(report["max_speed_per_frame_m_s"][4:])
    assert moved > 0.05
    assert report["pre_trigger_drift_m"] <= 0.01
    assert report["max_speed_m_s"] <= report["speed_limit_m_s"]


def test_same_scene_bakes_to_the_same_transforms(clean_scene, small):
    simulation = _sim()
    building, shards = small
    handle = simulation.build_collapse_scene(building, shards, SimulationSpec(solver="glue", frame_end=40),
                                             TriggerSpec(frame=4))
    simulation.bake_collapse(handle)
    first = simulation.baked_transforms(handle)
    simulation.bake_collapse(handle)
    second = simulation.baked_transforms(handle)
    assert np.abs(first[0][-1] - first[0][0]).max() > 0.5  # it did collapse
    np.testing.assert_allclose(second[0], first[0], atol=1e-6, rtol=0)
    np.testing.assert_allclose(second[1], first[1], atol=1e-6, rtol=0)


def test_progress_reports_every_frame(clean_scene, tiny):
    simulation = _sim()
    building, shards = tiny
    handle = simulation.build_collapse_scene(building, shards, SimulationSpec(solver="glue", frame_end=12),
                                             TriggerSpec(type="none"))
    seen = []
    result = simulation.bake_collapse(handle, progress=lambda frame, end: seen.append((frame, end)))
    assert [f for f, _ in seen if f > 1] == list(range(2, 13)) and seen[-1][1] == 12
    assert result.frames == 12 and result.seconds > 0


def test_saved_blend_reloads_and_exports_load_back(clean_scene, bpy_module, tiny, tmp_path):
    bpy = bpy_module
    simulation = _sim()
    building, shards = tiny
    handle = simulation.build_collapse_scene(building, shards, SimulationSpec(solver="glue", frame_end=16),
                                             TriggerSpec(type="impact", frame=4))
    blend = tmp_path / "collapse.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    # another session: open, bake, report, export
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    reloaded = simulation.CollapseScene.from_scene(bpy.context.scene)
    assert reloaded.shard_names == handle.shard_names and reloaded.trigger_type == "impact"
    simulation.bake_collapse(reloaded)
    report = simulation.collapse_report(reloaded)
    assert len(report["top_height_m"]) == 16 and report["max_speed_m_s"] > 0
    abc = simulation.export_alembic(tmp_path / "collapse.abc", reloaded)
    usd = simulation.export_usd(tmp_path / "collapse.usdc", reloaded)
    assert abc.stat().st_size > 0 and usd.stat().st_size > 0
    assert not list(tmp_path.glob(".*"))  # no temporaries left
    expected = handle.shard_count + 1  # shards and the ball
    for path, importer in ((abc, bpy.ops.wm.alembic_import), (usd, bpy.ops.wm.usd_import)):
        bpy.ops.wm.read_factory_settings(use_empty=True)
        importer(filepath=str(path), set_frame_range=True)
        scene = bpy.context.scene
        meshes = [o for o in scene.objects if o.type == "MESH"]
        assert len(meshes) == expected, path.suffix
        assert (scene.frame_start, scene.frame_end) == (1, 16), path.suffix
        ball = next(o for o in meshes if "ball" in o.name)
        scene.frame_set(1)
        start = np.array(ball.matrix_world.translation)
        scene.frame_set(16)
        assert np.linalg.norm(np.array(ball.matrix_world.translation) - start) > 1.0, path.suffix


@pytest.mark.parametrize("on_shards", [True, False])
def test_glue_on_shards_or_on_empties_holds(clean_scene, bpy_module, tiny, on_shards):
    building, shards = tiny
    sim = SimulationSpec(solver="glue", frame_end=24, glue_on_shards=on_shards, start_asleep=False,
                         use_deactivation=False)
    handle, report = _bake_report(building, shards, sim, TriggerSpec(type="none"))
    holders = [bpy_module.data.objects[name] for name in handle.glue_names]
    on_shards = [h for h in holders if h.type == "MESH"]
    assert bool(on_shards) == sim.glue_on_shards
    assert len({h.name for h in on_shards}) == len(on_shards)
    assert all(h.rigid_body_constraint.object1 == h or h.rigid_body_constraint.object2 == h
               for h in on_shards)
    assert report["drift_first_2s_m"] <= 0.01 and report["glue_broken_fraction"][-1] == 0.0


def test_non_convex_shards_get_mesh_shapes(clean_scene, tiny):
    from dataclasses import replace

    building, shards = tiny
    convex = np.ones(shards.count, bool)
    convex[[3, 5]] = False
    handle = _sim().build_collapse_scene(building, replace(shards, convex=convex),
                                         SimulationSpec(solver="glue", frame_end=10), TriggerSpec(type="none"))
    shapes = [obj.rigid_body.collision_shape for obj in handle.shard_objects()]
    assert [s for s, shape in enumerate(shapes) if shape == "MESH"] == [3, 5]
