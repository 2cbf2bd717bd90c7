"""Break events of a baked glue scene: read the stored bonds, derive the events, show them as points.

The maths is in ``core.glue_breaks``; this module only reads what the build stored in the scene's
custom properties (bond pairs, pivots, normals; shard masses and materials) and writes the events
as a point object whose points appear at their break frames (a Geometry Nodes filter), so the
Alembic and USD exports carry them as animated points with their attributes.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.break_events import BreakEvents
from ..core.glue_breaks import glue_break_events
from . import gn

EVENTS_OBJECT = "Collapse break events"


def _shard_materials(scene, handle) -> list[str]:
    if "collapse_shard_materials" in scene:
        return [str(v) for v in scene["collapse_shard_materials"]]
    out = []  # scenes built before the list was stored: the exterior material's name
    for ob in handle.shard_objects():
        name = ob.data.materials[0].name if ob.data.materials else "Collapse concrete exterior"
        out.append(name.removeprefix("Collapse ").rsplit(" ", 1)[0])
    return out


def scene_break_events(scene, positions: np.ndarray, rotations: np.ndarray) -> BreakEvents:
    """The glue bake's break events from the baked transforms (F, S, 3) / (F, S, 3, 3)."""
    from .simulation import CollapseScene

    handle = CollapseScene.from_scene(scene)
    pairs = np.array(scene["collapse_glue_pairs"], np.int64).reshape(-1, 2)
    pivots = np.array(scene["collapse_glue_pivots"], float).reshape(-1, 3)
    if "collapse_glue_normals" in scene:
        normals = np.array(scene["collapse_glue_normals"], float).reshape(-1, 3)
    else:  # older scenes: centroid to centroid at rest
        d = positions[0][pairs[:, 1]] - positions[0][pairs[:, 0]]
        normals = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    return glue_break_events(
        positions, rotations, pairs=pairs, pivots=pivots, normals=normals,
        masses=np.array(scene["collapse_masses"], float),
        passive=np.array(scene["collapse_passive"], np.int32).astype(bool),
        materials=_shard_materials(scene, handle), frame_start=handle.frame_start, fps=handle.fps)


def add_event_points(scene, events: BreakEvents, collection=None) -> bpy.types.Object:
    """A point mesh with one vertex per event (attributes ``frame``, ``time`` (seconds from the
    simulation's start), ``impulse``, ``event_normal``), each point shown from its break frame on.
    Replaces an older one."""
    old = bpy.data.objects.get(EVENTS_OBJECT)
    if old is not None:
        mesh = old.data
        bpy.data.objects.remove(old)
        bpy.data.meshes.remove(mesh)
    mesh = bpy.data.meshes.new(EVENTS_OBJECT)
    n = events.count
    mesh.vertices.add(n)
    mesh.vertices.foreach_set("co", events.position.astype(np.float32).ravel())
    fps = scene.render.fps / scene.render.fps_base
    gn.store_attribute(mesh, "t0", events.frame / fps)  # Geometry Nodes' scene time: frame / fps
    gn.store_attribute(mesh, "time", events.time)
    gn.store_attribute(mesh, "frame", events.frame.astype(np.float64))
    gn.store_attribute(mesh, "impulse", events.impulse)
    gn.store_attribute(mesh, "event_normal", events.normal)
    mesh.update()
    ob = bpy.data.objects.new(EVENTS_OBJECT, mesh)
    ob["collapse_role"] = "break_events"
    (collection or scene.collection).objects.link(ob)
    # loose vertices render as nothing; hide_render would also drop it from the exports
    gn.add_modifier(ob, gn.appear_tree())
    return ob
