"""Rough breaks and rebar ends: render twins of the shards, made after the bake.

Physics never sees them. The file a bake runs on holds no rough geometry at all (the actor solver
reads the exact cells from ``core``; Bullet bakes the shards' own meshes, the exact Voronoi cells).
After the bake, ``attach`` reads the shard meshes back (their ``collapse_rest`` world positions
and cut-face flags), roughens the cut faces (``core.rough_cuts``: one world-space noise field, so
both sides of a cut still meet), adds rebar stubs where reinforced-concrete bonds broke
(``core.rebar``), and gives each changed shard a twin object that follows it (a Copy Transforms
constraint) and renders and exports instead of it. ``detach`` removes the twins and their meshes.
Only the actor solver's scenes (keyframed shards, no rigid-body world) get twins: in a baked glue
scene, extra objects made opening another file crash Blender (see ``attach``).
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core import rebar, rough_cuts
from . import gn, look

ROLE = "collapse_role"
TWIN_KEY = "collapse_twin"
REBAR_MATERIAL = "Collapse rebar"
# Rings of points per cut face: 2 gives 5 triangles per corner, 3 gives 9 (Workbench with shadows
# drew the demo's 430 twins 8 % faster at 2; the shadow pass grows with the triangle count).
RINGS = 2


def shard_surfaces(objects) -> tuple[rough_cuts.Surfaces, np.ndarray]:
    """The shards' closed surfaces at rest in world space (from ``collapse_rest``) and each
    object's rest origin (S, 3), read with ``foreach_get``."""
    verts, sizes, loops, interior, origins = [], [], [], [], []
    vstart, fstart, nv = [0], [0], 0
    for ob in objects:
        mesh = ob.data
        n, f, nl = len(mesh.vertices), len(mesh.polygons), len(mesh.loops)
        co = np.empty(3 * n, np.float32)
        rest = np.empty(3 * n, np.float32)
        mesh.vertices.foreach_get("co", co)
        mesh.attributes["collapse_rest"].data.foreach_get("vector", rest)
        rest64 = rest.reshape(-1, 3).astype(np.float64)
        origins.append((rest64 - co.reshape(-1, 3)).mean(0))
        total = np.empty(f, np.int32)
        index = np.empty(f, np.int32)
        vi = np.empty(nl, np.int32)
        mesh.polygons.foreach_get("loop_total", total)
        mesh.polygons.foreach_get("material_index", index)
        mesh.loops.foreach_get("vertex_index", vi)
        verts.append(rest64)
        sizes.append(total)
        loops.append(vi.astype(np.int64) + nv)
        interior.append(index == 1)
        nv += n
        vstart.append(nv)
        fstart.append(fstart[-1] + f)
    surfaces = rough_cuts.Surfaces(
        np.concatenate(verts), np.asarray(vstart, np.int64),
        np.concatenate(sizes).astype(np.int64), np.asarray(fstart, np.int64),
        np.concatenate(loops), np.concatenate(interior))
    return surfaces, np.asarray(origins)


def rebar_material() -> bpy.types.Material:
    mat = bpy.data.materials.get(REBAR_MATERIAL)
    if mat is None:
        mat = bpy.data.materials.new(REBAR_MATERIAL)
        color = (0.22, 0.12, 0.07, 1.0)  # rusty steel
        mat.diffuse_color = color
        mat.metallic, mat.roughness = 0.5, 0.6
        bsdf = look.principled(mat)
        bsdf.inputs["Base Color"].default_value = color
        bsdf.inputs["Metallic"].default_value = 0.5
        bsdf.inputs["Roughness"].default_value = 0.6
    return mat


def _twin_mesh(name, verts, sizes, loops, index, rest, materials):
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(verts))
    mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
    mesh.loops.add(len(loops))
    mesh.loops.foreach_set("vertex_index", loops.astype(np.int32))
    mesh.polygons.add(len(sizes))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    mesh.polygons.foreach_set("loop_start", starts.astype(np.int32))
    mesh.polygons.foreach_set("material_index", index.astype(np.int32))
    gn.store_attribute(mesh, "collapse_rest", rest)
    for mat in materials:
        mesh.materials.append(mat)
    mesh.update()
    # flat shading, as Mesh.shade_flat (which sets the attribute face by face in Python)
    sharp = mesh.attributes.get("sharp_face") or mesh.attributes.new("sharp_face", "BOOLEAN", "FACE")
    sharp.data.foreach_set("value", np.ones(len(sizes), bool))
    return mesh


def _users_collections() -> dict:
    """Every object's collections by its pointer, in ``Object.users_collection``'s order (which
    scans every collection per call: 0.6 s over the demo's twins)."""
    out: dict[int, list] = {}
    for coll in (*bpy.data.collections, *(scene.collection for scene in bpy.data.scenes)):
        for ob in coll.objects:
            out.setdefault(ob.as_pointer(), []).append(coll)
    return out


def detach(scene) -> None:
    """Remove the render twins and their meshes; the shards render again."""
    twins = [ob for ob in scene.objects if ob.get(ROLE) == "rough"]
    meshes = {ob.data for ob in twins if ob.data is not None and ob.data.users == 1}
    bpy.data.batch_remove(twins + list(meshes))  # one by one is quadratic in the object count
    for ob in scene.objects:
        if TWIN_KEY in ob:
            del ob[TWIN_KEY]
            ob.hide_render = False


def _rest_frame(events, positions, rotations, origins, frame_start):
    """Event positions and normals carried back to rest by shard a's baked motion."""
    k = np.clip(np.asarray(events.frame, np.int64) - frame_start, 0, len(positions) - 1)
    a = np.asarray(events.shard_a, np.int64)
    rot = rotations[k, a]
    points = np.einsum("nji,nj->ni", rot, events.position - positions[k, a]) + origins[a]
    normals = np.einsum("nji,nj->ni", rot, events.normal)
    return points, normals


def attach(scene, rms: float, *, seed: int, events=None, positions=None, rotations=None,
           rebar_on: bool = True) -> dict:
    """Render twins for the baked shards: cut faces rough at ``rms`` (metres, concrete; scaled by
    material) and rebar stubs at the break ``events`` between reinforced-concrete shards (their
    rest positions from the baked ``positions``/``rotations``). Returns counts."""
    from .events import _shard_materials
    from .simulation import CollapseScene

    detach(scene)
    counts = {"rough_shards": 0, "rebar_bars": 0}
    if scene.rigidbody_world is not None:
        # Blender's glue bake (kept for comparison): no twins. With extra objects in a baked
        # rigid-body scene, freeing its depsgraph (opening another file) crashed Blender 5.x in
        # btRigidBody::removeConstraintRef (the glue constraints' evaluated copies freed after
        # their bodies'; the order varies run to run).
        return counts
    handle = CollapseScene.from_scene(scene)
    objects = handle.shard_objects()
    materials = _shard_materials(scene, handle)
    has_rc = rebar.RC in materials
    use_rebar = rebar_on and events is not None and events.count and has_rc and positions is not None
    if rms <= 0 and not use_rebar:
        return counts
    surfaces, origins = shard_surfaces(objects)
    factor = np.array([rough_cuts.ROUGHNESS.get(m, 1.0) for m in materials])
    rough = rough_cuts.roughen(surfaces, rms, seed, factor=factor, rings=RINGS) if rms > 0 else None
    bars = None
    if use_rebar:
        points, normals = _rest_frame(events, np.asarray(positions), np.asarray(rotations),
                                      origins, handle.frame_start)
        bars = rebar.rebar_bars(surfaces, origins, materials, events.shard_a, events.shard_b,
                                points, normals, seed, margin=rebar.MARGIN_END + max(rms, 0.0))
        counts["rebar_bars"] = bars.count
    source = rough.shards if rough is not None else surfaces
    moved = rough.displaced_vertices() if rough is not None else surfaces.vertices
    starts = source.loop_start
    owners = np.zeros(len(objects), bool)
    if rough is not None:
        vowner = np.repeat(np.arange(len(objects)), np.diff(source.vertex_start))
        owners[np.unique(vowner[np.any(rough.offset != 0, axis=1)])] = True
    if bars is not None:
        owners[bars.shard] = True
    steel = rebar_material() if bars is not None and bars.count else None
    collections = _users_collections()
    for s in np.flatnonzero(owners):
        ob = objects[s]
        v0, v1 = int(source.vertex_start[s]), int(source.vertex_start[s + 1])
        f0, f1 = int(source.face_start[s]), int(source.face_start[s + 1])
        l0 = int(starts[f0])
        l1 = int(starts[f1]) if f1 < len(starts) else len(source.loops)
        verts = moved[v0:v1]
        rest = source.vertices[v0:v1]
        sizes = source.face_sizes[f0:f1]
        loops = source.loops[l0:l1] - v0
        index = source.face_interior[f0:f1].astype(np.int32)
        mats = list(ob.data.materials)
        if bars is not None and np.any(bars.shard == s):
            mine = bars.shard == s
            bverts, quads = rebar.bar_mesh(bars.start[mine], bars.end[mine])
            loops = np.concatenate([loops, quads.ravel() + len(verts)])
            sizes = np.concatenate([sizes, np.full(len(quads), 4)])
            index = np.concatenate([index, np.full(len(quads), len(mats))])
            verts = np.concatenate([verts, bverts])
            rest = np.concatenate([rest, bverts])
            mats.append(steel)
        mesh = _twin_mesh(f"{ob.name} render", verts - origins[s], sizes, loops, index, rest, mats)
        twin = bpy.data.objects.new(mesh.name, mesh)
        twin[ROLE] = "rough"
        # follows the baked motion (parenting a child to a baked rigid body crashed Blender on
        # file close in 5.0.1; a constraint does not touch the body)
        twin.constraints.new("COPY_TRANSFORMS").target = ob
        twin.hide_viewport = True  # the viewport shows the exact cells (cheaper)
        for coll in collections.get(ob.as_pointer(), ()):
            coll.objects.link(twin)
        ob[TWIN_KEY] = twin.name
        ob.hide_render = True
    counts["rough_shards"] = int(owners.sum())
    return counts


def twin_of(shard):
    """The shard's render twin (its rough surface and rebar), or None."""
    return bpy.data.objects.get(shard[TWIN_KEY]) if TWIN_KEY in shard else None


def swap_in(shards) -> list:
    """For an export: each shard with a twin takes the twin's mesh for the duration (the shard's
    own keyed motion, the twin's rough surface and rebar; evaluating the twins as well made the
    Alembic export of the demo 3.6x slower). Returns what ``swap_out`` restores."""
    swapped = []
    for ob in shards:
        twin = twin_of(ob)
        if twin is not None:  # the exporters skip what does not render: swap that too
            swapped.append((ob, twin))
            ob.data, twin.data = twin.data, ob.data
            ob.hide_render, twin.hide_render = False, True
    return swapped


def swap_out(swapped) -> None:
    for ob, twin in swapped:
        ob.data, twin.data = twin.data, ob.data
        ob.hide_render, twin.hide_render = True, False


def render_objects(shards) -> list:
    """What renders for these shard objects: the render twin where one exists, else the shard."""
    out = []
    for ob in shards:
        twin = twin_of(ob)
        out.append(twin if twin is not None else ob)
    return out
