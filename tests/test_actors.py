"""The rigid-actor solver: holds awake, still before the trigger, progressive collapse, sane
speeds, determinism across processes, and Blender keyframes equal to the solver's transforms."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from collapse_addon.core.actor_solver import bake_actors
from collapse_addon.core.building import FACADES, BuildingSpec, generate_building
from collapse_addon.core.fracture import FractureSpec, fracture_building
from collapse_addon.core.physics import SimulationSpec, TriggerSpec


def _shot(storeys=2, bays=1, cells=120, walls=True, span=5.0, seed=1):
    building = generate_building(BuildingSpec(storeys=storeys, bays_x=bays, bays_y=bays,
                                              bay_width=span, bay_depth=span,
                                              facades=FACADES if walls else ()))
    return building, fracture_building(building, FractureSpec(cell_count=cells, seed=seed))


@pytest.mark.parametrize("storeys,walls,span", [(1, True, 8.0), (4, False, 5.0)])
def test_building_holds_awake_without_trigger(storeys, walls, span):
    building, shards = _shot(storeys, 2, 150, walls, span)
    bake = bake_actors(building, shards, SimulationSpec(frame_end=121), TriggerSpec(type="none"))
    top = bake.positions[:, :, 2].argmax(axis=1)[0]
    assert np.linalg.norm(bake.positions[:, top] - bake.positions[0, top], axis=1).max() <= 0.01
    assert bake.events.count == 0


@pytest.mark.parametrize("kind", ["demolition", "impact", "explosion", "earthquake"])
def test_nothing_moves_before_the_trigger(kind):
    building, shards = _shot()
    bake = bake_actors(building, shards, SimulationSpec(frame_end=36),
                       TriggerSpec(type=kind, frame=12, demolition_sweep=0.0))
    before = bake.frames < 12
    moved = np.linalg.norm(bake.positions[before] - bake.positions[0], axis=2).max()
    assert moved <= 1e-3
    assert (bake.events.frame >= 12).all()
    # and the trigger does something
    assert np.linalg.norm(bake.positions[-1] - bake.positions[0], axis=1).max() > 1e-3 or bake.events.count


def test_cutting_the_ground_storey_brings_the_tower_down_progressively():
    building, shards = _shot(storeys=4, bays=1, cells=160, walls=False, span=5.0)
    height = float(building.hi[2] - 0.0)
    fall = np.sqrt(2 * height / 9.81)
    frames = int(np.ceil((2 * fall + 1.0) * 24)) + 13
    sim = SimulationSpec(frame_end=frames)
    bake = bake_actors(building, shards, sim, TriggerSpec(type="demolition", frame=12,
                                                          demolition_sweep=0.0))
    top = bake.positions[0, :, 2] > bake.positions[0, :, 2].max() - 0.5
    roof = bake.positions[:, top, 2].mean(1)
    assert roof[-1] < 0.4 * roof[0]
    # the block above the cut falls as one or a few actors, not a column of loose shards
    falling = bake.actors[bake.frames <= 12 + int(0.5 * fall * 24)]
    assert falling.max() <= 0.5 * shards.count
    speed = np.linalg.norm(np.diff(bake.positions, axis=0), axis=2).max() * 24
    assert speed <= 1.5 * np.sqrt(2 * 9.81 * height) + 2.0
    causes = set(bake.events.cause.tolist())
    assert "trigger" in causes and causes & {"impact", "overload"}


SCRIPT = """
import hashlib, numpy as np
from tests.test_actors import _shot
from collapse_addon.core.actor_solver import bake_actors
from collapse_addon.core.physics import SimulationSpec, TriggerSpec
b, s = _shot()
r = bake_actors(b, s, SimulationSpec(frame_end=30), TriggerSpec(type="demolition", frame=6))
print(hashlib.sha256(r.positions.tobytes() + r.quaternions.tobytes()).hexdigest())
"""


def test_same_scene_same_transforms_across_processes():
    runs = [subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                           check=True, env={"OMP_NUM_THREADS": str(k), "PATH": ""}).stdout.strip()
            for k in (1, 2)]
    assert runs[0] == runs[1] and len(runs[0]) == 64
    assert hashlib.sha256  # the hashes are of the full transforms


def _small_demolition(tmp_path, *, seed, storeys, cells, frames, trigger):
    """The settings of a one-bay demolition written as a scene file and read back, in an empty
    Blender scene."""
    import bpy

    from collapse_addon.core.settings import load_scene

    scene_file = tmp_path / "s.toml"
    scene_file.write_text(f'seed = {seed}\n[building]\nstoreys = {storeys}\nbays_x = 1\nbays_y = 1\n'
                          f'[fracture]\ncell_count = {cells}\n[simulation]\nframe_end = {frames}\n'
                          f'[trigger]\ntype = "demolition"\nframe = {trigger}\n')
    settings = load_scene(scene_file)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return settings


def test_blender_keyframes_equal_the_solver(tmp_path):
    import bpy

    from collapse_addon import api
    from collapse_addon.blender import simulation

    settings = _small_demolition(tmp_path, seed=2, storeys=2, cells=80, frames=24, trigger=6)
    scene = bpy.context.scene
    api.build_shot(settings, scene=scene)
    assert not api.is_baked(scene) and scene.rigidbody_world is None
    events = tmp_path / "break_events.json"
    report = api.bake_shot(settings, scene=scene, events_path=events)
    assert api.is_baked(scene) and events.exists()
    from collapse_addon.core import break_events
    from collapse_addon.core.actor_solver import bake_actors

    building, shards = api.make_shards(settings, api.make_building(settings))
    bake = bake_actors(building, shards, settings.simulation, settings.trigger)
    positions, rotations = simulation.baked_transforms(scene)
    assert np.abs(positions - bake.positions).max() < 1e-4
    from collapse_addon.core.rigid import quat_matrix

    assert np.abs(rotations - quat_matrix(bake.quaternions)).max() < 1e-4
    assert break_events.read_json(events).count == bake.events.count == report["actors"]["bonds_broken"]
    from collapse_addon.blender.keyframes import ensure_fcurve

    handle = simulation.CollapseScene.from_scene(scene)
    moved = np.nonzero(np.abs(bake.positions[-1] - bake.positions[0]).max(1) > 1e-6)[0]
    obj = handle.shard_objects()[int(moved[0])]
    curve = ensure_fcurve(obj.animation_data.action, obj, "location", 2)
    assert len(curve.keyframe_points) == len(bake.positions)
    assert {p.interpolation for p in curve.keyframe_points} == {"LINEAR"}
    still = np.nonzero(np.abs(bake.positions - bake.positions[0]).max((0, 2)) == 0)[0]
    if len(still):  # shards that never move get no keys
        assert handle.shard_objects()[int(still[0])].animation_data is None
    # the auto camera's debris positions, taken from the bake without a frame change, are what
    # the scene shows at the last frame, bit for bit
    from collapse_addon.blender import actors

    shown = actors.shown_positions(scene, bake.positions, settings.frame_range()[1])
    assert np.array_equal(shown, positions[-1])
    assert actors.shown_positions(scene, bake.positions, settings.frame_range()[1] + 1) is None


def _same_arrays(a, b) -> bool:
    """Two (nested) dataclasses of arrays hold the same values."""
    import dataclasses

    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if dataclasses.is_dataclass(x):
            if not _same_arrays(x, y):
                return False
        elif isinstance(x, np.ndarray):
            if not np.array_equal(x, y):
                return False
        elif isinstance(x, list | tuple) and x and dataclasses.is_dataclass(x[0]):
            if len(x) != len(y) or not all(_same_arrays(p, q) for p, q in zip(x, y, strict=True)):
                return False
        elif x != y:
            return False
    return True


def test_the_bake_reuses_the_builds_fracture_untouched(tmp_path):
    import dataclasses

    import bpy

    from collapse_addon import api

    settings = _small_demolition(tmp_path, seed=4, storeys=1, cells=40, frames=12, trigger=4)
    api.build_shot(settings, scene=bpy.context.scene)
    built = api.shot_fracture(settings)
    api.bake_shot(settings, scene=bpy.context.scene)
    assert api.shot_fracture(settings) is built  # kept by content: the bake did not fracture again
    building, shards = api.make_shards(settings, api.make_building(settings))
    assert _same_arrays(built[1], shards) and _same_arrays(built[0], building)  # nor changed it
    other = api.shot_fracture(dataclasses.replace(settings, seed=5))  # other settings, other key
    assert other is not built and not _same_arrays(other[1], shards)


def test_addon_bake_runs_the_actor_solver_like_the_api(clean_scene, tmp_path):
    import bpy

    import collapse_addon
    from collapse_addon import api
    from collapse_addon.blender import simulation
    from collapse_addon.core.settings import load_scene
    from collapse_addon.ui.operators import is_baked
    from collapse_addon.ui.properties import load_shot_into_scene

    text = ('seed = 2\n[building]\nstoreys = 1\nbays_x = 1\nbays_y = 1\n[fracture]\ncell_count = 40\n'
            '[simulation]\nframe_end = 14\n[trigger]\ntype = "demolition"\nframe = 5\n'
            '[output]\nalembic = false\n')
    collapse_addon.register()
    try:
        scene = clean_scene
        load_shot_into_scene(scene, load_scene(text))
        scene.collapse_shot.output.directory = str(tmp_path / "out")
        assert bpy.ops.collapse.fracture() == {"FINISHED"}
        assert bpy.ops.collapse.bake() == {"FINISHED"}
        assert is_baked(scene) and scene.rigidbody_world is None
        ui, _ = simulation.baked_transforms(scene)
        bpy.ops.wm.read_factory_settings(use_empty=True)
        other = bpy.context.scene
        shot = load_scene(text)
        api.build_shot(shot, scene=other)
        api.bake_shot(shot, scene=other)
        ref, _ = simulation.baked_transforms(other)
        assert np.array_equal(ui, ref) and np.abs(ui - ui[0]).max() > 0.01
    finally:
        collapse_addon.unregister()


def test_wrecking_ball_on_a_cable_breaks_what_it_hits_and_not_the_far_end():
    building, shards = _shot(storeys=2, bays=3, cells=200, walls=True, span=5.0)
    trigger = TriggerSpec(type="impact", frame=6, impact_cable=10.0, impact_speed=12.0,
                          impact_mass=20000.0, impact_target=(2.5, 0.0, 2.0),
                          impact_start=(2.5, -8.0, 2.0))
    bake = bake_actors(building, shards, SimulationSpec(frame_end=64), trigger)
    assert np.abs(bake.ball[:6] - bake.ball[0]).max() < 1e-9  # held until the trigger frame
    hit = bake.events.cause == "impact"
    assert hit.sum() > 0
    assert np.linalg.norm(bake.events.position[hit] - [2.5, 0.0, 2.0], axis=1).min() < 2.0
    far = shards.centroid[:, 0] > 2.5 + 2 * 5.0
    moved = np.linalg.norm(bake.positions[-1, far] - bake.positions[0, far], axis=1)
    assert np.percentile(moved, 99) <= 0.02


def test_mesh_building_demolished_by_a_storey_band_falls():
    from collapse_addon.core import mesh_fracture
    from collapse_addon.core.building import Building, Element, element_box_contacts

    lo, hi = np.array([0.0, 0.0, 0.0]), np.array([6.0, 6.0, 12.0])
    corners = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1]) for x in (lo[0], hi[0])])
    faces = [np.array(f) for f in ([0, 2, 3, 1], [4, 5, 7, 6], [0, 1, 5, 4], [2, 6, 7, 3],
                                    [0, 4, 6, 2], [1, 3, 7, 5])]
    shards = mesh_fracture.fracture_mesh(corners, faces, FractureSpec(cell_count=80, seed=3), name="box")
    building = Building(None, [Element(0, "mesh", 0, "concrete", lo, hi, "box")],
                        element_box_contacts(lo[None], hi[None]))
    bake = bake_actors(building, shards, SimulationSpec(frame_end=60),
                       TriggerSpec(type="demolition", frame=10, demolition_sweep=0.0))
    before = bake.frames < 10
    assert np.linalg.norm(bake.positions[before] - bake.positions[0], axis=2).max() <= 1e-3
    top = bake.positions[0, :, 2] > 10.0
    assert bake.positions[-1, top, 2].mean() < bake.positions[0, top, 2].mean() - 2.0
    assert (bake.events.cause == "trigger").any()
