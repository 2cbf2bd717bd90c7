"""The panel's bake, one frame per step so the UI shows progress and Esc can cancel.

Bullet steps the same way whether Blender's bake operator walks the frames or we do: the rigid-body
cache fills frame by frame as the scene advances, and ``ptcache.bake_from_cache`` then marks it as
baked. A test checks that this gives the same transforms as ``api.bake_shot``.
"""

from __future__ import annotations

import json

import numpy as np

from .. import api

# Baked frames read back per step for the report (a step stays well under a second).
READ_FRAMES_PER_STEP = 8


def free_bake(scene) -> None:
    """Drop the bake (baked or not): the scene is back to its unsimulated state."""
    api.free_bake(scene)


def bake_job(shot, scene, fractured=None):
    """Step the simulation frame by frame (one step per frame), mark the cache baked, then do
    what ``api.bake_shot`` does after its bake (``api.finish_bake``: the collapse report, break
    events, rubble, dust and the camera framed on the debris). The actor solver bakes in one step
    (``api.bake_shot``; ``fractured``: the shards of the artist's objects the scene was built
    from)."""
    if api.is_actor_scene(scene):
        yield 0.0, "Baking with the actor solver"
        report = api.bake_shot(shot, scene=scene, fractured=fractured)
        scene["collapse_ui_report"] = json.dumps(report, default=float)
        scene.frame_set(scene.frame_start)
        yield 1.0, f"Baked frames {scene.frame_start}-{scene.frame_end}" + _summary(report)
        return
    start, end = api.start_stepped_bake(scene)
    total = end - start + 1
    yield 0.0, f"Baking frames {start}-{end}: setting up Bullet"
    for i, frame in enumerate(range(start, end + 1)):
        scene.frame_set(frame)
        yield 0.95 * (i + 1) / total, f"Baking frame {frame} ({i + 1}/{total})"
    api.end_stepped_bake(scene)
    # Read the baked motion back in slices (the report needs every frame), then report.
    positions, rotations = [], []
    frames = list(range(start, end + 1))
    for i in range(0, total, READ_FRAMES_PER_STEP):
        chunk = frames[i:i + READ_FRAMES_PER_STEP]
        p, r = api.baked_transforms(scene, frames=chunk)
        positions.append(p)
        rotations.append(r)
        yield 0.95 + 0.04 * (i + len(chunk)) / total, f"Reading the baked motion ({chunk[-1]}/{end})"
    report = api.finish_bake(shot, scene, np.concatenate(positions), np.concatenate(rotations))
    scene["collapse_ui_report"] = json.dumps(report, default=float)
    scene.frame_set(start)
    yield 1.0, f"Baked frames {start}-{end}" + _summary(report)


def _summary(report: dict) -> str:
    broken = report.get("glue_broken_fraction")
    if isinstance(broken, list | tuple) and broken:
        broken = broken[-1]
    return f", {float(broken):.0%} of the glue broken" if isinstance(broken, int | float) else ""
