"""Rubble and dust in the scene: point meshes whose Geometry Nodes move, instance and show them.

The points come from ``core.debris`` (numpy, from the break events only); each becomes one vertex
with its motion as attributes, and a Geometry Nodes modifier (``blender/gn.py``) evaluates it at
render time. So the bake writes nothing per frame, and every engine (Workbench, EEVEE, Cycles)
renders the same geometry. Everything here is tagged ``collapse_role = "fx"`` and replaced on rerun.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core import debris
from ..core.break_events import BreakEvents
from ..core.settings import FxSettings
from . import gn

ROLE = "collapse_role"
FX_COLLECTION = "Collapse FX"


def remove_shot_fx(scene) -> None:
    """Drop the rubble and dust of an earlier run (objects, their meshes and fragment collections)."""
    for ob in [ob for ob in scene.objects if ob.get(ROLE) == "fx"]:
        mesh = ob.data
        bpy.data.objects.remove(ob)
        if mesh is not None and mesh.users == 0:
            bpy.data.meshes.remove(mesh)
    for coll in [c for c in bpy.data.collections if c.get(ROLE) == "fragments"]:
        for ob in list(coll.objects):
            mesh = ob.data
            bpy.data.objects.remove(ob)
            if mesh.users == 0:
                bpy.data.meshes.remove(mesh)
        bpy.data.collections.remove(coll)
    for tree in [t for t in bpy.data.node_groups if t.get(ROLE) == "fx"]:
        bpy.data.node_groups.remove(tree)


def _points_object(scene, name: str, points: debris.Points, tree, collection):
    mesh = bpy.data.meshes.new(name)
    mesh.vertices.add(points.count)
    mesh.vertices.foreach_set("co", points.p0.astype(np.float32).ravel())
    for key in ("p0", "v0", "acc", "t0", "t1", "r0", "grow", "rot0", "spin", "shape", "t2", "sink"):
        if getattr(points, key) is not None:
            gn.store_attribute(mesh, key, getattr(points, key))
    mesh.update()
    ob = bpy.data.objects.new(name, mesh)
    ob[ROLE] = "fx"
    collection.objects.link(ob)
    tree[ROLE] = "fx"
    gn.add_modifier(ob, tree)
    return ob


def _fragments(material_name: str, material, rng) -> bpy.types.Collection:
    """A collection (not in the scene) of small rock meshes of one material."""
    coll = bpy.data.collections.new(f"Collapse rubble shapes {material_name}")
    coll[ROLE] = "fragments"
    for k, (verts, tris) in enumerate(debris.fragment_shapes(rng)):
        mesh = bpy.data.meshes.new(f"Collapse rubble {material_name} {k}")
        mesh.vertices.add(len(verts))
        mesh.vertices.foreach_set("co", verts.astype(np.float32).ravel())
        mesh.loops.add(tris.size)
        mesh.loops.foreach_set("vertex_index", tris.astype(np.int32).ravel())
        mesh.polygons.add(len(tris))
        mesh.polygons.foreach_set("loop_start", np.arange(0, tris.size, 3, dtype=np.int32))
        mesh.update()
        if material is not None:
            mesh.materials.append(material)
        coll.objects.link(bpy.data.objects.new(mesh.name, mesh))
    return coll


def dust_material(color, density: float = 0.6) -> bpy.types.Material:
    """Dust: a Principled Volume (Cycles, EEVEE; Workbench draws the volume as smoke)."""
    mat = bpy.data.materials.get("Collapse dust") or bpy.data.materials.new("Collapse dust")
    rgba = (*[float(c) for c in color], 1.0)
    mat.diffuse_color = rgba
    if mat.node_tree is None:
        mat.use_nodes = True
    nodes = mat.node_tree.nodes
    for node in [n for n in nodes if n.bl_idname != "ShaderNodeOutputMaterial"]:
        nodes.remove(node)
    out = nodes.get("Material Output") or nodes.new("ShaderNodeOutputMaterial")
    volume = nodes.new("ShaderNodeVolumePrincipled")
    volume.inputs["Color"].default_value = rgba
    volume.inputs["Density"].default_value = density
    # absorbing in its own colour (the default absorbs everything: black smoke, not dust)
    volume.inputs["Absorption Color"].default_value = (*[min(1.0, 1.6 * c) for c in rgba[:3]], 1.0)
    mat.node_tree.links.new(volume.outputs[0], out.inputs["Volume"])
    return mat


def add_shot_fx(scene, events: BreakEvents, positions, fx: FxSettings, *, seed: int,
                fps: float) -> dict:
    """Rubble and dust from ``events`` into ``scene``; returns their counts.

    ``positions`` (F, S, 3) only give the shard count (the rubble budget scales with it).
    """
    remove_shot_fx(scene)
    shard_count = int(np.shape(positions)[1])
    rng = np.random.default_rng(np.random.SeedSequence([seed, 15]))
    bounds = np.array(scene["collapse_bounds"], float) if "collapse_bounds" in scene else np.zeros(6)
    ground_z, centre = float(bounds[2]), 0.5 * (bounds[:2] + bounds[3:5])
    counts = {"rubble": 0, "dust": 0}
    if fx.quality == "off" or events.count == 0 or not (fx.rubble or fx.dust):
        return counts
    coll = bpy.data.collections.get(FX_COLLECTION)
    if coll is None:
        coll = bpy.data.collections.new(FX_COLLECTION)
        scene.collection.children.link(coll)
    if fx.rubble:
        rubble = debris.rubble_points(events, shard_count, fx.quality, ground_z=ground_z,
                                      size=fx.rubble_size, fps=fps, rng=rng, centre=centre)
        for name in sorted(set(rubble.material.tolist())):
            part = rubble.select(rubble.material == name)
            material = bpy.data.materials.get(f"Collapse {name} interior")
            shapes = _fragments(name, material, rng)
            tree = gn.rubble_tree(f"Collapse rubble {name}", shapes)
            _points_object(scene, f"Collapse rubble {name}", part, tree, coll)
        counts["rubble"] = rubble.count
    if fx.dust:
        box = float(np.prod(np.maximum(bounds[3:] - bounds[:3], 0.0)))
        dust = debris.dust_points(events, shard_count, fx.quality, ground_z=ground_z,
                                  size=fx.dust_size, fps=fps, rng=rng, centre=centre,
                                  max_volume=debris.DUST_VOLUME * box if box > 0 else None)
        if dust.count:
            tree = gn.dust_tree("Collapse dust", dust_material(fx.dust_color))
            _points_object(scene, "Collapse dust", dust, tree, coll)
        counts["dust"] = dust.count
    return counts
