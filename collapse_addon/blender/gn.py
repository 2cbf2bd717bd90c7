"""Small Geometry Nodes trees, built in Python with node types that exist from Blender 4.2 to 5.x.

Points carry their whole motion as attributes, so nothing is written per frame: ``t0`` (scene
seconds, frame / fps, when the point appears), ``t1`` (when it stops), ``p0``/``v0``/``acc``
(start, velocity, acceleration: position = p0 + v0 tau + acc tau^2 / 2 with
tau = clamp(t - t0, 0, t1 - t0)), ``r0``/``grow`` (radius r0 + grow sqrt(tau)) and ``spin`` (Euler angles
per second). A point is deleted while the scene's time is before its ``t0``.
"""

from __future__ import annotations

import bpy
import numpy as np

APPEAR_TREE = "Collapse appear"


def store_attribute(mesh, name: str, values: np.ndarray) -> None:
    """A point attribute from a (N,) float or (N, 3) vector array (replaces one of that name)."""
    values = np.asarray(values, np.float32)
    kind = "FLOAT_VECTOR" if values.ndim == 2 else "FLOAT"
    if name in mesh.attributes:
        mesh.attributes.remove(mesh.attributes[name])
    attr = mesh.attributes.new(name, kind, "POINT")
    attr.data.foreach_set("vector" if kind == "FLOAT_VECTOR" else "value", values.ravel())


def new_tree(name: str):
    tree = bpy.data.node_groups.get(name)
    if tree is not None:
        return tree, False
    tree = bpy.data.node_groups.new(name, "GeometryNodeTree")
    tree.interface.new_socket(name="Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    tree.interface.new_socket(name="Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    return tree, True


def named_attribute(tree, name: str, vector: bool = False):
    node = tree.nodes.new("GeometryNodeInputNamedAttribute")
    node.data_type = "FLOAT_VECTOR" if vector else "FLOAT"
    node.inputs["Name"].default_value = name
    return node.outputs["Attribute"]


def _math(tree, op: str, a, b=None, value=None):
    node = tree.nodes.new("ShaderNodeMath")
    node.operation = op
    for i, x in enumerate((a, b)):
        if x is None:
            continue
        if isinstance(x, int | float):
            node.inputs[i].default_value = float(x)
        else:
            tree.links.new(x, node.inputs[i])
    if value is not None:
        node.inputs[1].default_value = value
    return node.outputs[0]


def vector_math(tree, op: str, a, b=None, scale=None):
    node = tree.nodes.new("ShaderNodeVectorMath")
    node.operation = op
    tree.links.new(a, node.inputs[0])
    if b is not None:
        tree.links.new(b, node.inputs[1])
    if scale is not None:
        tree.links.new(scale, node.inputs["Scale"])
    return node.outputs[0]


def io_nodes(tree):
    return tree.nodes.new("NodeGroupInput"), tree.nodes.new("NodeGroupOutput")


def _seconds(tree):
    return tree.nodes.new("GeometryNodeInputSceneTime").outputs["Seconds"]


def _delete_before_t0(tree, geometry):
    hidden = _math(tree, "LESS_THAN", _seconds(tree), named_attribute(tree, "t0"))
    node = tree.nodes.new("GeometryNodeDeleteGeometry")
    node.domain = "POINT"
    tree.links.new(geometry, node.inputs["Geometry"])
    tree.links.new(hidden, node.inputs["Selection"])
    return node.outputs[0]


def appear_tree():
    """Points appear at their ``t0`` and stay where they are."""
    tree, new = new_tree(APPEAR_TREE)
    if new:
        gin, gout = io_nodes(tree)
        tree.links.new(_delete_before_t0(tree, gin.outputs[0]), gout.inputs[0])
    return tree


def _tau(tree):
    """Seconds since the point appeared, clamped to its life (t1 - t0)."""
    t0 = named_attribute(tree, "t0")
    since = _math(tree, "SUBTRACT", _seconds(tree), t0)
    life = _math(tree, "SUBTRACT", named_attribute(tree, "t1"), t0)
    return _math(tree, "MINIMUM", _math(tree, "MAXIMUM", since, 0.0), life)


def _moved(tree, geometry, tau):
    half_tau2 = _math(tree, "MULTIPLY", _math(tree, "MULTIPLY", tau, tau), 0.5)
    pos = vector_math(tree, "ADD", named_attribute(tree, "p0", True),
                 vector_math(tree, "SCALE", named_attribute(tree, "v0", True), scale=tau))
    pos = vector_math(tree, "ADD", pos, vector_math(tree, "SCALE", named_attribute(tree, "acc", True), scale=half_tau2))
    node = tree.nodes.new("GeometryNodeSetPosition")
    tree.links.new(geometry, node.inputs["Geometry"])
    tree.links.new(pos, node.inputs["Position"])
    return _delete_before_t0(tree, node.outputs[0])


def _radius(tree, tau):
    return _math(tree, "ADD", named_attribute(tree, "r0"),
                 _math(tree, "MULTIPLY", named_attribute(tree, "grow"), _math(tree, "SQRT", tau)))


def _settled(tree, geometry):
    """Dust after its growth (``t1``): sinks at ``sink`` m/s and is gone at ``t2``."""
    after = _math(tree, "MAXIMUM", _math(tree, "SUBTRACT", _seconds(tree), named_attribute(tree, "t1")), 0.0)
    drop = tree.nodes.new("ShaderNodeCombineXYZ")
    tree.links.new(_math(tree, "MULTIPLY", _math(tree, "MULTIPLY", named_attribute(tree, "sink"), after), -1.0),
                   drop.inputs["Z"])
    node = tree.nodes.new("GeometryNodeSetPosition")
    tree.links.new(geometry, node.inputs["Geometry"])
    tree.links.new(drop.outputs[0], node.inputs["Offset"])
    gone = _math(tree, "GREATER_THAN", _seconds(tree), named_attribute(tree, "t2"))
    delete = tree.nodes.new("GeometryNodeDeleteGeometry")
    delete.domain = "POINT"
    tree.links.new(node.outputs[0], delete.inputs["Geometry"])
    tree.links.new(gone, delete.inputs["Selection"])
    return delete.outputs[0]


def _fading_radius(tree, tau):
    """The growing radius, shrinking linearly to nothing from ``t1`` to ``t2`` (thinning out)."""
    t2 = named_attribute(tree, "t2")
    left = _math(tree, "DIVIDE", _math(tree, "SUBTRACT", t2, _seconds(tree)),
                 _math(tree, "SUBTRACT", t2, named_attribute(tree, "t1")))
    fade = _math(tree, "MINIMUM", _math(tree, "MAXIMUM", left, 0.0), 1.0)
    return _math(tree, "MULTIPLY", _radius(tree, tau), fade)


def dust_tree(name: str, material, voxels: int = 64):
    """Moving points turned into a volume of growing spheres with ``material`` (a volume
    shader); ``voxels`` along the cloud's diagonal (the default resolution mode everywhere).
    After growing, each puff settles and thins out (``_settled``, ``_fading_radius``)."""
    tree, new = new_tree(name)
    if not new:
        return tree
    gin, gout = io_nodes(tree)
    tau = _tau(tree)
    moved = _settled(tree, _moved(tree, gin.outputs[0], tau))
    points = tree.nodes.new("GeometryNodeMeshToPoints")
    tree.links.new(moved, points.inputs["Mesh"])
    tree.links.new(_fading_radius(tree, tau), points.inputs["Radius"])
    volume = tree.nodes.new("GeometryNodePointsToVolume")
    tree.links.new(points.outputs[0], volume.inputs["Points"])
    tree.links.new(_fading_radius(tree, tau), volume.inputs["Radius"])
    volume.inputs["Voxel Amount"].default_value = float(voxels)
    setmat = tree.nodes.new("GeometryNodeSetMaterial")
    tree.links.new(volume.outputs[0], setmat.inputs["Geometry"])
    setmat.inputs["Material"].default_value = material
    tree.links.new(setmat.outputs[0], gout.inputs[0])
    return tree


def rubble_tree(name: str, fragments):
    """Moving points instanced with the meshes of collection ``fragments`` (picked by the point's
    ``shape`` attribute), scaled by the radius and turning with ``spin`` until they land."""
    tree, new = new_tree(name)
    if not new:
        return tree
    gin, gout = io_nodes(tree)
    tau = _tau(tree)
    moved = _moved(tree, gin.outputs[0], tau)
    info = tree.nodes.new("GeometryNodeCollectionInfo")
    info.inputs["Collection"].default_value = fragments
    info.inputs["Separate Children"].default_value = True
    info.inputs["Reset Children"].default_value = True
    inst = tree.nodes.new("GeometryNodeInstanceOnPoints")
    tree.links.new(moved, inst.inputs["Points"])
    tree.links.new(info.outputs[0], inst.inputs["Instance"])
    inst.inputs["Pick Instance"].default_value = True
    tree.links.new(named_attribute(tree, "shape"), inst.inputs["Instance Index"])
    rot = vector_math(tree, "ADD", named_attribute(tree, "rot0", True),
                 vector_math(tree, "SCALE", named_attribute(tree, "spin", True), scale=tau))
    tree.links.new(rot, inst.inputs["Rotation"])
    tree.links.new(_radius(tree, tau), inst.inputs["Scale"])
    tree.links.new(inst.outputs[0], gout.inputs[0])
    return tree


def add_modifier(ob, tree, name: str = "Collapse FX"):
    mod = ob.modifiers.new(name, "NODES")
    mod.node_group = tree
    return mod
