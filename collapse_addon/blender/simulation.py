"""The facade the CLI and the add-on call: build, bake, read back, report, export.

Everything needed after the build lives in the .blend (JSON and arrays in custom properties of
the scene), so a scene built in one process can be baked, reported on and exported in others.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import bpy
import numpy as np

from ..core import physics
from ..core.errors import CollapseError
from ..core.physics import Glue, SimulationSpec, TriggerSpec
from . import bake as bake_mod
from . import export as export_mod
from . import rigidbody, triggers
from . import scene as scene_mod

META_KEY = "collapse"
FORMAT_VERSION = 1


@dataclass
class CollapseScene:
    """Handle on a collapse built into a Blender scene (all of it recoverable from the .blend)."""

    scene_name: str
    root: str
    bodies: str
    glue_collection: str
    shard_names: list[str]
    glue_names: list[str]
    ground: str
    ball: str | None
    anchors: int
    trigger_type: str
    trigger_frame: int | None
    trigger_speed: float
    kicked: int
    unglued: int
    frame_start: int
    frame_end: int
    fps: int
    time_scale: float
    gravity: float
    roof_height: float
    ground_height: float
    plan_centre: list[float]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def scene(self) -> bpy.types.Scene:
        return bpy.data.scenes[self.scene_name]

    @property
    def shard_count(self) -> int:
        return len(self.shard_names)

    @property
    def constraint_count(self) -> int:
        return len(self.glue_names)

    def shard_objects(self) -> list[bpy.types.Object]:
        # one pass over bpy.data.objects: a lookup by name scans the list (3,000 shards took 0.25 s)
        by_name: dict[str, bpy.types.Object] = {}
        for obj in bpy.data.objects:
            by_name.setdefault(obj.name, obj)  # the first of a name, as objects[name] gives
        return [by_name[name] for name in self.shard_names]

    def save(self) -> None:
        """Write the handle into the scene's custom properties."""
        self.scene[META_KEY] = json.dumps(asdict(self))

    @classmethod
    def from_scene(cls, scene: bpy.types.Scene | None = None) -> CollapseScene:
        scene = scene or bpy.context.scene
        if META_KEY not in scene:
            raise CollapseError(f"scene '{scene.name}' holds no collapse (build one first)")
        data = json.loads(scene[META_KEY])
        data["scene_name"] = scene.name
        return cls(**data)


def find_collapse(scene) -> CollapseScene | None:
    """The collapse built into ``scene``, or None (none built, or its stored data unreadable)."""
    if META_KEY not in scene.keys():
        return None
    try:
        return CollapseScene.from_scene(scene)
    except (CollapseError, KeyError, TypeError, ValueError):
        return None


def is_baked(scene) -> bool:
    """True when the scene's rigid-body simulation is baked (render then only reads the cache),
    or its actor bake is keyed."""
    if scene.get("collapse_actor_baked"):
        return True
    world = scene.rigidbody_world
    return world is not None and world.point_cache is not None and world.point_cache.is_baked


@dataclass
class BakeResult:
    """Wall-clock of a bake and the frames it covered."""

    seconds: float
    frame_start: int
    frame_end: int

    @property
    def frames(self) -> int:
        return self.frame_end - self.frame_start + 1


def _handle(obj) -> CollapseScene:
    if isinstance(obj, CollapseScene):
        return obj
    return CollapseScene.from_scene(obj)


def _store_array(scene, key: str, values: np.ndarray) -> None:
    scene[key] = np.asarray(values).ravel().tolist()


def _load_array(scene, key: str, dtype, shape=(-1,)) -> np.ndarray:
    return np.array(scene[key], dtype=dtype).reshape(shape)


def create_ground_plane(name: str, building, sim: SimulationSpec, collection):
    """The passive ground box under the building: wide enough for the debris (``sim.ground_size``
    or six times the plan's diagonal), its top face at the building's base."""
    lo, hi = building.lo, building.hi
    centre = physics.building_plan_centre(building)
    extent = float(np.linalg.norm(hi[:2] - lo[:2]))
    size = sim.ground_size or max(50.0, 6.0 * extent + 4.0 * float(hi[2]))
    return scene_mod.create_box_object(f"{name} ground plane", (size, size, 1.0),
                                       (centre[0], centre[1], float(lo[2]) - 0.5), collection)


def build_collapse_scene(building, shards, sim: SimulationSpec, trigger: TriggerSpec, *,
                         scene=None, materials=None, source_objects=()) -> CollapseScene:
    """Assemble shards, ground, glue and trigger in ``scene`` (default: the context scene).

    ``source_objects`` (the user's original meshes, if any) are hidden, never removed.
    Raises ``SpecError`` when the trigger does not fit the simulated frames, and ``CollapseError``
    when the scene already holds a collapse.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    scene = scene or bpy.context.scene
    if META_KEY in scene:
        raise CollapseError(f"scene '{scene.name}' already holds a collapse; build into a new scene")
    if sim.solver == "actors":  # no rigid-body world: the actor bake writes keyframes
        from .actors import build_actor_scene

        return build_actor_scene(building, shards, sim, trigger, scene=scene, materials=materials,
                                 source_objects=source_objects)
    physics.validate_trigger_timing(sim, trigger)
    masses = physics.shard_masses(building, shards)
    passive = physics.anchor_mask(building, shards)
    glue = physics.plan_glue(building, shards, sim, masses, passive)
    plan = physics.plan_trigger(building, shards, sim, trigger, glue, passive)
    timings["plan_s"] = time.perf_counter() - t0

    t = time.perf_counter()
    root = bpy.data.collections.new(scene_mod.ROOT_NAME)
    scene.collection.children.link(root)
    building_coll = scene_mod.new_collection(f"{root.name} building", root)
    glue_coll = scene_mod.new_collection(f"{root.name} glue", root)
    props_coll = scene_mod.new_collection(f"{root.name} ground", root)
    # operators first, while the scene is small (an operator's cost grows with the scene)
    world = rigidbody.ensure_world(scene, sim, f"{root.name} bodies", glue_coll)
    if plan.pulverized:
        triggers.add_waker(scene, props_coll, physics.building_plan_centre(building), plan.frame)
    shard_objects = scene_mod.create_shard_objects(building, shards, building_coll, materials)
    scene_mod.hide_originals(source_objects)
    timings["meshes_s"] = time.perf_counter() - t

    t = time.perf_counter()
    ground = create_ground_plane(root.name, building, sim, props_coll)
    ball = None
    if plan.ball is not None:
        ball = scene_mod.create_sphere_object(f"{root.name} ball", plan.ball["radius"],
                                              plan.ball["start"], props_coll)
    rigidbody.add_bodies(scene, shard_objects + [ground] + ([ball] if ball else []))
    animated = passive.copy()
    animated[plan.kicked] = True
    in_unglue = np.zeros(glue.count, bool)
    in_unglue[plan.unglue] = True
    if sim.glue_on_shards:
        hosts = physics.constraint_hosts(glue.pairs, shards.count, animated, in_unglue)
    else:
        hosts = np.full(glue.count, -1, np.int64)
    glue_holders = rigidbody.create_glue_holders(glue, glue_coll, shard_objects, hosts)
    timings["link_s"] = time.perf_counter() - t
    t = time.perf_counter()
    # Bullet's world is built at the bake's first frame, not while Blender makes the settings
    world.enabled = False
    bpy.context.view_layer.update()
    timings["update_s"] = time.perf_counter() - t

    t = time.perf_counter()
    rigidbody.configure_shard_bodies(shard_objects, building, shards, masses, passive, sim)
    rigidbody.configure_ground(ground, sim)
    if ball is not None:
        rb = ball.rigid_body
        rb.type = "ACTIVE"
        rb.collision_shape = "SPHERE"
        rb.mass = float(plan.ball["mass"])
        rb.friction = 0.5
        rb.restitution = 0.1
    rigidbody.configure_glue(glue_holders, glue, shard_objects)
    timings["configure_s"] = time.perf_counter() - t

    t = time.perf_counter()
    anchors = [shard_objects[int(s)] for s in np.nonzero(passive)[0]]
    triggers.apply_trigger(plan, shard_objects, glue_holders, sim, ball=ball,
                           ground_objects=[ground] + anchors)
    world.enabled = True
    timings["trigger_s"] = time.perf_counter() - t

    _store_array(scene, "collapse_masses", masses)
    _store_array(scene, "collapse_passive", passive.astype(np.int32))
    _store_array(scene, "collapse_glue_pairs", glue.pairs.astype(np.int32))
    _store_array(scene, "collapse_glue_pivots", glue.centroid)
    # break events (blender/events.py): the face normal of every bond, the material of every shard
    _store_array(scene, "collapse_glue_normals", shards.contacts.normal[glue.contact])
    scene["collapse_shard_materials"] = physics.shard_material_names(building, shards)
    handle = CollapseScene(
        scene_name=scene.name, root=root.name, bodies=world.collection.name,
        glue_collection=glue_coll.name, shard_names=[o.name for o in shard_objects],
        glue_names=[e.name for e in glue_holders], ground=ground.name,
        ball=ball.name if ball else None, anchors=int(passive.sum()),
        trigger_type=plan.type, trigger_frame=None if plan.type == "none" else plan.frame,
        trigger_speed=float(plan.max_speed), kicked=int(len(plan.kicked)),
        unglued=int(len(plan.unglue)), frame_start=sim.frame_start, frame_end=sim.frame_end,
        fps=sim.fps, time_scale=sim.time_scale, gravity=sim.gravity,
        roof_height=float(building.hi[2]), ground_height=0.0, plan_centre=[float(v) for v in physics.building_plan_centre(building)],
        timings=timings)
    timings["assembly_s"] = time.perf_counter() - t0
    scene["collapse_sim"] = json.dumps(asdict(sim))
    scene["collapse_trigger"] = json.dumps(asdict(trigger))
    handle.save()
    return handle


def stored_specs(scene) -> tuple[SimulationSpec, TriggerSpec]:
    """The SimulationSpec and TriggerSpec a stored collapse was built with."""
    sim = json.loads(scene["collapse_sim"])
    sim.setdefault("solver", "glue")  # files built before the actor solver existed
    trig = json.loads(scene["collapse_trigger"])
    for key in ("demolition_storeys", "demolition_kinds"):
        trig[key] = tuple(trig[key])
    return SimulationSpec(**sim), TriggerSpec(**trig)


def bake_collapse(handle_or_scene=None, progress: Callable[[int, int], None] | None = None) -> BakeResult:
    """Bake the collapse's rigid-body cache (frees an older bake first)."""
    handle = _handle(handle_or_scene)
    scene = handle.scene
    seconds = bake_mod.bake_point_cache(scene, progress)
    handle.timings["bake_s"] = seconds
    handle.save()
    return BakeResult(seconds, handle.frame_start, handle.frame_end)


def baked_transforms(handle_or_scene=None, frames=None) -> tuple[np.ndarray, np.ndarray]:
    """Positions (F, S, 3) and rotation matrices (F, S, 3, 3) of every shard at ``frames``.

    Default: every simulated frame. Positions are the shards' centroids (their origins).
    """
    handle = _handle(handle_or_scene)
    frames = range(handle.frame_start, handle.frame_end + 1) if frames is None else frames
    return bake_mod.read_transforms(handle.scene, handle.shard_objects(), frames)


def _local_vertices(handle: CollapseScene) -> dict:
    """Every shard's corners around its origin (its centroid), read from the meshes."""
    chunks, owners = [], []
    for s, obj in enumerate(handle.shard_objects()):
        vertices = obj.data.vertices
        co = np.empty(len(vertices) * 3, np.float32)
        vertices.foreach_get("co", co)
        chunks.append(co.reshape(-1, 3))
        owners.append(np.full(len(vertices), s))
    return {"local_vertices": np.concatenate(chunks).astype(float),
            "vertex_shard": np.concatenate(owners)}


def collapse_report(handle_or_scene=None, positions=None, rotations=None) -> dict:
    """The JSON-ready collapse report of a baked scene (see ``core.physics.report_from_transforms``)."""
    handle = _handle(handle_or_scene)
    scene = handle.scene
    if positions is None or rotations is None:
        t = time.perf_counter()
        positions, rotations = baked_transforms(handle)
        handle.timings["read_transforms_s"] = time.perf_counter() - t
    sim, _trigger = stored_specs(scene)
    glue = Glue(pairs=_load_array(scene, "collapse_glue_pairs", np.int64, (-1, 2)), contact=np.zeros(0),
                centroid=_load_array(scene, "collapse_glue_pivots", float, (-1, 3)), area=np.zeros(0),
                strength=np.zeros(0), static_load=np.zeros(0), threshold=np.zeros(0))
    report = physics.report_from_transforms(
        positions, rotations, masses=_load_array(scene, "collapse_masses", float),
        passive=_load_array(scene, "collapse_passive", np.int32).astype(bool), glue=glue, sim=sim,
        trigger_frame=handle.trigger_frame, trigger_speed=handle.trigger_speed,
        roof_height=handle.roof_height, ground_height=handle.ground_height,
        plan_centre=np.array(handle.plan_centre), **_local_vertices(handle))
    report["trigger"] = {"type": handle.trigger_type, "frame": handle.trigger_frame,
                         "speed_m_s": handle.trigger_speed, "kicked_shards": handle.kicked,
                         "glue_switched_off": handle.unglued}
    report["anchors"] = handle.anchors
    report["wall_clock_s"] = dict(handle.timings)
    return report


def _export_objects(handle: CollapseScene, include_ball: bool) -> list:
    objects = handle.shard_objects()
    if include_ball and handle.ball:
        objects.append(bpy.data.objects[handle.ball])
    return objects


def export_alembic(path, handle_or_scene=None, *, include_ball: bool = True,
                   frame_start: int | None = None, frame_end: int | None = None) -> Path:
    """Write the baked shards (and the ball) to an Alembic file; returns its path.

    Only the shards are exported (no glue empties: they would double the file and the time).
    """
    handle = _handle(handle_or_scene)
    return export_mod.export_alembic(path, handle.scene, _export_objects(handle, include_ball),
                                     frame_start or handle.frame_start, frame_end or handle.frame_end)


def export_usd(path, handle_or_scene=None, *, include_ball: bool = True,
               frame_start: int | None = None, frame_end: int | None = None) -> Path:
    """Write the baked shards (and the ball) to a USD file (.usdc/.usda/.usd); returns its path."""
    handle = _handle(handle_or_scene)
    return export_mod.export_usd(path, handle.scene, _export_objects(handle, include_ball),
                                 frame_start or handle.frame_start, frame_end or handle.frame_end)
