"""Animate a ``TriggerPlan`` in Blender: kicks, glue switched off, the ball, the shaking ground.

Blender's rigid bodies take no start velocity, so a kick is animated: the body is kinematic
("Animated") until the trigger frame and moves by ``velocity x frame time`` over the frame before
it; when it turns dynamic at the next frame Bullet keeps the velocity of that last kinematic move.
"""

from __future__ import annotations

import bpy
import numpy as np

from . import compat


def _bind_action(obj, name: str):
    """A new action assigned to ``obj``; its slot is made by the first F-curve.

    (``action.slots.new`` costs time in proportion to the objects in the file; letting
    ``fcurve_ensure_for_datablock`` create the slot does not.)
    """
    action = bpy.data.actions.new(name)
    compat.assign_action(obj, action)
    return action


def _set_curve(action, obj, data_path: str, index: int, frames, values, linear: bool = True) -> None:
    """Write all keys of one F-curve at once (``foreach_set``; no per-key operator work)."""
    curve = compat.fcurve_for(action, obj, data_path, index)
    points = curve.keyframe_points
    points.add(len(frames))
    points.foreach_set("co", np.column_stack([frames, values]).astype(np.float32).ravel())
    if linear:
        for point in points:
            point.interpolation = "LINEAR"
    curve.update()


def kick(obj, velocity, frame: int, frame_seconds: float) -> None:
    """Hold ``obj`` still until ``frame``, then release it moving at ``velocity`` (m/s)."""
    rest = np.array(obj.location)
    moved = rest + np.asarray(velocity, float) * frame_seconds
    action = _bind_action(obj, f"{obj.name} kick")
    for k in range(3):
        _set_curve(action, obj, "location", k, [frame - 1, frame], [rest[k], moved[k]])
    _set_curve(action, obj, "rigid_body.kinematic", 0, [frame, frame + 1], [1.0, 0.0], linear=False)
    obj.rigid_body.kinematic = True


def switch_off(empties, frame: int) -> None:
    """Glue constraints of ``empties`` on until the frame before ``frame``, off from ``frame``.

    One action shared by all of them (they animate the same property the same way).
    """
    if not empties:
        return
    first = empties[0]
    action = _bind_action(first, f"Collapse unglue {frame}")
    _set_curve(action, first, "rigid_body_constraint.enabled", 0, [frame - 1, frame], [1.0, 0.0],
               linear=False)
    slot = compat.action_slot(first)
    for empty in empties[1:]:
        compat.assign_action(empty, action, slot)


def simulate_after(body, holders) -> None:
    """Make the rigid-body step of every frame wait for the animation of ``holders``.

    Blender's depsgraph has no relation from a constraint holder to the simulation: the holders'
    animation (glue ``enabled`` switched off) was evaluated in parallel with the step that reads
    it, so now and then a bake switched glue off a frame late and the same file baked to another
    collapse. A driver on ``body`` (a rigid body: its transform feeds the step) with one variable
    per holder adds those relations; its expression is the constant 0, so nothing moves.
    """
    if not holders:
        return
    driver = body.driver_add("delta_location", 2).driver
    driver.type = "SCRIPTED"
    driver.expression = "0.0"
    for i, holder in enumerate(holders):
        variable = driver.variables.new()
        variable.name = f"g{i}"
        variable.type = "SINGLE_PROP"
        variable.targets[0].id = holder
        variable.targets[0].data_path = "rigid_body_constraint.enabled"


def shake(objects, motion: np.ndarray, frame_start: int) -> None:
    """Make passive ``objects`` kinematic and move them by ``motion`` (F, 3) from ``frame_start``."""
    frames = np.arange(frame_start, frame_start + len(motion), dtype=float)
    for obj in objects:
        obj.rigid_body.kinematic = True
        rest = np.array(obj.location)
        action = _bind_action(obj, f"{obj.name} quake")
        for k in range(3):
            _set_curve(action, obj, "location", k, frames, rest[k] + motion[:, k])


def pulverize(objects, ground_objects) -> None:
    """Put ``objects`` in their own collision layer, which only the ground shares.

    Cut supports then stop carrying the building (before the trigger their glue still holds it)
    while their pieces still land on the ground and on each other.
    """
    layer = [False] * 20
    layer[1] = True
    for obj in objects:
        obj.rigid_body.collision_collections = layer
    for obj in ground_objects:
        both = list(obj.rigid_body.collision_collections)
        both[1] = True
        obj.rigid_body.collision_collections = both


def add_waker(scene, collection, location, frame: int):
    """A force field that is on for one frame only, with a negligible force, to wake sleepers.

    Sleeping bodies ignore gravity; Blender wakes a body when an effector pushes it. Removing
    supports (whose pieces no longer touch the building) wakes nothing by itself, so this field
    wakes the building at the trigger; its 1 mN is nothing to shards of tens of kilograms.
    """
    before = set(bpy.data.objects)
    with bpy.context.temp_override(scene=scene, view_layer=scene.view_layers[0],
                                   collection=collection):
        bpy.ops.object.effector_add(type="FORCE", location=tuple(location))
    field_obj = next(o for o in bpy.data.objects if o not in before)
    field_obj.name = "Collapse waker"
    for coll in list(field_obj.users_collection):
        if coll != collection:
            coll.objects.unlink(field_obj)
    if collection not in field_obj.users_collection:
        collection.objects.link(field_obj)
    settings = field_obj.field
    settings.shape = "POINT"
    settings.falloff_type = "SPHERE"
    settings.falloff_power = 0.0
    settings.use_max_distance = False
    # Blender looks for effectors for every body at every step; pointing the world at a
    # collection holding only this field keeps that search short.
    fields_coll = bpy.data.collections.new(f"{collection.name} fields")
    fields_coll.objects.link(field_obj)
    scene.rigidbody_world.effector_weights.collection = fields_coll
    action = _bind_action(field_obj, "Collapse waker")
    _set_curve(action, field_obj, "field.strength", 0, [frame - 1, frame, frame + 1], [0.0, 1e-3, 0.0])
    return field_obj


def apply_trigger(plan, shard_objects, glue_empties, sim, *, ball=None, ground_objects=()) -> None:
    """Animate every part of ``plan`` (see ``core.physics.TriggerPlan``).

    A pulverizing plan also needs ``add_waker``, called before the shards exist (an operator's
    cost grows with the scene).
    """
    for s, velocity, frame in zip(plan.kicked, plan.kick_velocity, plan.kick_frames(), strict=True):
        kick(shard_objects[int(s)], velocity, int(frame), sim.frame_seconds)
    if plan.pulverized:
        pulverize([shard_objects[int(s)] for s in plan.kicked], ground_objects)
    if plan.hold_until_switched_off:
        for g in plan.unglue:
            glue_empties[int(g)].rigid_body_constraint.use_breaking = False
    unglue_frames = plan.unglue_frames()
    for frame in np.unique(unglue_frames):
        rows = plan.unglue[unglue_frames == frame]
        switch_off([glue_empties[int(g)] for g in rows], int(frame))
    if len(plan.unglue) and ground_objects:
        holders = list({glue_empties[int(g)].name: glue_empties[int(g)] for g in plan.unglue}.values())
        simulate_after(ground_objects[0], holders)
    if ball is not None and plan.ball is not None:
        kick(ball, plan.ball["velocity"], plan.frame, sim.frame_seconds)
    if plan.ground_motion is not None:
        shake(ground_objects, plan.ground_motion, sim.frame_start)
