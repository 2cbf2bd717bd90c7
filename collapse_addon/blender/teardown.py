"""Remove what Collapse built in a scene (in steps a modal job can show), and show the artist's
originals a fracture hid. The artist's own objects are never touched."""

from __future__ import annotations

import bpy

from .scene import ORIGINAL, ROLE
from .simulation import META_KEY, find_collapse

# Objects deleted per step: one batch call (one by one is quadratic), well under a second.
REMOVE_PER_STEP = 2000


def originals(scene) -> list:
    """The artist's objects a fracture hid (kept, never changed)."""
    return [ob for ob in scene.objects if ob.get(ORIGINAL)]


def show_originals(scene) -> None:
    for ob in originals(scene):
        del ob[ORIGINAL]
        ob.hide_viewport = False
        ob.hide_render = False
        if ob.name in bpy.context.view_layer.objects:
            ob.hide_set(False)


def remove_collapse_objects(scene, keep_roles: tuple[str, ...] = ()) -> int:
    """Delete what Collapse built in ``scene``; returns how many objects went."""
    counter = []
    for _step in remove_collapse_steps(scene, counter, keep_roles):
        pass
    return counter[0]


def remove_collapse_steps(scene, counter: list, keep_roles: tuple[str, ...] = ()):
    """Delete what Collapse built in ``scene`` (shards, glue, ground, ball, camera, lights,
    rigid-body world, stored data) in steps (a job); the artist's own objects stay, and so do
    Collapse objects whose role is in ``keep_roles``. Appends the number of objects removed to
    ``counter``."""
    handle = find_collapse(scene)
    objects = {ob for ob in scene.objects
               if ob.get(ROLE) is not None and ob.get(ROLE) not in keep_roles}
    collections = []
    if handle is not None:
        root = bpy.data.collections.get(handle.root)
        if root is not None:
            objects |= set(root.all_objects)
            collections = [root, *root.children_recursive]
        bodies = bpy.data.collections.get(handle.bodies)
        if bodies is not None:
            collections.append(bodies)
    counter.append(len(objects))
    # Their keyframes (trigger kicks, glue switched off) too: a rebuild must start clean.
    actions = {ob.animation_data.action for ob in objects
               if ob.animation_data is not None and ob.animation_data.action is not None}
    world = scene.rigidbody_world
    if world is not None and (handle is not None or world.collection is None
                              or not world.collection.all_objects):
        # Empty the world's collections, let the depsgraph see it, then remove the world, and
        # only then the bodies: other orders crash Blender 5.0 on a baked world. Objects outside
        # the world (camera, lights, the force field waking sleepers) go first.
        in_world = set()
        for coll in (world.collection, world.constraints):
            if coll is not None:
                in_world |= set(coll.all_objects)
        outside = [ob for ob in objects if ob not in in_world]
        objects = {ob for ob in objects if ob in in_world}
        _remove_objects(outside)
        yield 0.1, "Removing the rigid-body world"
        for coll in (world.collection, world.constraints):
            if coll is not None:
                for ob in list(coll.objects):
                    coll.objects.unlink(ob)
        bpy.context.view_layer.update()
        yield 0.4, "Removing the rigid-body world"
        world.constraints = None
        world.collection = None
        with bpy.context.temp_override(scene=scene):
            bpy.ops.rigidbody.world_remove()
    objects = list(objects)
    for i in range(0, len(objects), REMOVE_PER_STEP):
        yield 0.5 + 0.5 * i / max(len(objects), 1), f"Removing {len(objects) - i} objects"
        _remove_objects(objects[i:i + REMOVE_PER_STEP])
    bpy.data.batch_remove([c for c in collections if c.name in bpy.data.collections])
    bpy.data.batch_remove([action for action in actions if action.users == 0])
    for key in list(scene.keys()):
        if key == META_KEY or (key.startswith("collapse_") and key != "collapse_shot"):
            del scene[key]


def _remove_objects(objects) -> None:
    data = {ob.data for ob in objects if ob.data is not None}
    bpy.data.batch_remove(list(objects))
    bpy.data.batch_remove([block for block in data if block.users == 0])
