"""The one API that the headless CLI and the add-on's operators both call.

Scene-level functions work on a Blender scene (the add-on's current scene, or the CLI's):
``build_shot``, ``bake_shot``, ``setup_shot_look``, ``render_shot_frames``. File-level stages
(``build_stage`` ... ``finalize_stage``) wrap them for the CLI's shot folder::

    <out>/<scene>/<seed>/scene.blend   built, then baked (the rigid-body cache lives in it)
                         cache/        Alembic / USD exports of the baked animation
                         frames/       0001.png ...
                         report.json   the collapse report (from the bake)
                         preview.mp4, contact.png, manifest.json (finalize)
                         logs/         one log per task, logs/frames/*.json per-frame records

Everything random follows from ``settings.seed``; the same settings give the same shot.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .core.building import Building, generate_building
from .core.errors import CollapseError, MissingInputError
from .core.fracture import fracture_building
from .core.settings import ShotSettings, resolve_materials, settings_to_dict
from .core.shards import ShardSet
from .core.shotfolder import ShotPaths  # noqa: F401  (the API's name for a shot's files)

Log = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


# ------------------------------------------------------------------------------------ shot folder


# ------------------------------------------------------------------------------------ pure stages


def make_building(settings: ShotSettings) -> Building | None:
    """The procedural building of the shot (None when the shot fractures a mesh)."""
    return None if settings.uses_mesh else generate_building(settings.building)


def make_shards(settings: ShotSettings, building: Building | None,
                log: Log = _quiet) -> tuple[Building, ShardSet]:
    """Fracture the shot's building (or its mesh source) into shards."""
    if building is not None:
        if settings.fracture.stress_refine > 0:  # finer where the structure is loaded
            from .core.refine import stress_refined_fracture
            from .core.trigger_plan import resolve_trigger

            trigger = resolve_trigger(building, settings.trigger)
            return building, stress_refined_fracture(building, settings.fracture, trigger)[0]
        return building, fracture_building(building, settings.fracture)
    return _fracture_mesh_source(settings, log)


def _fracture_mesh_source(settings: ShotSettings, log: Log = _quiet) -> tuple[Building, ShardSet]:
    from .core import mesh_route

    source = settings.mesh
    path = Path(source.path)
    if not path.exists():
        raise MissingInputError(f"mesh.path: {path} does not exist (give the path of the mesh file)")
    blend = _mesh_from_blend(path, source.object) if path.name.lower().endswith(".blend") else None
    return mesh_route.fracture_mesh_file(source, settings.fracture, path, blend_mesh=blend, log=log)


def _mesh_from_blend(path: Path, object_name: str):
    import bpy

    from .blender.scene import world_polygons

    current = bpy.data.filepath and Path(bpy.data.filepath).resolve() == path.resolve()
    if current:  # Blender cannot load from the open file: read the object in place, untouched
        if object_name not in bpy.data.objects:
            raise CollapseError(f"mesh.object: no object {object_name!r} in {path} "
                                f"(objects: {', '.join(bpy.data.objects.keys()[:20])})")
        ob = bpy.data.objects[object_name]
        return world_polygons(ob.data, ob.matrix_world)
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        if object_name not in src.objects:
            raise CollapseError(f"mesh.object: no object {object_name!r} in {path} "
                                f"(objects: {', '.join(src.objects[:20])})")
        dst.objects = [object_name]
    ob = dst.objects[0]
    # An appended object's world matrix is only evaluated once it is in a view layer.
    scene = bpy.context.scene
    scene.collection.objects.link(ob)
    bpy.context.view_layer.update()
    co, faces = world_polygons(ob.data, ob.matrix_world)
    bpy.data.objects.remove(ob)
    return co, faces


# ------------------------------------------------------------------------------ scene-level (bpy)


@contextlib.contextmanager
def material_presets(overrides: dict):
    """Apply the shot's material overrides to the presets for the duration (physics reads the
    presets by name while it plans masses and glue)."""
    from .core import materials as presets

    saved = dict(presets.MATERIALS)
    presets.MATERIALS.update(resolve_materials(overrides))
    try:
        yield presets.MATERIALS
    finally:
        presets.MATERIALS.clear()
        presets.MATERIALS.update(saved)


def build_shot(settings: ShotSettings, *, scene=None, log: Log = _quiet) -> dict:
    """Build the shot in ``scene`` (default: the current one): shards, rigid bodies, glue,
    trigger, camera framed on the building, lights, ground and render settings.

    Returns counts and stage timings.
    """
    import bpy

    from .blender import camera as cam
    from .blender import simulation

    scene = scene or bpy.context.scene
    times = {}
    t = time.perf_counter()
    building = make_building(settings)
    building, shards = make_shards(settings, building, log)
    times["fracture_s"] = time.perf_counter() - t
    log(f"Fractured {len(building.elements)} elements into {shards.count} shards "
        f"({shards.contacts.count} contacts) in {times['fracture_s']:.2f} s")
    t = time.perf_counter()
    with material_presets(settings.materials) as presets:
        materials = cam.shot_materials(presets, sorted({e.material for e in building.elements}))
        handle = simulation.build_collapse_scene(
            building, shards, settings.simulation, settings.trigger, scene=scene,
            materials=materials)
    times["assembly_s"] = time.perf_counter() - t
    log(f"Assembled {handle.shard_count} rigid bodies and {handle.constraint_count} glue "
        f"constraints in {times['assembly_s']:.2f} s")
    scene["collapse_bounds"] = [float(v) for v in (*building.lo, *building.hi)]
    setup_shot_look(settings, scene)
    return {"elements": len(building.elements), "shards": int(shards.count),
            "contacts": int(shards.contacts.count), "constraints": handle.constraint_count,
            **times}


def _bounds(scene) -> tuple[np.ndarray, np.ndarray]:
    values = np.array(scene["collapse_bounds"], float)
    return values[:3], values[3:]


def setup_shot_look(settings: ShotSettings, scene, *, points=None) -> str:
    """Render settings, lights, ground and camera (framed on ``points``, else the building).

    Returns the render device in words.
    """
    from .blender import camera as cam
    from .blender import render as rnd

    lo, hi = _bounds(scene)
    # Build and bake render nothing: a GPU scene is set up on a CPU-only node too (the render
    # stage checks the device).
    device = rnd.configure_render(scene, settings.render, fps=settings.simulation.fps,
                                  seed=settings.seed, check_device=False)
    start, end = settings.frame_range()
    scene.frame_start, scene.frame_end = start, end
    cam.add_lights(scene, settings.lights)
    # The physics ground's top is at the foundation's underside (lo z); a larger visual plane
    # continues it to the horizon.
    cam.add_ground(scene, settings.lights, rnd.ground_size_for(lo, hi), z=float(lo[2]),
                   centre=0.5 * (lo[:2] + hi[:2]))
    if points is None:
        points = cam.box_corners(lo, hi)
    cam.place_camera(scene, settings.camera, points)
    return device


def bake_shot(settings: ShotSettings, *, scene=None, log: Log = _quiet,
              export_dir: Path | None = None, events_path: Path | None = None) -> dict:
    """Bake the rigid-body simulation of a built shot, frame the camera on the debris, export.

    The break events (one per broken bond) become points in the scene (and so in the exports),
    rubble and dust (``[fx]``), and ``events_path`` (break_events.json) when given.
    Returns the collapse report (a JSON-able dict).
    """
    import bpy

    from .blender import simulation

    scene = scene or bpy.context.scene
    frames = settings.simulation.frame_count
    step = max(1, frames // 10)

    def progress(frame: int, end: int) -> None:
        if frame % step == 0 or frame == end:
            log(f"Bake: frame {frame}/{end}")

    if settings.simulation.solver == "actors":
        from .blender import actor_shot

        shot = make_shards(settings, make_building(settings))
        with material_presets(settings.materials):
            report, events, positions, rotations = actor_shot.bake_and_report(
                scene, shot, progress=progress, log=log)
    else:
        from .blender import rough

        rough.detach(scene)  # bake the exact cells alone; apply_shot_fx brings the rough twins back
        result = simulation.bake_collapse(scene, progress=progress)
        log(f"Baked {result.frames} frames in {result.seconds:.2f} s "
            f"({result.seconds / max(1, result.frames):.3f} s/frame)")
        positions, rotations = simulation.baked_transforms(scene)  # read once: report and events
        report = dict(simulation.collapse_report(scene, positions, rotations))
        events = None  # derived from the glue that let go
    apply_shot_fx(settings, scene, report, positions, rotations, events_path, log, events=events)
    if settings.camera.mode == "auto":
        setup_shot_look(settings, scene, points=shot_points(settings, scene))
    if export_dir is not None and (settings.output.alembic or settings.output.usd):
        export_dir.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        written = export_animation(settings, scene, export_dir)
        report.setdefault("wall_clock_s", {})["export_s"] = time.perf_counter() - t
        for path in written:
            log(f"Saved: '{path}'")
    return report


def apply_shot_fx(settings: ShotSettings, scene, report: dict, positions=None, rotations=None,
                  events_path: Path | None = None, log: Log = _quiet, *, events=None) -> dict:
    """Break events of the baked shot (points in the scene, ``events_path``), then rubble and
    dust from them; adds ``break_events``, ``rubble``, ``dust`` and their times to ``report``.

    ``events``: the solver's own break events (the actor solver records them); without them they
    are derived from the glue constraints that let go in Blender's bake."""
    from .blender import events as ev
    from .blender import fx, rough, simulation
    from .core import break_events

    if positions is None or rotations is None:
        positions, rotations = simulation.baked_transforms(scene)
    t = time.perf_counter()
    if events is None:
        events = ev.scene_break_events(scene, positions, rotations)
    ev.add_event_points(scene, events)
    if events_path is not None:
        break_events.write_json(events, events_path)
        log(f"Saved: '{events_path}' ({events.count} break events)")
    events_s = time.perf_counter() - t
    t = time.perf_counter()
    counts = fx.add_shot_fx(scene, events, positions, settings.fx, seed=settings.seed,
                            fps=settings.simulation.fps)
    # render twins (rough cut faces, rebar ends), made after the bake: physics never sees them
    counts.update(rough.attach(scene, settings.fx.rough_rms, seed=settings.seed, events=events,
                               positions=positions, rotations=rotations,
                               rebar_on=settings.fx.rebar))
    report.update({"break_events": events.count, **counts})
    report.setdefault("wall_clock_s", {}).update(
        {"events_s": events_s, "fx_s": time.perf_counter() - t})
    return report


def export_animation(settings: ShotSettings, scene, export_dir: Path) -> list[Path]:
    """Alembic and/or USD of the baked shards (and the ball): written under temporary names."""
    import os

    import bpy

    from .blender import rough, simulation

    handle = simulation.CollapseScene.from_scene(scene)
    objects = handle.shard_objects()
    swapped = rough.swap_in(objects)  # shards with a render twin export its rough mesh
    objects += [bpy.data.objects[handle.ball]] if handle.ball else []
    objects += [ob for ob in scene.objects if ob.get("collapse_role") == "break_events"]
    for ob in scene.objects:
        ob.select_set(False)
    for ob in objects:
        ob.select_set(True)
    start, end = settings.frame_range()
    written = []
    with bpy.context.temp_override(scene=scene, view_layer=scene.view_layers[0]):
        if settings.output.alembic:
            path = export_dir / "collapse.abc"
            tmp = export_dir / f".collapse.{os.getpid()}.abc"
            bpy.ops.wm.alembic_export(filepath=str(tmp), start=start, end=end, selected=True,
                                      flatten=True, export_hair=False, export_particles=False)
            os.replace(tmp, path)
            written.append(path)
        if settings.output.usd:
            path = export_dir / "collapse.usdc"
            tmp = export_dir / f".collapse.{os.getpid()}.usdc"
            bpy.ops.wm.usd_export(filepath=str(tmp), selected_objects_only=True,
                                  export_animation=True)
            os.replace(tmp, path)
            written.append(path)
    for ob in objects:
        ob.select_set(False)
    rough.swap_out(swapped)
    return written


def is_baked(scene) -> bool:
    """True when the scene's rigid-body simulation is baked (render then only reads the cache),
    or its actor bake is keyed."""
    if scene.get("collapse_actor_baked"):
        return True
    world = scene.rigidbody_world
    return world is not None and world.point_cache is not None and world.point_cache.is_baked


def shot_points(settings: ShotSettings, scene) -> np.ndarray:
    """Points the auto camera frames: the standing building, where the debris lands (the mass
    quantile), and the ball's start."""
    import bpy

    from .blender import camera as cam
    from .blender import simulation

    lo, hi = _bounds(scene)
    points = [cam.box_corners(lo, hi)]
    handle = simulation.CollapseScene.from_scene(scene)
    if settings.camera.include_debris:
        positions, _ = simulation.baked_transforms(handle, frames=[settings.frame_range()[1]])
        masses = np.array(scene["collapse_masses"], float)
        debris = cam.debris_points(positions[0], masses, 0.5 * (lo + hi),
                                   settings.camera.debris_quantile)
        debris[:, 2] = np.maximum(debris[:, 2], lo[2])
        points.append(debris)
    if handle.ball:
        ball = bpy.data.objects[handle.ball]
        start = scene.frame_current
        scene.frame_set(settings.frame_range()[0])
        centre = np.array(ball.matrix_world.translation[:])
        scene.frame_set(start)
        radius = max(ball.dimensions) / 2
        points.append(cam.box_corners(centre - radius, centre + radius))
    return np.concatenate(points)


_shot_points = shot_points  # the add-on's first name for it


# ------------------------------------------------------------------------------ file-level stages


def _open(path: Path):
    import bpy

    if not path.exists():
        raise MissingInputError(f"{path} does not exist (run `collapse build` first)")
    bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False)
    return bpy.context.scene


def _save(path: Path) -> None:
    """Save the open file atomically (a killed save never leaves a broken scene.blend)."""
    import os

    import bpy

    from .core.errors import BrokenFileError, DiskFullError
    from .core.outputs import disk_full_here

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.blend")
    try:
        try:
            bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, compress=False)
            ok = tmp.is_file() and _blend_is_whole(tmp)
        except RuntimeError:
            ok = False
        if not ok:  # Blender reports a full disk as "No such file or directory", or not at all
            if disk_full_here(path.parent, 16 << 20):
                raise DiskFullError(f"disk full saving {path} (free space and run the same "
                                    "command again)")
            raise BrokenFileError(f"{path}: Blender could not save the scene (see the log)")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _blend_is_whole(path: Path) -> bool:
    """An uncompressed .blend starts with BLENDER and ends with its ENDB block."""
    with open(path, "rb") as fh:
        head = fh.read(7)
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 64))
        tail = fh.read()
    return head == b"BLENDER" and b"ENDB" in tail


SIM_SECTIONS = ("seed", "building", "mesh", "materials", "fracture", "simulation", "trigger")
LOOK_SECTIONS = ("camera", "lights", "fx")


def settings_key(settings: ShotSettings, sections: tuple[str, ...]) -> str:
    """A hash of some sections of the settings (what a built or baked file was made from)."""
    data = settings_to_dict(settings)
    text = json.dumps({k: data[k] for k in sections}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _stamp(scene, settings: ShotSettings) -> None:
    scene["collapse_sim_key"] = settings_key(settings, SIM_SECTIONS)
    scene["collapse_look_key"] = settings_key(settings, LOOK_SECTIONS)


def _changed(scene, settings: ShotSettings) -> tuple[bool, bool]:
    """(simulation changed, look changed) between the file and the settings."""
    return (scene.get("collapse_sim_key") != settings_key(settings, SIM_SECTIONS),
            scene.get("collapse_look_key") != settings_key(settings, LOOK_SECTIONS))


def shot_state(settings: ShotSettings, paths: ShotPaths) -> str:
    """``missing`` (no scene.blend), ``stale`` (built from other simulation settings), ``built``
    or ``baked`` (from these settings)."""
    if not paths.blend.exists():
        return "missing"
    scene = _open(paths.blend)
    if _changed(scene, settings)[0]:
        return "stale"
    return "baked" if is_baked(scene) and paths.report.exists() else "built"


def build_stage(settings: ShotSettings, paths: ShotPaths, log: Log = _quiet) -> dict:
    """Build the shot into ``paths.blend`` from an empty scene (always anew)."""
    import bpy

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    info = build_shot(settings, scene=scene, log=log)
    _stamp(scene, settings)
    _save(paths.blend)
    log(f"Saved: '{paths.blend}'")
    return info


def bake_stage(settings: ShotSettings, paths: ShotPaths, log: Log = _quiet) -> dict:
    """Bake ``paths.blend`` in place; write report.json and the Alembic/USD exports.

    Builds first when the shot was never built or its simulation settings changed; does nothing
    when it is already baked from the same settings (only re-frames when camera/lights changed).
    """
    from .blender.render import write_json_atomic

    scene = _open(paths.blend) if paths.blend.exists() else None
    if scene is not None and is_baked(scene) and paths.report.exists():
        sim_changed, look_changed = _changed(scene, settings)
        if not sim_changed:
            report = json.loads(paths.report.read_text())
            if look_changed:
                from .core import break_events  # the bake's own events (the actor solver's too)

                events = break_events.read_json(paths.break_events) if paths.break_events.exists() else None
                apply_shot_fx(settings, scene, report, events_path=paths.break_events, log=log,
                              events=events)
                write_json_atomic(paths.report, report)
                points = shot_points(settings, scene) if settings.camera.mode == "auto" else None
                setup_shot_look(settings, scene, points=points)
                _stamp(scene, settings)
                _save(paths.blend)
                log("Already baked from these settings; camera, lights, rubble and dust updated")
            else:
                log(f"Already baked from these settings: {paths.blend} (skipping the bake)")
            return report
    if scene is None or _changed(scene, settings)[0]:
        log("Building first: " + ("no scene.blend yet" if scene is None
                                   else "the scene's simulation settings changed"))
        build_stage(settings, paths, log)
        scene = _open(paths.blend)
    report = bake_shot(settings, scene=scene, log=log, export_dir=paths.cache,
                       events_path=paths.break_events)
    _stamp(scene, settings)
    _save(paths.blend)
    write_json_atomic(paths.report, report)
    log(f"Saved: '{paths.blend}' (baked) and '{paths.report}'")
    return report


def open_baked(paths: ShotPaths, settings: ShotSettings | None = None):
    """Open the baked shot; MissingInputError when it was never built or baked, or was baked from
    other simulation, camera or light settings."""
    if not paths.blend.exists():
        raise MissingInputError(f"{paths.blend} does not exist: run `collapse build` and "
                                "`collapse bake` first (or `collapse run`)")
    scene = _open(paths.blend)
    if not is_baked(scene):
        raise MissingInputError(f"{paths.blend} has no baked simulation: run `collapse bake` first "
                                "(render never simulates)")
    if settings is not None and any(_changed(scene, settings)):
        raise MissingInputError(f"{paths.blend} was baked from other settings than the scene file "
                                "now has: run `collapse bake` again")
    return scene


def render_stage(settings: ShotSettings, paths: ShotPaths, frames: list[int], *,
                 threads: int | None = None, log: Log = _quiet):
    """Render ``frames`` of the baked shot into ``paths.frames`` (resuming; never simulating)."""
    from .blender import render as rnd

    scene = open_baked(paths, settings)
    device = rnd.configure_render(scene, settings.render, fps=settings.simulation.fps,
                                  threads=threads, seed=settings.seed)
    log(f"Rendering {len(frames)} frame(s) with {settings.render.engine} on {device}, "
        f"{scene.render.resolution_x}x{scene.render.resolution_y}")
    key = settings_key(settings, (*SIM_SECTIONS, *LOOK_SECTIONS, "render"))
    return rnd.render_frames(scene, frames, paths.frames, settings.render,
                             meta_dir=paths.frame_records, log=log, settings_key=key)


def render_shot_frames(settings: ShotSettings, frames: list[int], frames_dir: Path, *, scene=None,
                       threads: int | None = None, log: Log = _quiet):
    """Render frames of the (baked) ``scene`` into ``frames_dir`` (the add-on's render)."""
    import bpy

    from .blender import render as rnd

    scene = scene or bpy.context.scene
    rnd.configure_render(scene, settings.render, fps=settings.simulation.fps, threads=threads,
                         seed=settings.seed)
    return rnd.render_frames(scene, frames, Path(frames_dir), settings.render, log=log)


def sha256_file(path: Path) -> str:
    """The file's SHA-256 in hex (the manifest's hashes)."""
    from .core.shotfolder import file_sha256

    return file_sha256(path)


def finalize_stage(settings: ShotSettings, paths: ShotPaths, scene_file: Path, *,
                   log: Log = _quiet, tool: dict | None = None, frames: str | None = None) -> dict:
    """Write preview.mp4, contact.png and manifest.json for a rendered shot (``frames``: a frame
    spec such as "1-48"; default all).

    MissingInputError when frames are missing (render them first; finalize never renders).
    """
    import platform

    import bpy

    from .blender import render as rnd
    from .core.settings import scene_hash

    frames = settings.frame_list(frames)
    files = [(f, rnd.frame_path(paths.frames, f, settings.render)) for f in frames]
    missing = [f for f, p in files if not p.exists()]
    if missing:
        raise MissingInputError(f"{len(missing)} frame(s) not rendered yet "
                                f"({rnd.frames_text(missing)}): run `collapse render` first")
    broken = rnd.broken_frames(paths.frames, frames, settings.render)
    if broken:  # never encoded nor hashed: set aside so that `collapse render` renders them again
        rnd.set_aside_broken(paths.frames, [p for f, p in files if f in broken], log)
        from .core.errors import BrokenFileError

        raise BrokenFileError(f"{len(broken)} broken frame(s) ({rnd.frames_text(sorted(broken))}: "
                              f"{next(iter(broken.values()))}): moved aside; run `collapse render` "
                              "to render them again, then finalize")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    outputs = {}
    r = settings.render
    size = (round(r.resolution[0] * r.resolution_percentage / 100),
            round(r.resolution[1] * r.resolution_percentage / 100))
    if settings.output.preview:
        t = time.perf_counter()
        rnd.encode_preview([p for _, p in files], paths.preview, fps=settings.simulation.fps,
                           size=size)
        log(f"Saved: '{paths.preview}' ({len(files)} frames, {time.perf_counter() - t:.2f} s)")
    if settings.output.contact_sheet:
        import shutil
        import tempfile

        pick = np.unique(np.linspace(0, len(files) - 1, min(settings.output.contact_frames,
                                                             len(files))).round().astype(int))
        chosen = [files[i] for i in pick]
        proxy_dir = Path(tempfile.mkdtemp(prefix="collapse-contact-"))
        try:
            if r.file_format != "PNG":
                pngs = rnd.png_proxies([p for _, p in chosen], proxy_dir, size)
                chosen = [(f, png) for (f, _), png in zip(chosen, pngs, strict=True)]
            rnd.write_contact_sheet(chosen, paths.contact, count=len(chosen),
                                    columns=settings.output.contact_columns,
                                    tile_width=settings.output.contact_width)
        finally:
            shutil.rmtree(proxy_dir, ignore_errors=True)
        log(f"Saved: '{paths.contact}'")
    per_frame = []
    for frame, path in files:
        record_path = paths.frame_records / f"{path.stem}.json"
        try:
            record = json.loads(record_path.read_text())
        except (OSError, ValueError):
            record = {}
        per_frame.append({"frame": frame, "file": str(path.relative_to(paths.root)),
                          "sha256": sha256_file(path), "seconds": record.get("seconds"),
                          "peak_memory_mb": record.get("peak_memory_mb"),
                          "host": record.get("host")})
    for path in (paths.preview, paths.contact, paths.report, paths.break_events, paths.blend,
                 *(sorted(paths.cache.glob("*")) if paths.cache.exists() else ())):
        if path.exists() and path.is_file():
            outputs[str(path.relative_to(paths.root))] = sha256_file(path)
    stages = paths.stage_records()
    manifest = {
        "tool": tool or {"name": "collapse"},
        "blender": {"version": bpy.app.version_string,
                    "build_hash": bpy.app.build_hash.decode(errors="replace")},
        "python": platform.python_version(),
        "platform": platform.platform(),
        "scene": {"file": str(Path(scene_file).resolve()), "sha256": scene_hash(scene_file)},
        "seed": settings.seed,
        "settings": settings_to_dict(settings),
        "frames": frames,
        "frame_files": per_frame,
        "outputs": outputs,
        "stages": stages,
    }
    from .blender.render import write_json_atomic

    write_json_atomic(paths.manifest, manifest)
    log(f"Saved: '{paths.manifest}'")
    return manifest


def render_test_still(render_settings, fps: int, path: Path, *,
                      announce: Callable[[str], None] = _quiet) -> tuple[str, float]:
    """Render Blender's default scene once with ``render_settings`` (e.g. to compile GPU kernels).

    Returns the render device in words and the seconds the still took.
    """
    import bpy

    from .blender import render as rnd

    bpy.ops.wm.read_factory_settings(use_empty=False)  # the default cube, camera and light
    scene = bpy.context.scene
    device = rnd.configure_render(scene, render_settings, fps=fps)
    announce(device)
    scene.render.filepath = str(path)
    start = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    return device, time.perf_counter() - start
