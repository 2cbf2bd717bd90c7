"""Bake the rigid-body point cache and read the baked transforms back as numpy arrays."""

from __future__ import annotations

import time
from collections.abc import Callable

import bpy
import numpy as np


def free_bake(scene) -> None:
    """Drop the baked cache so the next bake starts from the first frame."""
    cache = scene.rigidbody_world.point_cache
    with bpy.context.temp_override(scene=scene, point_cache=cache):
        bpy.ops.ptcache.free_bake()


def bake_point_cache(scene, progress: Callable[[int, int], None] | None = None) -> float:
    """Bake the scene's rigid-body world; returns wall-clock seconds.

    ``progress(frame, frame_end)`` is called after every simulated frame (from a frame-change
    handler, which Blender runs while it bakes).
    """
    world = scene.rigidbody_world
    cache = world.point_cache
    if cache.is_baked:
        free_bake(scene)
    handler = None
    if progress is not None:
        def handler(sc, *_args):
            if sc == scene:
                progress(sc.frame_current, cache.frame_end)
        bpy.app.handlers.frame_change_post.append(handler)
    start = time.perf_counter()
    try:
        with bpy.context.temp_override(scene=scene, point_cache=cache):
            bpy.ops.ptcache.bake(bake=True)
    finally:
        if handler is not None:
            bpy.app.handlers.frame_change_post.remove(handler)
    return time.perf_counter() - start


def read_transforms(scene, objects, frames) -> tuple[np.ndarray, np.ndarray]:
    """World matrices of ``objects`` at ``frames``: positions (F, S, 3) and rotations (F, S, 3, 3)."""
    frames = list(frames)
    n = len(objects)
    positions = np.empty((len(frames), n, 3))
    rotations = np.empty((len(frames), n, 3, 3))
    previous = scene.frame_current
    buf = np.empty((n, 4, 4))
    for k, f in enumerate(frames):
        scene.frame_set(int(f))
        for s, obj in enumerate(objects):
            buf[s] = obj.matrix_world
        positions[k] = buf[:, :3, 3]
        rotations[k] = buf[:, :3, :3]
    scene.frame_set(previous)
    return positions, rotations


def free_shot_bake(scene) -> None:
    """Drop a shot's bake, baked or not: the actor solver's keys, or Bullet's cache (tagged
    outdated); the scene is back to its unsimulated state."""
    from . import actors, simulation  # simulation imports this module

    if actors.is_actor_scene(scene):
        handle = simulation.CollapseScene.from_scene(scene)
        objects = handle.shard_objects() + ([bpy.data.objects[handle.ball]] if handle.ball else [])
        actors.unbake(scene, objects)
        return
    world = scene.rigidbody_world
    if world is None:
        return
    free_bake(scene)
    world.point_cache.frame_start = world.point_cache.frame_start  # tags the cache as outdated


def mark_cache_baked(scene) -> None:
    """Mark the rigid-body cache that stepping the frames filled as baked (Bullet steps the same
    whether its bake operator walks the frames or the caller does)."""
    cache = scene.rigidbody_world.point_cache
    with bpy.context.temp_override(scene=scene, point_cache=cache):
        bpy.ops.ptcache.bake_from_cache()
