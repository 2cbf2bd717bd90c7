"""Rigid-body world, bodies and breakable glue constraints, created in bulk.

Bodies: objects linked into the world's collection get ``ob.rigid_body`` on the next
``view_layer.update()``; constraints likewise for empties linked into the world's constraints
collection, which must also be in the scene (else they barely hold). Creating the empties with
names in sorted order and one update for all of them keeps assembly linear.
"""

from __future__ import annotations

import bpy
import numpy as np

from ..core.materials import material


def ensure_world(scene, sim, bodies_name: str, glue_collection) -> bpy.types.RigidBodyWorld:
    """Create (or reuse) the scene's rigid-body world and set it from ``sim``."""
    if scene.rigidbody_world is None:
        with bpy.context.temp_override(scene=scene):
            bpy.ops.rigidbody.world_add()
    world = scene.rigidbody_world
    if world.collection is None:
        world.collection = bpy.data.collections.new(bodies_name)
    world.constraints = glue_collection
    world.substeps_per_frame = sim.substeps
    world.solver_iterations = sim.solver_iterations
    world.time_scale = sim.time_scale
    world.use_split_impulse = False
    scene.gravity = (0.0, 0.0, -sim.gravity)
    scene.render.fps = sim.fps
    scene.render.fps_base = 1.0
    scene.frame_start = sim.frame_start
    scene.frame_end = sim.frame_end
    world.point_cache.frame_start = sim.frame_start
    world.point_cache.frame_end = sim.frame_end
    return world


def add_bodies(scene, objects) -> None:
    """Link objects into the world's collection; ``ob.rigid_body`` exists after the update."""
    coll = scene.rigidbody_world.collection
    for obj in objects:
        coll.objects.link(obj)


def configure_shard_bodies(objects, building, shards, masses, passive, sim) -> None:
    """Mass, contact behaviour, shape (convex hull, or the mesh for non-convex shards) and sleeping."""
    elements = building.elements
    for s, obj in enumerate(objects):
        preset = material(elements[int(shards.element[s])].material, building.materials)
        rb = obj.rigid_body
        rb.type = "PASSIVE" if passive[s] else "ACTIVE"
        rb.collision_shape = "CONVEX_HULL" if shards.is_convex(s) else "MESH"
        rb.mass = float(masses[s])
        rb.friction = sim.ground_friction if passive[s] else preset.friction
        rb.restitution = preset.restitution
        rb.linear_damping = preset.linear_damping
        rb.angular_damping = preset.angular_damping
        rb.use_deactivation = sim.use_deactivation or sim.start_asleep
        rb.use_start_deactivated = sim.start_asleep
        rb.deactivate_linear_velocity = sim.deactivate_linear_velocity
        rb.deactivate_angular_velocity = sim.deactivate_angular_velocity
        if sim.collision_margin > 0:
            rb.use_margin = True
            rb.collision_margin = sim.collision_margin


def configure_ground(obj, sim) -> None:
    """A passive box (centred on its origin, as Bullet's BOX shape is)."""
    rb = obj.rigid_body
    rb.type = "PASSIVE"
    rb.collision_shape = "BOX"
    rb.friction = sim.ground_friction
    rb.restitution = 0.05


def create_glue_holders(glue, collection, shard_objects, hosts,
                        name_prefix: str = "CXglue") -> list[bpy.types.Object]:
    """The object carrying each glue constraint, linked into the glue collection.

    Row ``g`` is carried by ``shard_objects[hosts[g]]`` where ``hosts[g] >= 0``, else by a new
    empty at the contact's centroid.
    """
    holders = []
    for g in range(glue.count):
        if hosts[g] >= 0:
            holder = shard_objects[int(hosts[g])]
        else:
            holder = bpy.data.objects.new(f"{name_prefix}{g:06d}", None)
            holder.empty_display_size = 0.05
            holder.location = glue.centroid[g]
        collection.objects.link(holder)
        holders.append(holder)
    return holders


def configure_glue(empties, glue, objects) -> None:
    """Breakable FIXED constraints with the thresholds the core computed."""
    pairs = glue.pairs
    thresholds = np.asarray(glue.threshold, float)
    for g, empty in enumerate(empties):
        c = empty.rigid_body_constraint
        c.type = "FIXED"
        c.object1 = objects[int(pairs[g, 0])]
        c.object2 = objects[int(pairs[g, 1])]
        c.use_breaking = True
        c.breaking_threshold = float(thresholds[g])
        # Glued neighbours keep colliding: their contact carries compression (the glue alone
        # lets a loaded stack sink), and broken pieces must not pass through one another.
        c.disable_collisions = False
