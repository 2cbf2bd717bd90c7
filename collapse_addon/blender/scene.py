"""Shards -> Blender mesh objects, in bulk, in a tidy collection tree.

Each shard becomes one mesh object whose origin is the shard's centroid (so the rigid body's
centre of mass is right and baked transforms are the shards' motions). Faces on the element's
original surface use material slot 0 (exterior), cut faces slot 1 (interior).
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.materials import MATERIALS

ROOT_NAME = "Collapse"
SHARD_PREFIX = "CX"
ROLE = "collapse_role"  # custom property tagging everything the add-on creates
ORIGINAL = "collapse_original"  # tags an artist's object hidden by a fracture


def new_collection(name: str, parent) -> bpy.types.Collection:
    """A new collection linked under ``parent``."""
    coll = bpy.data.collections.new(name)
    parent.children.link(coll)
    return coll


def ensure_materials(names: list[str] | None = None, table: dict | None = None) -> dict[str, tuple]:
    """Exterior and interior materials of each material in ``names`` (default: all of ``table``,
    a shot's material table; None: the presets), made by the one factory, ``camera.shot_materials``.
    """
    from .camera import shot_materials

    table = MATERIALS if table is None else table
    return shot_materials(table, names or list(table))


def _element_collections(building, root) -> dict[int, bpy.types.Collection]:
    """building / kind / storey collections; returns the collection of every element index."""
    by_kind: dict[str, bpy.types.Collection] = {}
    by_storey: dict[tuple[str, int], bpy.types.Collection] = {}
    out = {}
    for e in building.elements:
        kind = by_kind.get(e.kind)
        if kind is None:
            kind = by_kind[e.kind] = new_collection(f"{root.name} {e.kind}", root)
        key = (e.kind, e.storey)
        coll = by_storey.get(key)
        if coll is None:
            label = "foundation" if e.storey < 0 else f"storey {e.storey}"
            coll = by_storey[key] = new_collection(f"{root.name} {e.kind} {label}", kind)
        out[e.index] = coll
    return out


def create_shard_objects(building, shards, root, materials: dict[str, tuple] | None = None,
                         name_prefix: str = SHARD_PREFIX) -> list[bpy.types.Object]:
    """One mesh object per shard, built with ``foreach_set``, linked into kind/storey collections.

    Returns the objects in shard order. Names are ``{prefix}{index:05d}_{element name}`` so they
    sort in creation order (Blender inserts new IDs by name: sorted names keep that linear).
    """
    elements = building.elements
    materials = materials or ensure_materials(sorted({e.material for e in elements}), building.materials)
    collections = _element_collections(building, root)
    loop_start = shards.loop_start
    n_loops = len(shards.loops)
    vertices = shards.vertices
    names = [f"{name_prefix}{s:05d}_{elements[int(shards.element[s])].name}" for s in range(shards.count)]
    # Meshes first, objects after: appending a material scans every object in the file, so
    # doing it while no shard object exists keeps assembly linear.
    meshes = []
    for s in range(shards.count):
        element = elements[int(shards.element[s])]
        v0, v1 = int(shards.vertex_start[s]), int(shards.vertex_start[s + 1])
        f0, f1 = int(shards.face_start[s]), int(shards.face_start[s + 1])
        l0 = int(loop_start[f0])
        l1 = int(loop_start[f1]) if f1 < len(loop_start) else n_loops
        mesh = bpy.data.meshes.new(names[s])
        mesh.vertices.add(v1 - v0)
        mesh.vertices.foreach_set("co", (vertices[v0:v1] - shards.centroid[s]).astype(np.float32).ravel())
        mesh.loops.add(l1 - l0)
        mesh.loops.foreach_set("vertex_index", (shards.loops[l0:l1] - v0).astype(np.int32))
        mesh.polygons.add(f1 - f0)
        mesh.polygons.foreach_set("loop_start", (loop_start[f0:f1] - l0).astype(np.int32))
        mesh.polygons.foreach_set("material_index", shards.face_interior[f0:f1].astype(np.int32))
        # rest position in world space: procedural textures line up across shards (blender/look.py)
        rest = mesh.attributes.new("collapse_rest", "FLOAT_VECTOR", "POINT")
        rest.data.foreach_set("vector", vertices[v0:v1].astype(np.float32).ravel())
        exterior, interior = materials[element.material]
        mesh.materials.append(exterior)
        mesh.materials.append(interior)
        mesh.update()
        mesh.shade_flat()
        meshes.append(mesh)
    objects = []
    for s, mesh in enumerate(meshes):
        obj = bpy.data.objects.new(names[s], mesh)
        obj.location = shards.centroid[s]
        obj["collapse_shard"] = s
        collections[int(shards.element[s])].objects.link(obj)
        objects.append(obj)
    return objects


def create_box_object(name: str, size, location, collection, color=(0.3, 0.3, 0.28, 1.0)):
    """An axis-aligned box mesh centred on its origin (what a passive BOX shape expects)."""
    sx, sy, sz = (0.5 * float(v) for v in size)
    corners = np.array([[-sx, -sy, -sz], [sx, -sy, -sz], [sx, sy, -sz], [-sx, sy, -sz],
                        [-sx, -sy, sz], [sx, -sy, sz], [sx, sy, sz], [-sx, sy, sz]])
    faces = [(0, 3, 2, 1), (4, 5, 6, 7), (0, 1, 5, 4), (1, 2, 6, 5), (2, 3, 7, 6), (3, 0, 4, 7)]
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(corners.tolist(), [], faces)
    mesh.update()
    mat = bpy.data.materials.get("Collapse ground") or bpy.data.materials.new("Collapse ground")
    mat.diffuse_color = color
    mesh.materials.append(mat)
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    collection.objects.link(obj)
    return obj


def create_sphere_object(name: str, radius: float, location, collection):
    """A UV sphere mesh (the impact ball), centred on its origin."""
    import bmesh

    mesh = bpy.data.meshes.new(name)
    bm = bmesh.new()
    bmesh.ops.create_uvsphere(bm, u_segments=24, v_segments=12, radius=radius)
    bm.to_mesh(mesh)
    bm.free()
    for poly in mesh.polygons:
        poly.use_smooth = True
    mat = bpy.data.materials.get("Collapse steel exterior") or ensure_materials(["steel"])["steel"][0]
    mesh.materials.append(mat)
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    collection.objects.link(obj)
    return obj


def hide_originals(objects) -> None:
    """Hide the user's source objects (never delete them): viewport, render and selection."""
    view_layer_objects = bpy.context.view_layer.objects
    for obj in objects:
        if obj.name in view_layer_objects:
            obj.hide_set(True)
        obj.hide_viewport = True
        obj.hide_render = True
        obj[ORIGINAL] = True


def world_polygons(mesh, matrix_world) -> tuple[np.ndarray, list[np.ndarray]]:
    """World-space vertices (V, 3) and polygon loops of ``mesh`` placed by ``matrix_world``.

    A mirrored placement (negative determinant) turns the faces inside out, so their loops are
    reversed to keep normals pointing outwards.
    """
    co = np.empty(len(mesh.vertices) * 3, np.float64)
    mesh.vertices.foreach_get("co", co)
    matrix = np.array(matrix_world, float)
    co = co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]
    loops = np.empty(len(mesh.loops), np.int64)
    mesh.loops.foreach_get("vertex_index", loops)
    starts = np.empty(len(mesh.polygons), np.int64)
    mesh.polygons.foreach_get("loop_start", starts)
    faces = np.split(loops, starts[1:]) if len(starts) else []
    if np.linalg.det(matrix[:3, :3]) < 0:
        faces = [f[::-1].copy() for f in faces]
    return co, faces



def read_object_mesh(ob, depsgraph) -> tuple[np.ndarray, list]:
    """World-space vertices and faces of ``ob`` with its modifiers applied (the user's mesh is not
    touched)."""
    evaluated = ob.evaluated_get(depsgraph)
    mesh = evaluated.to_mesh()
    try:
        return world_polygons(mesh, ob.matrix_world)
    finally:
        evaluated.to_mesh_clear()


def read_object_meshes(objects, context=None) -> list[tuple[np.ndarray, list]]:
    """``read_object_mesh`` of each object, hidden ones too (shown for the read, hidden again)."""
    context = context or bpy.context
    hidden = [ob for ob in objects if ob.hide_viewport]
    for ob in hidden:
        ob.hide_viewport = False
    try:
        depsgraph = context.evaluated_depsgraph_get()
        depsgraph.update()
        return [read_object_mesh(ob, depsgraph) for ob in objects]
    finally:
        for ob in hidden:
            ob.hide_viewport = True


def create_box_preview(scene, name: str, lo: np.ndarray, hi: np.ndarray, role: str):
    """One mesh object of axis-aligned boxes ``lo``-``hi`` (B, 3), built in bulk."""
    corners = np.array([[x, y, z] for z in (0, 1) for y in (0, 1) for x in (0, 1)], float)
    vertices = (lo[:, None, :] + corners[None] * (hi - lo)[:, None, :]).reshape(-1, 3)
    quads = np.array([[0, 4, 6, 2], [1, 3, 7, 5], [0, 1, 5, 4], [2, 6, 7, 3], [0, 2, 3, 1],
                      [4, 5, 7, 6]])
    loops = (quads[None] + 8 * np.arange(len(lo))[:, None, None]).ravel()
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(vertices))
    mesh.vertices.foreach_set("co", vertices.astype(np.float32).ravel())
    mesh.loops.add(len(loops))
    mesh.loops.foreach_set("vertex_index", loops.astype(np.int32))
    mesh.polygons.add(len(loops) // 4)
    mesh.polygons.foreach_set("loop_start", np.arange(0, len(loops), 4, dtype=np.int32))
    mesh.update()
    ob = bpy.data.objects.new(name, mesh)
    ob[ROLE] = role
    scene.collection.objects.link(ob)
    return ob


def create_point_cloud(scene, name: str, points: np.ndarray, role: str):
    """A vertex-only mesh object showing ``points`` (replaces an earlier one of that name and
    role)."""
    old = bpy.data.objects.get(name)
    if old is not None and old.get(ROLE) == role:
        mesh = old.data
        bpy.data.objects.remove(old, do_unlink=True)
        bpy.data.meshes.remove(mesh)
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(len(points))
    mesh.vertices.foreach_set("co", np.asarray(points, np.float32).ravel())
    mesh.update()
    ob = bpy.data.objects.new(name, mesh)
    ob[ROLE] = role
    scene.collection.objects.link(ob)
    return ob
