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

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .core.building import Building, generate_building
from .core.errors import MissingInputError
from .core.fracture import fracture_building
from .core.outputs import write_json_atomic
from .core.settings import ShotSettings, resolve_materials, settings_to_dict
from .core.shards import ShardSet
from .core.shotfolder import ShotPaths  # noqa: F401  (the API's name for a shot's files)

Log = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


# ------------------------------------------------------------------------------------ pure stages


def make_building(settings: ShotSettings) -> Building | None:
    """The procedural building of the shot (None when the shot fractures a mesh)."""
    return None if settings.uses_mesh else generate_building(settings.building)


def make_shards(settings: ShotSettings, building: Building | None,
                log: Log = _quiet) -> tuple[Building, ShardSet]:
    """Fracture the shot's building (or its mesh source) into shards. The building returned
    carries the shot's material table (``building.materials``: the presets with the scene's
    overrides), which masses, glue and strengths read."""
    if building is not None:
        building = with_materials(building, settings.materials)
        if settings.fracture.stress_refine > 0:  # finer where the structure is loaded
            from .core.refine import stress_refined_fracture
            from .core.trigger_plan import resolve_trigger

            trigger = resolve_trigger(building, settings.trigger)
            return building, stress_refined_fracture(building, settings.fracture, trigger)[0]
        return building, fracture_building(building, settings.fracture)
    building, shards = _fracture_mesh_source(settings, log)
    return with_materials(building, settings.materials), shards


_fractured: dict[str, tuple[Building, ShardSet]] = {}  # the last shot fracture, by its key


def shot_fracture(settings: ShotSettings, log: Log = _quiet) -> tuple[Building, ShardSet]:
    """``make_shards`` of the shot's own building or mesh, kept (the last one) by what made it:
    the actor bake reuses the build's in one process (fracturing again took 1 s of 10)."""
    key = settings_key(settings, SIM_SECTIONS)
    if settings.uses_mesh:  # and the file's content, as far as its stat tells
        stat = Path(settings.mesh.path).stat() if Path(settings.mesh.path).exists() else None
        key += f":{stat.st_mtime_ns}:{stat.st_size}" if stat else ":missing"
    if key not in _fractured:
        made = make_shards(settings, make_building(settings), log)
        _fractured.clear()
        _fractured[key] = made
    return _fractured[key]


def with_materials(building: Building, overrides: dict) -> Building:
    """``building`` carrying the material table of a shot's overrides (a value, never global)."""
    return dataclasses.replace(building, materials=resolve_materials(overrides))


def _fracture_mesh_source(settings: ShotSettings, log: Log = _quiet) -> tuple[Building, ShardSet]:
    from .core import mesh_route

    source = settings.mesh
    path = Path(source.path)
    if not path.exists():
        raise MissingInputError(f"mesh.path: {path} does not exist (give the path of the mesh file)")
    blend = None
    if path.name.lower().endswith(".blend"):
        from .blender.shotfile import meshes_from_blend

        blend = meshes_from_blend(path, source.object_ids or (source.object,))
    return mesh_route.fracture_mesh_file(source, settings.fracture, path, blend_mesh=blend, log=log)


# ------------------------------------------------------------------------------ scene-level (bpy)


def _scene(scene):
    """``scene``, else the context's current scene."""
    if scene is not None:
        return scene
    from .blender.shotfile import current_scene

    return current_scene()


def _log_fracture(log: Log, building: Building, shards: ShardSet, seconds: float) -> None:
    log(f"Fractured {len(building.elements)} elements into {shards.count} shards "
        f"({shards.contacts.count} contacts) in {seconds:.2f} s")


def build_shot(settings: ShotSettings, *, scene=None, log: Log = _quiet, fractured=None,
               source_objects=()) -> dict:
    """Build the shot in ``scene`` (default: the current one): shards, rigid bodies, glue,
    trigger, camera framed on the building, lights, ground and render settings.

    ``fractured``: (building, shards) already fractured (the artist's selected objects, see
    ``build_selected``), else the shot's building or mesh source is fractured here.
    ``source_objects``: the artist's objects the shards replace (hidden, never changed).
    Returns counts and stage timings.
    """
    from .blender import camera as cam
    from .blender import simulation

    scene = _scene(scene)
    times = {}
    t = time.perf_counter()
    building, shards = fractured or shot_fracture(settings, log)
    times["fracture_s"] = time.perf_counter() - t
    if fractured is None:  # build_selected says it for the artist's objects
        _log_fracture(log, building, shards, times["fracture_s"])
    t = time.perf_counter()
    materials = cam.shot_materials(building.materials, sorted({e.material for e in building.elements}))
    handle = simulation.build_collapse_scene(
        building, shards, settings.simulation, settings.trigger, scene=scene,
        materials=materials, source_objects=source_objects)
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
    """Render settings, lights, ground and camera (framed on ``points``, else the building);
    returns the render device in words."""
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
              export_dir: Path | None = None, events_path: Path | None = None,
              fractured=None) -> dict:
    """Bake the rigid-body simulation of a built shot, frame the camera on the debris, export.

    The break events (one per broken bond) become points in the scene (and so in the exports),
    rubble and dust (``[fx]``), and ``events_path`` (break_events.json) when given.
    ``fractured``: the (building, shards) the scene was built from when they are not the
    settings' own (the artist's selected objects; the actor solver needs them).
    Returns the collapse report (a JSON-able dict).
    """
    from .blender import simulation

    scene = _scene(scene)
    frames = settings.simulation.frame_count
    step = max(1, frames // 10)

    def progress(frame: int, end: int) -> None:
        if frame % step == 0 or frame == end:
            log(f"Bake: frame {frame}/{end}")

    if settings.simulation.solver == "actors":
        from .blender import actor_shot, actors

        shot = fractured or shot_fracture(settings)  # the build's, when it ran here
        report, events, positions, rotations = actor_shot.bake_and_report(
            scene, shot, progress=progress, log=log)
        end_positions = actors.shown_positions(scene, positions, settings.frame_range()[1])
    else:
        from .blender import rough

        rough.detach(scene)  # bake the exact cells alone; apply_shot_fx brings the rough twins back
        result = simulation.bake_collapse(scene, progress=progress)
        log(f"Baked {result.frames} frames in {result.seconds:.2f} s "
            f"({result.seconds / max(1, result.frames):.3f} s/frame)")
        positions, rotations = simulation.baked_transforms(scene)  # read once: report and events
        report, events = None, None  # the report from the glue; events from the glue that let go
        end_positions = positions[-1]  # the last simulated frame, read above: no frame change
    report = finish_bake(settings, scene, positions, rotations, report=report, events=events,
                         events_path=events_path, log=log, end_positions=end_positions)
    if export_dir is not None and (settings.output.alembic or settings.output.usd):
        export_dir.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        written = export_animation(settings, scene, export_dir)
        report.setdefault("wall_clock_s", {})["export_s"] = time.perf_counter() - t
        for path in written:
            log(f"Saved: '{path}'")
    return report


def finish_bake(settings: ShotSettings, scene, positions=None, rotations=None, *,
                report: dict | None = None, events=None, events_path: Path | None = None,
                log: Log = _quiet, end_positions=None) -> dict:
    """What follows a bake: the collapse report (from the glue when ``report`` is None), break
    events, rubble and dust (``apply_shot_fx``), and the auto camera framed on the debris
    (``end_positions``: the shards' last positions as the scene shows them, else read).

    The add-on's frame-by-frame bake calls it after its last frame; ``bake_shot`` after its bake.
    """
    if report is None:
        from .blender import simulation

        report = dict(simulation.collapse_report(scene, positions, rotations))
    apply_shot_fx(settings, scene, report, positions, rotations, events_path, log, events=events)
    if settings.camera.mode == "auto":
        setup_shot_look(settings, scene, points=shot_points(settings, scene, end_positions))
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
    """Alembic and/or USD of the baked shards (and the ball, and the break-event points), as
    ``settings.output`` asks: written under temporary names, then renamed."""
    from .blender import export

    start, end = settings.frame_range()
    return export.export_shot(scene, Path(export_dir), alembic=settings.output.alembic,
                              usd=settings.output.usd, frame_start=start, frame_end=end)


def is_baked(scene) -> bool:
    """True when the scene's rigid-body simulation is baked (render then only reads the cache),
    or its actor bake is keyed."""
    from .blender import simulation

    return simulation.is_baked(scene)


def shot_points(settings: ShotSettings, scene, end_positions=None) -> np.ndarray:
    """Points the auto camera frames: the standing building, where the debris lands (the mass
    quantile; ``end_positions``: the shards' last positions as shown, else read), the ball's start."""
    from .blender import camera as cam

    return cam.shot_points(scene, settings.camera, *settings.frame_range(),
                           end_positions=end_positions)


# ------------------------------------------------------------------------------ file-level stages


def _open(path: Path):
    from .blender.shotfile import open_blend

    return open_blend(path)


def _save(path: Path) -> None:
    """Save the open file atomically (a killed save never leaves a broken scene.blend)."""
    from .blender.shotfile import save_blend

    save_blend(path)


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
    from .blender.shotfile import empty_scene

    scene = empty_scene()
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
    from .blender import render as rnd

    scene = _scene(scene)
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

    from .blender import finalize, shotfile
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
    shotfile.empty_scene()
    r = settings.render
    size = (round(r.resolution[0] * r.resolution_percentage / 100),
            round(r.resolution[1] * r.resolution_percentage / 100))
    if settings.output.preview:
        t = time.perf_counter()
        finalize.encode_preview([p for _, p in files], paths.preview, fps=settings.simulation.fps,
                           size=size)
        log(f"Saved: '{paths.preview}' ({len(files)} frames, {time.perf_counter() - t:.2f} s)")
    if settings.output.contact_sheet:
        finalize.contact_sheet(files, paths.contact, count=settings.output.contact_frames,
                               columns=settings.output.contact_columns,
                               tile_width=settings.output.contact_width, size=size,
                               proxies=r.file_format != "PNG")
        log(f"Saved: '{paths.contact}'")
    stages = paths.stage_records()
    manifest = {
        "tool": tool or {"name": "collapse"},
        "blender": shotfile.blender_info(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "scene": {"file": str(Path(scene_file).resolve()), "sha256": scene_hash(scene_file)},
        "seed": settings.seed,
        "settings": settings_to_dict(settings),
        "frames": frames,
        "frame_files": paths.frame_entries(files),
        "outputs": paths.output_hashes(),
        "stages": stages,
    }
    write_json_atomic(paths.manifest, manifest)
    log(f"Saved: '{paths.manifest}'")
    return manifest


def render_test_still(render_settings, fps: int, path: Path, *,
                      announce: Callable[[str], None] = _quiet) -> tuple[str, float]:
    """Render Blender's default scene once with ``render_settings`` (e.g. to compile GPU kernels).

    Returns the render device in words and the seconds the still took.
    """
    from .blender import render as rnd
    from .blender import shotfile

    scene = shotfile.default_scene()  # the default cube, camera and light
    device = rnd.configure_render(scene, render_settings, fps=fps)
    announce(device)
    return device, shotfile.render_still(scene, path)


# --------------------------------------------------------------- the add-on's scene (panel front end)

# A rebuild keeps the trigger empty the artist placed (roles of Collapse objects it keeps).
KEEP_ON_REBUILD = ("trigger_empty",)


def fracture_selected(settings: ShotSettings, objects, overrides, *, repair: bool):
    """Fracture the artist's mesh objects where they are: (building, shards, repair notes).

    ``overrides``: (material or "AUTO", anchor) per object (the panel's per-object settings).
    """
    from .blender.scene import read_object_meshes
    from .core.mesh_parts import fracture_parts, selected_parts

    parts, notes = selected_parts(
        [(ob.name, vertices, faces, material, anchor) for ob, (vertices, faces), (material, anchor)
         in zip(objects, read_object_meshes(objects), overrides, strict=True)],
        repair=repair, default_material=settings.mesh.material)
    building, shards = fracture_parts(parts, settings.fracture)
    return with_materials(building, settings.materials), shards, notes


def build_selected(settings: ShotSettings, objects, overrides, *, scene=None, repair: bool = False,
                   log: Log = _quiet) -> dict:
    """``build_shot`` from the artist's selected mesh objects (``fracture_selected``): what
    Collapse built before goes, the objects are hidden (never changed). Adds the repair notes."""
    from .blender.teardown import remove_collapse_objects

    scene = _scene(scene)
    t = time.perf_counter()
    building, shards, notes = fracture_selected(settings, objects, overrides, repair=repair)
    seconds = time.perf_counter() - t
    _log_fracture(log, building, shards, seconds)
    remove_collapse_objects(scene, KEEP_ON_REBUILD)
    info = build_shot(settings, scene=scene, log=log, fractured=(building, shards),
                      source_objects=objects)
    return {**info, "fracture_s": seconds, "notes": notes}


def collapse_handle(scene):
    """The collapse built into ``scene`` (``blender.simulation.CollapseScene``), or None."""
    from .blender.simulation import find_collapse

    return find_collapse(scene)


def remove_collapse_steps(scene, counter: list, keep_roles: tuple[str, ...] = ()):
    """Delete what Collapse built in ``scene`` in steps (a job yielding (fraction, message));
    appends the number of objects removed to ``counter``; the artist's objects stay."""
    from .blender.teardown import remove_collapse_steps as steps

    return steps(scene, counter, keep_roles)


def hidden_originals(scene) -> list:
    """The artist's objects a fracture hid."""
    from .blender.teardown import originals

    return originals(scene)


def blend_file_saved() -> bool:
    """True when the open .blend is on disk with no changes since (``blender.compat``)."""
    from .blender.compat import blend_file_saved as saved

    return saved()


def show_originals(scene) -> None:
    from .blender.teardown import show_originals as show

    show(scene)


def add_building_preview(scene, building: Building):
    """One mesh object of the building's intact elements (boxes), built in bulk."""
    from .blender.scene import create_box_preview

    lo, hi = (np.array([getattr(e, end) for e in building.elements]) for end in ("lo", "hi"))
    return create_box_preview(scene, "Collapse Building", lo, hi, "building_preview")


def add_point_cloud(scene, name: str, points: np.ndarray):
    """A vertex-only mesh object showing ``points`` (replaces the earlier seed preview)."""
    from .blender.scene import create_point_cloud

    return create_point_cloud(scene, name, points, "seed_preview")


def is_actor_scene(scene) -> bool:
    """True when the scene was built for the actor solver (it bakes in one step)."""
    from .blender.actors import is_actor_scene as actor_scene

    return actor_scene(scene)


def free_bake(scene) -> None:
    """Drop the bake (Bullet's cache or the actor solver's keys): the scene is unsimulated again."""
    from .blender.bake import free_shot_bake

    free_shot_bake(scene)


def start_stepped_bake(scene) -> tuple[int, int]:
    """Ready a Bullet bake that the caller steps frame by frame (``scene.frame_set``): the cache
    freed, the rough twins detached. Returns the cache's (first, last) frame; after the last
    frame, ``end_stepped_bake`` marks the cache baked, then ``finish_bake``."""
    from .blender import rough

    cache = scene.rigidbody_world.point_cache
    free_bake(scene)
    rough.detach(scene)  # bake the exact cells alone (apply_shot_fx brings the twins back)
    return cache.frame_start, cache.frame_end


def end_stepped_bake(scene) -> None:
    from .blender.bake import mark_cache_baked

    mark_cache_baked(scene)


def baked_transforms(scene, frames=None) -> tuple[np.ndarray, np.ndarray]:
    """Baked positions (F, S, 3) and rotation matrices (F, S, 3, 3) of the shards at ``frames``."""
    from .blender import simulation

    return simulation.baked_transforms(scene, frames=frames)


# ------------------------------------------------ Blender-version differences (compat) for scripts


def check_supported_blender() -> None:
    """Refuse a Blender older than the oldest supported one, with a message naming it."""
    from .blender.compat import check_supported

    check_supported()


def sequencer_strips(editor):
    """The sequence editor's strip collection (``strips`` from Blender 4.4, ``sequences`` before)."""
    from .blender.compat import sequencer_strips as strips

    return strips(editor)


def set_media_type(image_settings, media_type: str) -> None:
    """Image settings' media type ("IMAGE" / "VIDEO") from Blender 5.0; before, a no-op."""
    from .blender.compat import set_media_type as set_type

    set_type(image_settings, media_type)


def workbench_aa(samples: int) -> str:
    """The Workbench anti-aliasing level Collapse's render uses for ``samples``."""
    from .blender.render import workbench_aa_level

    return workbench_aa_level(samples)
