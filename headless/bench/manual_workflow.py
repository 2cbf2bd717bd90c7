"""The manual baseline: the same collapse shot made the way an artist makes it in Blender's UI.

Every step is a stock Blender operator (``bpy.ops``), called in the order and at the granularity an
artist clicks it, with no Collapse code inside the timed work. See ``docs/benchmark.md`` for each
step and why it is what an artist would do. The steps:

1. building  -- per element: Add > Mesh > Cube at the element's place and size; give it its material.
2. fracture  -- per element, per Voronoi cell: select the element, Shift+D (duplicate), Tab, and for
   each face of the cell: A (select all), Mesh > Bisect with *Clear Outer* and *Fill*; Tab back.
   This is what Blender's Cell Fracture add-on computes (a cell is its element cut by the bisector
   plane of each neighbouring seed, ``fracture_cell_calc.points_as_bmesh_cells``); the add-on is
   not bundled with bpy 5.0.1, so the artist does the cuts with the stock Bisect tool. Then the
   originals are hidden (H) and every shard gets Set Origin > Origin to Center of Mass (Volume).
3. assembly  -- Object > Rigid Body > Add Active (shards) / Add Passive (foundation, ground);
   Calculate Mass and Copy from Active per material; per shard, select its touching neighbours and
   the shard and Object > Rigid Body > Connect (Fixed); per glue group, select the constraints and
   set Breakable + threshold, untick Disable Collisions (Alt+Enter to all); keyframe the trigger
   (the supports' constraints switched off, the supports keyed Animated and moved out); world
   substeps, iterations and frame range; camera, sun.
4. bake      -- Scene > Rigid Body World > Cache > Bake All Dynamics (``ptcache.bake_all``).
5. render    -- Render > Render Animation (``render.render(animation=True)``), PNG frames.
6. finalize  -- a preview movie: the Video Sequencer with the frames as an image strip, rendered as
   an H.264 MP4 (what an artist does to make a preview without another tool).

The benchmark (``headless/bench/processes.py``) runs its stages in fresh processes through
``run_stage``; by hand, one stage per process:
``python bench/manual_workflow.py STAGE SHOT.json IN.blend OUT.blend RESULT.json``. The shot file is
the benchmark's plain-data description of the shot (building, fracture, simulation, render).

Which pieces touch (for the Connect step) and the seed points (for the cuts) come from the same
scene as Collapse's: the artist's eyes and the particle system they would scatter. Computing them is
not timed, which favours the baseline.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from collapse_addon.core.voronoi import mirrored_seeds
from headless.bench.probes import peak_rss_bytes, reset_peak_rss

STAGES = ("building", "fracture", "assembly", "bake", "render", "finalize")


class Actions:
    """Counts the UI actions the replay performs, by kind (see ``headless/bench/artist_time.py``)."""

    def __init__(self):
        self.counts: Counter[str] = Counter()

    def __call__(self, kind: str, n: int = 1) -> None:
        self.counts[kind] += n


# ---------------------------------------------------------------------------------------------
# Shot data shared with the benchmark (plain numbers; never timed)


def shot_building(shot: dict):
    from collapse_addon.core.building import BuildingSpec, generate_building

    return generate_building(BuildingSpec(**shot["building"]))


def shot_seeds(shot: dict, building) -> list[np.ndarray]:
    """The Voronoi seeds of every element, exactly as Collapse's fracture draws them."""
    from collapse_addon.core.seeds import (
        FractureSpec,
        allocate_cells,
        element_generators,
        sample_seeds,
    )

    spec = FractureSpec(**shot["fracture"])
    lo = np.array([e.lo for e in building.elements])
    hi = np.array([e.hi for e in building.elements])
    breakable = np.array([e.kind != "foundation" for e in building.elements])
    counts = np.ones(len(lo), dtype=np.int64)
    counts[breakable] = allocate_cells(spec, lo[breakable], hi[breakable])
    rngs = element_generators(spec.seed, len(lo))
    return [sample_seeds(spec, lo[i], hi[i], int(counts[i]), rngs[i]) if breakable[i]
            else (0.5 * (lo[i] + hi[i]))[None] for i in range(len(lo))]


def cell_neighbours(seeds: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[list[int]]:
    """For each seed, the seeds whose bisector plane bounds its cell inside the box.

    scipy's Voronoi of the seeds and their mirror images across the six box faces: a ridge between
    two real seeds is a face of both box-clipped cells (ridges to mirrors are the box's own faces,
    which the duplicated element already has).
    """
    from scipy.spatial import Voronoi

    n = len(seeds)
    if n == 1:
        return [[]]
    ridges = Voronoi(mirrored_seeds(seeds, lo, hi)).ridge_points
    ridges = ridges[(ridges < n).all(1)]
    out: list[list[int]] = [[] for _ in range(n)]
    for a, b in ridges:
        out[a].append(int(b))
        out[b].append(int(a))
    return out


def glue_groups(shot: dict, building):
    """Constraint pairs (global shard indices) and one breaking threshold per glue group.

    The artist sets one threshold per group (a material inside an element, or a material pair
    across elements): the bond strength x the group's mean contact area over one Bullet step, or,
    where larger, what keeps the building standing (the group's share of the building's weight,
    with the same safety factor Collapse uses) -- an artist raises the value until it stands.
    """
    from collapse_addon.core.fracture import fracture_building
    from collapse_addon.core.materials import material
    from collapse_addon.core.seeds import FractureSpec

    shards = fracture_building(building, FractureSpec(**shot["fracture"]))
    graph = shards.contacts
    mats = [e.material for e in building.elements]
    el = shards.element
    sim = shot["simulation"]
    dt = sim.get("time_scale", 1.0) / (sim["fps"] * sim["substeps"])
    groups: dict[tuple, list[int]] = {}
    for k, (a, b) in enumerate(graph.pairs):
        ma, mb = sorted((mats[el[a]], mats[el[b]]))
        groups.setdefault((ma, mb, bool(graph.cross_element[k])), []).append(k)
    density = np.array([material(mats[e]).density for e in el])
    weight = float((shards.volume * density)[np.array([building.elements[e].kind != "foundation"
                                                        for e in el])].sum()) * 9.81
    ground = np.array([building.elements[el[a]].kind == "foundation" for a in graph.pairs[:, 0]])
    standing = sim.get("glue_load_safety", 4.0) * weight * dt / max(1, int(ground.sum()))
    thresholds = {}
    for key, rows in groups.items():
        ma, mb, cross = key
        strength = min(material(ma).bond_strength, material(mb).bond_strength)
        if cross:
            strength *= min(material(ma).interface_factor, material(mb).interface_factor)
        thresholds[key] = float(max(strength * graph.area[rows].mean() * dt, standing))
    return shards, graph.pairs, groups, thresholds, weight


def manual_shot_summary(shot: dict):
    """The counts the artist-time model needs (``artist_time.ManualShot``), without bpy."""
    from headless.bench.artist_time import ManualShot

    building = shot_building(shot)
    seeds = shot_seeds(shot, building)
    _, pairs, groups, _, _ = glue_groups(shot, building)
    fractured = [i for i, (e, pts) in enumerate(zip(building.elements, seeds, strict=True))
                 if e.kind != "foundation" and len(pts) > 1]
    planes = sum(len(n) for i in fractured
                 for n in cell_neighbours(seeds[i], building.elements[i].lo, building.elements[i].hi))
    later = np.bincount(pairs[:, 0], minlength=sum(len(s) for s in seeds)) if len(pairs) else np.zeros(1)
    trig = shot["simulation"]["trigger"]
    supports = {i for i, e in enumerate(building.elements)
                if e.kind in set(trig.get("demolition_kinds", ["column"]))
                and e.storey in set(trig.get("demolition_storeys", [0]))}
    anchors = [i for i, e in enumerate(building.elements) if e.kind == "foundation"]
    movers = {building.elements[i].material for i, e in enumerate(building.elements) if e.kind != "foundation"}
    return ManualShot(
        elements=len(building.elements), fractured_elements=len(fractured),
        cells=sum(len(seeds[i]) for i in fractured), planes=int(planes),
        connect_shards=int((later > 0).sum()), connect_clicks=int(later.sum()),
        glue_groups=len(groups), materials=len({e.material for e in building.elements}),
        active_materials=len(movers), support_shards=sum(len(seeds[i]) for i in supports),
        anchors=len(anchors), workbench=shot["render"]["engine"] == "BLENDER_WORKBENCH")


# ---------------------------------------------------------------------------------------------
# Stages


def _select_only(bpy, objects, active=None, actions: Actions | None = None):
    """Alt+A, then click each object (shift-click after the first); the last click is active."""
    bpy.ops.object.select_all(action="DESELECT")
    for ob in objects:
        ob.select_set(True)
    if active is not None:
        active.select_set(True)
        bpy.context.view_layer.objects.active = active
    elif objects:
        bpy.context.view_layer.objects.active = objects[-1]
    if actions is not None:
        actions("shortcut")
        actions("click_select", len(objects) + (active is not None))


def stage_building(bpy, shot: dict, actions: Actions) -> None:
    """Model the building: one cube per element, sized and placed, with its material."""
    building = shot_building(shot)
    from collapse_addon.core.materials import material

    mats = {}
    for name in sorted({e.material for e in building.elements}):
        m = bpy.data.materials.new(name)  # Material Properties > New, rename
        m.diffuse_color = material(name).color
        mats[name] = m
        actions("menu_operator")
        actions("type_text")
        actions("property_edit")  # base colour
    for e in building.elements:
        # Shift+A > Mesh > Cube; type location (3 fields) and size (3 fields) in the redo panel.
        bpy.ops.mesh.primitive_cube_add(size=1.0, location=tuple(e.centroid), scale=tuple(e.size))
        ob = bpy.context.active_object
        ob.name = e.name  # F2, type the name
        ob.data.materials.append(mats[e.material])  # material slot: browse, pick
        actions("add_primitive")
        actions("type_value", 6)
        actions("type_text")
        actions("click_select", 2)
    # A ground plane under the foundation, as a passive collider.
    lo, hi = building.lo, building.hi
    size = 4.0 * float(max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]))
    bpy.ops.mesh.primitive_plane_add(size=size, location=(0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1]), lo[2]))
    bpy.context.active_object.name = "Ground"
    actions("add_primitive")
    actions("type_value", 4)
    actions("type_text")


def stage_fracture(bpy, shot: dict, actions: Actions) -> None:
    """Cut every element into its Voronoi cells with Duplicate + Bisect (Clear Outer, Fill)."""
    building = shot_building(shot)
    seeds = shot_seeds(shot, building)
    shards = []
    for e, pts in zip(building.elements, seeds, strict=True):
        source = bpy.data.objects[e.name]
        if e.kind == "foundation" or len(pts) == 1:
            shards.append(source)  # stays whole
            continue
        neighbours = cell_neighbours(pts, e.lo, e.hi)
        for i, p in enumerate(pts):
            _select_only(bpy, [source], actions=actions)
            bpy.ops.object.duplicate()  # Shift+D, right-click to drop in place
            actions("shortcut", 2)
            cell = bpy.context.active_object
            cell.name = f"{e.name}_cell"
            bpy.ops.object.mode_set(mode="EDIT")  # Tab
            actions("shortcut")
            for j in neighbours[i]:
                q = pts[j]
                bpy.ops.mesh.select_all(action="SELECT")  # A
                # A unit normal: Mesh > Bisect misplaces the cut when given a longer one.
                normal = (q - p) / np.linalg.norm(q - p)
                bpy.ops.mesh.bisect(plane_co=tuple(0.5 * (p + q)), plane_no=tuple(normal),
                                    use_fill=True, clear_outer=True)
                actions("shortcut")
                actions("bisect")
            bpy.ops.object.mode_set(mode="OBJECT")  # Tab
            actions("shortcut")
            shards.append(cell)
        _select_only(bpy, [source], actions=actions)
        # H (object.hide_view_set needs a 3D viewport, absent headless; hide_set is what it does)
        source.hide_set(True)
        source.hide_render = True
        actions("shortcut")
    pieces = [s for s, e in zip(shards, _shard_elements(shot, building), strict=True)
              if building.elements[e].kind != "foundation"]
    _select_only(bpy, pieces, actions=None)
    actions("shortcut")  # A (everything visible: the shards)
    bpy.ops.object.origin_set(type="ORIGIN_CENTER_OF_VOLUME")  # Object > Set Origin
    actions("menu_operator")
    # Remember the shards' order for the next stages (an artist would see it in the outliner).
    bpy.context.scene["manual_shards"] = [s.name for s in shards]


def stage_assembly(bpy, shot: dict, actions: Actions) -> None:
    """Rigid bodies, masses, glue constraints, thresholds, trigger, world, camera and light."""
    from collapse_addon.core.materials import material

    building = shot_building(shot)
    _, pairs, groups, thresholds, weight = glue_groups(shot, building)
    scene = bpy.context.scene
    names = list(scene["manual_shards"])
    shards = [bpy.data.objects[n] for n in names]
    element_of = _shard_elements(shot, building)
    anchors = [s for s, e in zip(shards, element_of, strict=True) if building.elements[e].kind == "foundation"]
    movers = [s for s, e in zip(shards, element_of, strict=True) if building.elements[e].kind != "foundation"]
    ground = bpy.data.objects["Ground"]
    sim = shot["simulation"]

    _select_only(bpy, movers, actions=None)
    actions("shortcut")  # A, then ctrl-click the foundation off
    actions("click_select")
    bpy.ops.rigidbody.objects_add(type="ACTIVE")
    actions("menu_operator")
    _select_only(bpy, anchors + [ground], actions=actions)
    bpy.ops.rigidbody.objects_add(type="PASSIVE")
    actions("menu_operator")

    # Per material: select its shards (Select Linked > Material), set the active one's physics,
    # Calculate Mass with the material's density, Copy from Active.
    by_material: dict[str, list] = {}
    for s, e in zip(shards, element_of, strict=True):
        if building.elements[e].kind != "foundation":
            by_material.setdefault(building.elements[e].material, []).append(s)
    for name, objs in by_material.items():
        m = material(name)
        _select_only(bpy, objs, active=objs[0], actions=None)
        actions("click_select")
        actions("menu_operator")  # Shift+L > Material
        rb = objs[0].rigid_body
        rb.friction, rb.restitution = m.friction, m.restitution
        rb.linear_damping, rb.angular_damping = m.linear_damping, m.angular_damping
        actions("type_value", 4)
        bpy.ops.rigidbody.mass_calculate(material="Custom", density=m.density)
        actions("menu_operator")
        actions("type_value")
        bpy.ops.rigidbody.object_settings_copy()
        actions("menu_operator")

    # Glue: per shard, its not yet connected neighbours, then Connect (Fixed, pivot at centre).
    before = set(bpy.data.objects.keys())
    later: dict[int, list[int]] = {}
    for a, b in pairs:
        later.setdefault(int(a), []).append(int(b))
    for a in sorted(later):
        _select_only(bpy, [shards[b] for b in later[a]], active=shards[a], actions=actions)
        bpy.ops.rigidbody.connect(con_type="FIXED", pivot_type="CENTER",
                                  connection_pattern="SELECTED_TO_ACTIVE")
        actions("menu_operator")
    constraints = {}
    for ob in bpy.data.objects:
        if ob.name not in before and ob.rigid_body_constraint is not None:
            con = ob.rigid_body_constraint
            key = tuple(sorted((names.index(con.object1.name), names.index(con.object2.name))))
            constraints[key] = ob
    # Breakable + threshold per glue group: select the group's constraints, edit the active one,
    # Alt+Enter copies the values to all selected (the replay sets each, as that button does).
    for key, rows in groups.items():
        group = [constraints[(int(pairs[k][0]), int(pairs[k][1]))] for k in rows]
        _select_only(bpy, group[:1], actions=None)
        actions("shortcut")
        actions("click_select")
        actions("menu_operator")  # Select Grouped / Select Pattern for the group's constraints
        for ob in group:
            con = ob.rigid_body_constraint
            con.use_breaking = True
            con.breaking_threshold = thresholds[key]
            # Connect leaves Disable Collisions on: broken glue would let shards pass through
            # each other (Bullet keeps ignoring the pair), so the artist unticks it.
            con.disable_collisions = False
        actions("property_edit", 2)
        actions("type_value")
        actions("shortcut")  # Alt+Enter
        del key

    _keyframe_trigger(bpy, shot, building, shards, element_of, constraints, weight, actions)

    world = scene.rigidbody_world
    world.substeps_per_frame = sim["substeps"]
    world.solver_iterations = sim["iterations"]
    world.point_cache.frame_start = sim["frame_start"]
    world.point_cache.frame_end = sim["frame_end"]
    scene.frame_start, scene.frame_end = sim["frame_start"], sim["frame_end"]
    scene.render.fps = sim["fps"]
    actions("type_value", 6)
    _camera_and_light(bpy, shot, building, actions)


def _shard_elements(shot: dict, building) -> list[int]:
    seeds = shot_seeds(shot, building)
    return [i for i, pts in enumerate(seeds) for _ in range(len(pts))]


def _keyframe_trigger(bpy, shot, building, shards, element_of, constraints, weight, actions) -> None:
    """Demolition: the supports' glue switched off at the trigger frame, the supports knocked out.

    Blender gives rigid bodies no start velocity, so the stock way to kick pieces is to animate
    them: the supports' shards are keyed Animated (kinematic) at the trigger, moved outwards over
    the next frames, and handed back to Bullet; their constraints' Enabled box is keyed off at the
    trigger. One I-key press keys the whole selection.
    """
    trig = shot["simulation"]["trigger"]
    frame = int(trig["frame"])
    storeys = set(trig.get("demolition_storeys", [0]))
    kinds = set(trig.get("demolition_kinds", ["column"]))
    supports = {i for i, e in enumerate(building.elements) if e.kind in kinds and e.storey in storeys}
    support_shards = [k for k, e in enumerate(element_of) if e in supports]
    support_set = set(support_shards)
    cut = [ob for (a, b), ob in constraints.items() if a in support_set or b in support_set]
    _select_only(bpy, cut[:1], actions=None)
    actions("shortcut")
    actions("click_select", 1)
    actions("menu_operator")  # select the supports' constraints (Select Grouped)
    for ob in cut:
        con = ob.rigid_body_constraint
        con.enabled = True
        con.keyframe_insert("enabled", frame=frame - 1)
        con.enabled = False
        con.keyframe_insert("enabled", frame=frame)
    actions("keyframe", 2)
    actions("property_edit", 2)
    centre = 0.5 * (building.lo + building.hi)
    travel = float(trig.get("kick_distance", 1.0))
    movers = [shards[k] for k in support_shards]
    _select_only(bpy, movers, actions=actions)
    for ob in movers:
        rb = ob.rigid_body
        start = ob.location.copy()
        out = np.array([start.x - centre[0], start.y - centre[1], 0.0])
        out = out / max(1e-9, float(np.linalg.norm(out))) * travel
        rb.kinematic = False
        rb.keyframe_insert("kinematic", frame=frame - 1)
        rb.kinematic = True
        rb.keyframe_insert("kinematic", frame=frame)
        ob.keyframe_insert("location", frame=frame)
        ob.location = (start.x + out[0], start.y + out[1], start.z)
        ob.keyframe_insert("location", frame=frame + 3)
        rb.keyframe_insert("kinematic", frame=frame + 3)
        rb.kinematic = False
        rb.keyframe_insert("kinematic", frame=frame + 4)
        ob.location = start
    actions("keyframe", 6)  # Animated on/off keys, location keys
    actions("property_edit", 3)
    actions("shortcut", 2)  # G, type the distance
    actions("type_value", 1)


def _camera_and_light(bpy, shot, building, actions) -> None:
    """A camera looking at the building from the south-east, a sun; render settings."""
    from mathutils import Vector

    lo, hi = Vector(building.lo), Vector(building.hi)
    centre = (lo + hi) / 2
    extent = (hi - lo).length
    eye = centre + Vector((0.9, -1.6, 0.7)) * extent
    bpy.ops.object.camera_add(location=eye)
    cam = bpy.context.active_object
    cam.rotation_euler = (centre - eye).to_track_quat("-Z", "Y").to_euler()
    bpy.context.scene.camera = cam
    bpy.ops.object.light_add(type="SUN", location=centre + Vector((0, 0, extent)))
    bpy.context.active_object.data.energy = 3.0
    actions("add_primitive", 2)
    actions("type_value", 8)
    render = shot["render"]
    r = bpy.context.scene.render
    r.engine = render["engine"]
    r.resolution_x, r.resolution_y = render["resolution"]
    r.resolution_percentage = 100
    r.image_settings.file_format = "PNG"
    actions("property_edit", 2)
    actions("type_value", 3)
    if render["engine"] == "BLENDER_WORKBENCH":
        # The same look as Collapse's shot: anti-aliasing samples, material colours, shadows and
        # cavity (Render Properties > Sampling, Lighting, Color, Options).
        from collapse_addon import api

        scene = bpy.context.scene
        scene.display.render_aa = api.workbench_aa(int(render.get("samples", 16)))
        shading = scene.display.shading
        shading.light = "STUDIO"
        shading.color_type = "MATERIAL"
        shading.show_shadows = True
        shading.show_cavity = True
        shading.cavity_type = "WORLD"
        actions("property_edit", 5)


def stage_bake(bpy, shot: dict, actions: Actions) -> None:
    """Bake All Dynamics."""
    bpy.ops.ptcache.bake_all(bake=True)
    actions("menu_operator")


def stage_render(bpy, shot: dict, actions: Actions, out_dir: Path) -> None:
    """Render Animation to numbered PNG frames."""
    scene = bpy.context.scene
    scene.render.filepath = str(out_dir / "frames" / "frame_")
    actions("type_text")
    bpy.ops.render.render(animation=True)
    actions("menu_operator")


def stage_finalize(bpy, shot: dict, actions: Actions, out_dir: Path) -> None:
    """Preview movie: the frames as an image strip in the Video Sequencer, rendered to MP4."""
    frames = sorted((out_dir / "frames").glob("frame_*.png"))
    if not frames:
        raise RuntimeError(f"no frames in {out_dir / 'frames'}: render first")
    scene = bpy.data.scenes.new("Preview")  # New scene, Video Editing workspace
    bpy.context.window.scene = scene
    res = shot["render"]["resolution"]
    scene.render.resolution_x, scene.render.resolution_y = res
    scene.render.resolution_percentage = 100
    scene.render.fps = shot["simulation"]["fps"]
    editor = scene.sequence_editor_create()
    from collapse_addon.api import sequencer_strips, set_media_type

    strips = sequencer_strips(editor)
    strip = strips.new_image("frames", str(frames[0]), channel=1, frame_start=1)
    for f in frames[1:]:
        strip.elements.append(f.name)
    scene.frame_start, scene.frame_end = 1, len(frames)
    set_media_type(scene.render.image_settings, "VIDEO")
    scene.render.image_settings.file_format = "FFMPEG"
    scene.render.ffmpeg.format = "MPEG4"
    scene.render.ffmpeg.codec = "H264"
    scene.render.filepath = str(out_dir / "preview.mp4")
    actions("menu_operator", 3)  # new scene, Add > Image/Sequence, select all frames
    actions("property_edit", 4)
    actions("type_text")
    bpy.ops.render.render(animation=True)
    actions("menu_operator")


# ---------------------------------------------------------------------------------------------
# One stage per process


def run_stage(stage: str, shot: dict, blend_in: str | None, blend_out: str | None,
              out_dir: Path) -> dict:
    """Open ``blend_in`` (or factory settings), run ``stage``, save ``blend_out``.

    Returns the stage's own timings (work, load, save; wall and CPU) and the actions it took.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")
    os.environ.setdefault("BLENDER_USER_EXTENSIONS", tempfile.mkdtemp(prefix="collapse-ext-"))
    t0 = time.perf_counter()
    import bpy

    if blend_in:
        bpy.ops.wm.open_mainfile(filepath=blend_in)
    else:
        bpy.ops.wm.read_factory_settings(use_empty=True)
    load_s = time.perf_counter() - t0
    actions = Actions()
    reset_peak_rss()
    w0, c0 = time.perf_counter(), time.process_time()
    if stage in ("render", "finalize"):
        out_dir.mkdir(parents=True, exist_ok=True)
        globals()[f"stage_{stage}"](bpy, shot, actions, out_dir)
    else:
        globals()[f"stage_{stage}"](bpy, shot, actions)
    work_s, cpu_s = time.perf_counter() - w0, time.process_time() - c0
    peak = peak_rss_bytes()
    t1 = time.perf_counter()
    if blend_out:
        bpy.ops.wm.save_as_mainfile(filepath=blend_out)
    return {"stage": stage, "work_s": work_s, "cpu_s": cpu_s, "load_s": load_s,
            "save_s": time.perf_counter() - t1, "peak_rss_bytes": peak,
            "actions": dict(actions.counts)}


def main(argv: list[str]) -> int:
    if len(argv) != 6:
        print(__doc__)
        print("usage: manual_workflow.py STAGE SHOT.json IN.blend|- OUT.blend|- RESULT.json")
        return 2
    stage, shot_path, blend_in, blend_out, result_path = argv[1:]
    shot = json.loads(Path(shot_path).read_text())
    out_dir = Path(shot["output"]) / "manual"
    result = run_stage(stage, shot, None if blend_in == "-" else blend_in,
                       None if blend_out == "-" else blend_out, out_dir)
    tmp = Path(result_path).with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    os.replace(tmp, result_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
