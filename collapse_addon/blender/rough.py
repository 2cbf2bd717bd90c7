"""Rough breaks in the scene: the offsets of ``core.rough_cuts`` applied by a modifier.

The shard meshes are the subdivided, undisplaced cells (so the rigid bodies' convex hulls, built
from the base mesh, are the exact cells); a Geometry Nodes modifier moves the cut faces' inner
points by the stored unit offsets times ``fx.rough_rms``. Changing the RMS later changes one node
value, with no rebuild or rebake.
"""

from __future__ import annotations

import bpy
import numpy as np

from . import gn

ROUGH_TREE = "Collapse rough"
OFFSET = "rough_offset"


def rough_tree():
    tree, new = gn.new_tree(ROUGH_TREE)
    if new:
        gin, gout = gn.io_nodes(tree)
        value = tree.nodes.new("ShaderNodeValue")
        value.name = "rms"
        value.outputs[0].default_value = 1.0
        offset = gn.vector_math(tree, "SCALE", gn.named_attribute(tree, OFFSET, True), scale=value.outputs[0])
        node = tree.nodes.new("GeometryNodeSetPosition")
        tree.links.new(gin.outputs[0], node.inputs["Geometry"])
        tree.links.new(offset, node.inputs["Offset"])
        tree.links.new(node.outputs[0], gout.inputs[0])
    return tree


def add_rough_offsets(objects, rough, rms: float) -> None:
    """Store each shard's unit offsets and give it the rough modifier (``rough``: RoughShards
    built with rms 1, the meshes built from ``rough.shards``)."""
    tree = rough_tree()
    starts = rough.shards.vertex_start
    for s, ob in enumerate(objects):
        v0, v1 = int(starts[s]), int(starts[s + 1])
        offset = rough.offset[v0:v1]
        if not np.any(offset):
            continue
        gn.store_attribute(ob.data, OFFSET, offset)
        gn.add_modifier(ob, tree, "Collapse rough")
        if ob.rigid_body is not None:
            ob.rigid_body.mesh_source = "BASE"  # collision from the exact, undisplaced cell
    set_rough_rms(rms)


def set_rough_rms(rms: float) -> None:
    tree = bpy.data.node_groups.get(ROUGH_TREE)
    if tree is not None:
        tree.nodes["rms"].outputs[0].default_value = float(rms)
