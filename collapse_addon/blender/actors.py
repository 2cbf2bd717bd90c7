"""The actor solver's Blender side: build a shot without a rigid-body world, bake it with
``core.actor_solver`` and write the motion as keyframes (see ``docs/actors.md``).

A baked actor shot is a plain keyframed animation: the renderer, ``frame_set``, Alembic/USD export
and the farm read it as they read Bullet's cache. ``collapse_actor_baked`` on the scene marks it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

import bpy
import numpy as np

from ..core import physics
from ..core.actor_solver import ActorBake
from . import keyframes
from . import scene as scene_mod

BAKED_KEY = "collapse_actor_baked"
#: A shard whose centroid moves less than this (m), and turns less than this (quaternion
#: distance), over the shot gets no keys.
STILL = 1e-6


def is_actor_scene(scene) -> bool:
    try:
        return json.loads(scene.get("collapse_sim", "{}")).get("solver") == "actors"
    except (TypeError, ValueError):
        return False


def is_baked(scene) -> bool:
    return bool(scene.get(BAKED_KEY, False))


def unbake(scene, objects) -> None:
    """Back to the rest pose: drop the keys, mark the scene not baked."""
    scene.frame_set(scene.frame_start)  # the first frame is the rest pose
    keyframes.clear_motion(objects)
    for obj in objects:
        obj.rotation_quaternion = (1.0, 0.0, 0.0, 0.0)
    scene[BAKED_KEY] = False


def build_actor_scene(building, shards, sim, trigger, *, scene, materials=None, source_objects=()):
    """Shards, ground and ball in ``scene``: no rigid-body world, no glue (the bake writes keys)."""
    from .simulation import CollapseScene, _store_array, create_ground_plane

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    physics.validate_trigger_timing(sim, trigger)
    masses = physics.shard_masses(building, shards)
    passive = physics.anchor_mask(building, shards)
    resolved = physics.resolve_trigger(building, trigger)
    root = bpy.data.collections.new(scene_mod.ROOT_NAME)
    scene.collection.children.link(root)
    building_coll = scene_mod.new_collection(f"{root.name} building", root)
    props_coll = scene_mod.new_collection(f"{root.name} ground", root)
    shard_objects = scene_mod.create_shard_objects(building, shards, building_coll, materials)
    for obj in shard_objects:
        obj.rotation_mode = "QUATERNION"
    scene_mod.hide_originals(source_objects)
    ground = create_ground_plane(root.name, building, sim, props_coll)
    ball = None
    if resolved.type == "impact":
        ball = scene_mod.create_sphere_object(f"{root.name} ball", resolved.impact_radius,
                                              resolved.impact_start, props_coll)
    scene.render.fps = sim.fps
    scene.render.fps_base = 1.0
    scene.frame_start, scene.frame_end = sim.frame_start, sim.frame_end
    scene.gravity = (0.0, 0.0, -sim.gravity)
    _store_array(scene, "collapse_masses", masses)
    _store_array(scene, "collapse_passive", passive.astype(np.int32))
    _store_array(scene, "collapse_glue_pairs", np.zeros((0, 2), np.int32))
    _store_array(scene, "collapse_glue_pivots", np.zeros((0, 3)))
    timings["assembly_s"] = time.perf_counter() - t0
    handle = CollapseScene(
        scene_name=scene.name, root=root.name, bodies=building_coll.name,
        glue_collection=building_coll.name, shard_names=[o.name for o in shard_objects],
        glue_names=[], ground=ground.name, ball=ball.name if ball else None,
        anchors=int(passive.sum()), trigger_type=resolved.type,
        trigger_frame=None if resolved.type == "none" else resolved.frame,
        trigger_speed=_trigger_speed(resolved), kicked=0, unglued=0,
        frame_start=sim.frame_start, frame_end=sim.frame_end, fps=sim.fps, time_scale=sim.time_scale,
        gravity=sim.gravity, roof_height=float(building.hi[2]), ground_height=0.0,
        plan_centre=[float(v) for v in physics.building_plan_centre(building)], timings=timings)
    scene["collapse_sim"] = json.dumps(asdict(sim))
    scene["collapse_trigger"] = json.dumps(asdict(trigger))
    scene[BAKED_KEY] = False
    handle.save()
    return handle


def _trigger_speed(trigger) -> float:
    if trigger.type == "demolition":
        return float(trigger.kick_speed)
    if trigger.type == "explosion":
        return float(trigger.explosion_strength)
    if trigger.type == "impact":
        return float(trigger.impact_speed)
    return 0.0


def write_bake(handle, bake: ActorBake) -> int:
    """Key every shard that moves (and the ball); returns how many objects got keys."""
    objects = handle.shard_objects()
    keyframes.clear_motion(objects + ([bpy.data.objects[handle.ball]] if handle.ball else []))
    frames = bake.frames.astype(float)
    pos, quat = bake.positions, bake.quaternions
    moved = (np.abs(pos - pos[0]).max(axis=(0, 2)) > STILL) \
        | (np.abs(quat - quat[0]).max(axis=(0, 2)) > STILL)
    for s in np.nonzero(moved)[0]:
        keyframes.key_transforms(objects[int(s)], frames, pos[:, s], quat[:, s])
    count = int(moved.sum())
    if handle.ball and bake.ball is not None:
        ball = bpy.data.objects[handle.ball]
        still = np.tile([1.0, 0, 0, 0], (len(frames), 1))
        keyframes.key_transforms(ball, frames, bake.ball, still)
        count += 1
    return count


def bake_actor_scene(scene, building, shards, *, materials=None, progress=None):
    """Run the actor solver for a built actor scene and key the result; returns (bake, graph)."""
    from .simulation import CollapseScene, _store_array, stored_specs

    handle = CollapseScene.from_scene(scene)
    sim, trigger = stored_specs(scene)
    scene[BAKED_KEY] = False
    from ..core.actor_solver import ActorSolver

    t = time.perf_counter()
    solver = ActorSolver(building, shards, sim, trigger, materials=materials)
    bake = solver.run(progress)
    handle.timings["bake_s"] = time.perf_counter() - t
    t = time.perf_counter()
    handle.timings["keyed_objects"] = write_bake(handle, bake)
    handle.timings["keyframes_s"] = time.perf_counter() - t
    graph = solver.graph
    # the bonds stand in for the glue joints in the report's broken fraction
    _store_array(scene, "collapse_glue_pairs", graph.bond_pairs.astype(np.int32))
    _store_array(scene, "collapse_glue_pivots", graph.bond_centroid)
    scene[BAKED_KEY] = True
    handle.save()
    scene.frame_set(sim.frame_start)
    return bake, graph


def shown_positions(scene, positions: np.ndarray, frame: int) -> np.ndarray | None:
    """The shards' positions (S, 3) at ``frame`` as the keyed scene shows them, from the bake's
    ``positions`` (F, S, 3) with no frame change (two cost 0.6 s on the demo): a keyed shard at its
    key (float32; every baked frame is keyed), one with no keys where it stands. None when
    ``frame`` was not baked."""
    from .simulation import CollapseScene

    handle = CollapseScene.from_scene(scene)
    k = frame - handle.frame_start
    if not 0 <= k < len(positions):
        return None
    out = np.asarray(positions[k], np.float32).astype(np.float64)
    for s, ob in enumerate(handle.shard_objects()):
        if ob.animation_data is None or ob.animation_data.action is None:
            out[s] = ob.matrix_world.translation
    return out
