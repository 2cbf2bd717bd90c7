"""The panel's bake, one frame per step so the UI shows progress and Esc can cancel.

Bullet steps the same way whether Blender's bake operator walks the frames or we do: the rigid-body
cache fills frame by frame as the scene advances, and ``ptcache.bake_from_cache`` then marks it as
baked. A test checks that this gives the same transforms as ``api.bake_shot``.
"""

from __future__ import annotations

import json

import bpy
import numpy as np

from .. import api
from ..blender import rough, simulation

# Baked frames read back per step for the report (a step stays well under a second).
READ_FRAMES_PER_STEP = 8


def _point_cache_override(scene):
    return bpy.context.temp_override(scene=scene, point_cache=scene.rigidbody_world.point_cache)


def free_bake(scene) -> None:
    """Drop the rigid-body cache (baked or not): the scene is back to its unsimulated state."""
    from ..blender import actors

    if actors.is_actor_scene(scene):
        handle = simulation.CollapseScene.from_scene(scene)
        objects = handle.shard_objects() + ([bpy.data.objects[handle.ball]] if handle.ball else [])
        actors.unbake(scene, objects)
        return
    world = scene.rigidbody_world
    if world is None:
        return
    with _point_cache_override(scene):
        bpy.ops.ptcache.free_bake()
    world.point_cache.frame_start = world.point_cache.frame_start  # tags the cache as outdated


def bake_job(shot, scene):
    """Step the simulation frame by frame (one step per frame), mark the cache baked, then do
    what ``api.bake_shot`` does after its bake: the collapse report and the camera framed on the
    debris. The actor solver bakes in one step (``api.bake_shot``)."""
    from ..blender import actors

    if actors.is_actor_scene(scene):
        yield 0.0, "Baking with the actor solver"
        report = api.bake_shot(shot, scene=scene)
        scene["collapse_ui_report"] = json.dumps(report, default=float)
        scene.frame_set(scene.frame_start)
        yield 1.0, f"Baked frames {scene.frame_start}-{scene.frame_end}" + _summary(report)
        return
    cache = scene.rigidbody_world.point_cache
    start, end = cache.frame_start, cache.frame_end
    free_bake(scene)
    rough.detach(scene)  # bake the exact cells alone (api.apply_shot_fx brings the twins back)
    total = end - start + 1
    yield 0.0, f"Baking frames {start}-{end}: setting up Bullet"
    for i, frame in enumerate(range(start, end + 1)):
        scene.frame_set(frame)
        yield 0.95 * (i + 1) / total, f"Baking frame {frame} ({i + 1}/{total})"
    with _point_cache_override(scene):
        bpy.ops.ptcache.bake_from_cache()
    # Read the baked motion back in slices (the report needs every frame), then report.
    positions, rotations = [], []
    frames = list(range(start, end + 1))
    for i in range(0, total, READ_FRAMES_PER_STEP):
        chunk = frames[i:i + READ_FRAMES_PER_STEP]
        p, r = simulation.baked_transforms(scene, frames=chunk)
        positions.append(p)
        rotations.append(r)
        yield 0.95 + 0.04 * (i + len(chunk)) / total, f"Reading the baked motion ({chunk[-1]}/{end})"
    report = finish_bake(shot, scene, np.concatenate(positions), np.concatenate(rotations))
    scene.frame_set(start)
    yield 1.0, f"Baked frames {start}-{end}" + _summary(report)


def finish_bake(shot, scene, positions=None, rotations=None) -> dict:
    """The collapse report and the debris framing of a baked scene: ``api.bake_shot`` minus the
    bake itself, which the job did frame by frame."""
    finish = getattr(api, "finish_bake", None)
    if finish is not None:
        report = finish(shot, scene=scene)
    else:
        # The same steps, in the same order, as api.bake_shot after its bake (the API has no
        # separate entry point for them yet; tests compare the camera and the frames).
        report = dict(simulation.collapse_report(scene, positions, rotations))
        api.apply_shot_fx(shot, scene, report, positions, rotations)  # events, rubble, dust
        if shot.camera.mode == "auto":
            api.setup_shot_look(shot, scene, points=api.shot_points(shot, scene))
    scene["collapse_ui_report"] = json.dumps(report, default=float)
    return report


def _summary(report: dict) -> str:
    broken = report.get("glue_broken_fraction")
    if isinstance(broken, list | tuple) and broken:
        broken = broken[-1]
    return f", {float(broken):.0%} of the glue broken" if isinstance(broken, int | float) else ""
