"""Rough breaks in the scene: each shard gets a rough render twin, a child that follows it.

Bullet bakes the exact cells: a shard's own mesh stays the Voronoi cell (its convex hull is the
collision shape). The rough mesh (``core.rough_cuts``: cut faces split into rings, inner points
offset along the face normal) is built with the shard and kept unlinked; after the bake it
becomes a child object of the shard at the same origin (``attach``), so it follows the baked
motion, and renders and exports show it instead of the shard. Before a bake the twins are removed
(``detach``): subdivided rigid bodies, modifiers on them or extra objects under them made Bullet's
result differ from run to run, and swapping a baked body's mesh crashed Blender when the file was
closed (all seen in 5.0.1). The offsets are stored at unit RMS, so ``fx.rough_rms`` changes need no rebake.
"""

from __future__ import annotations

import bpy
import numpy as np

from . import gn

OFFSET = "rough_offset"
BASE = "rough_base"
ROLE = "collapse_role"
MESH_KEY = "collapse_rough_mesh"


def _rough_mesh(name: str, shards, s: int, offset: np.ndarray, materials) -> bpy.types.Mesh:
    v0, v1 = int(shards.vertex_start[s]), int(shards.vertex_start[s + 1])
    f0, f1 = int(shards.face_start[s]), int(shards.face_start[s + 1])
    starts = shards.loop_start
    l0 = int(starts[f0])
    l1 = int(starts[f1]) if f1 < len(starts) else len(shards.loops)
    rest = shards.vertices[v0:v1]
    local = rest - shards.centroid[s]
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(v1 - v0)
    mesh.vertices.foreach_set("co", local.astype(np.float32).ravel())
    mesh.loops.add(l1 - l0)
    mesh.loops.foreach_set("vertex_index", (shards.loops[l0:l1] - v0).astype(np.int32))
    mesh.polygons.add(f1 - f0)
    mesh.polygons.foreach_set("loop_start", (starts[f0:f1] - l0).astype(np.int32))
    mesh.polygons.foreach_set("material_index", shards.face_interior[f0:f1].astype(np.int32))
    gn.store_attribute(mesh, "collapse_rest", rest)
    gn.store_attribute(mesh, BASE, local)
    gn.store_attribute(mesh, OFFSET, offset[v0:v1])
    for mat in materials:
        mesh.materials.append(mat)
    mesh.update()
    mesh.shade_flat()
    return mesh


def add_rough_meshes(objects, rough) -> int:
    """The rough mesh of every shard whose cut faces move (``rough``: RoughShards at unit RMS, in
    shard order), kept unlinked until ``attach``; returns how many."""
    count = 0
    for s, ob in enumerate(objects):
        v0, v1 = int(rough.shards.vertex_start[s]), int(rough.shards.vertex_start[s + 1])
        if not np.any(rough.offset[v0:v1]):
            continue
        mesh = _rough_mesh(f"{ob.name} rough", rough.shards, s, rough.offset,
                           list(ob.data.materials))
        mesh.use_fake_user = True  # unused between bakes: keep it in the saved file
        ob[MESH_KEY] = mesh.name
        count += 1
    return count


def detach(scene) -> None:
    """Remove the rough twins (before a bake: extra objects under the rigid bodies made Bullet's
    result differ from run to run in 5.0.1). Their meshes stay for the next ``attach``."""
    for ob in [ob for ob in scene.objects if ob.get(ROLE) == "rough"]:
        bpy.data.objects.remove(ob)
    for ob in scene.objects:
        if MESH_KEY in ob:
            ob.hide_render = False


def attach(scene, rms: float) -> int:
    """Render the rough twins at ``rms`` (metres) instead of their shards (0: the shards);
    returns how many shards render rough."""
    count = 0
    for ob in list(scene.objects):
        mesh = bpy.data.meshes.get(ob.get(MESH_KEY, "")) if MESH_KEY in ob else None
        if mesh is None:
            continue
        twin = bpy.data.objects.get(mesh.name)
        if twin is None:
            twin = bpy.data.objects.new(mesh.name, mesh)
            twin[ROLE] = "rough"
            # follows the baked motion (a Copy Transforms constraint: parenting a child to a
            # baked rigid body crashed Blender when the file was closed, 5.0.1)
            twin.constraints.new("COPY_TRANSFORMS").target = ob
            twin.hide_viewport = True  # the viewport shows the exact cells (cheaper)
            for coll in ob.users_collection:
                coll.objects.link(twin)
        n = len(mesh.vertices)
        base = np.empty(n * 3, np.float32)
        offset = np.empty(n * 3, np.float32)
        mesh.attributes[BASE].data.foreach_get("vector", base)
        mesh.attributes[OFFSET].data.foreach_get("vector", offset)
        mesh.vertices.foreach_set("co", base + np.float32(rms) * offset)
        mesh.update()
        rough = rms > 0
        ob.hide_render, twin.hide_render = rough, not rough
        count += int(rough)
    return count


def render_objects(shards) -> list:
    """What the exports should carry for these shard objects: the rough twin where one renders."""
    out = []
    for ob in shards:
        twin = bpy.data.objects.get(ob.get(MESH_KEY, "")) if MESH_KEY in ob else None
        out.append(twin if twin is not None and not twin.hide_render else ob)
    return out
