"""Operators of the Collapse panel. Thin: each reads the panel into ``ShotSettings`` and calls the
shared API (``collapse_addon.api``, the one the CLI calls; never ``collapse_addon.blender``
directly); expected failures are reported in the UI, never as tracebacks.

Long work (fracture and assembly, bake, render preview, export) runs as a job (``jobs.py``):
modal in the UI with progress in the status bar and Esc to cancel, or straight through from a
script.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import bpy
import numpy as np
from bpy.props import BoolProperty, StringProperty

from .. import api
from ..core.errors import CollapseError, MeshError, SpecError
from ..core.settings import MeshSource, dump_scene, load_scene
from ..core.shotfolder import write_text_atomic
from . import properties
from .jobs import JobOperator, cancel_running_jobs  # noqa: F401  (addon.py calls it)

ROLE = "collapse_role"  # custom property tagging everything the add-on creates (blender/scene.py)


# ---------------------------------------------------------------------------------------- helpers


def shot_from_context(context):
    """The panel's ShotSettings (after moving the trigger to its empty, if one is set)."""
    sync_trigger_empty(context.scene)
    return properties.shot_from_scene(context.scene)


def sync_trigger_empty(scene) -> None:
    """Copy the trigger empty's location into the trigger settings the empty places."""
    settings = scene.collapse_shot
    ob = settings.trigger_object
    if ob is None:
        return
    where = tuple(float(v) for v in ob.matrix_world.translation)
    trigger = settings.trigger
    if trigger.type == "explosion":
        trigger.use_explosion_point, trigger.explosion_point = True, where
    elif trigger.type == "impact":
        trigger.use_impact_target, trigger.impact_target = True, where
    elif trigger.type == "demolition" and trigger.use_demolition_region:
        x0, y0, x1, y1 = trigger.demolition_region
        hx, hy = (x1 - x0) / 2, (y1 - y0) / 2
        trigger.demolition_region = (where[0] - hx, where[1] - hy, where[0] + hx, where[1] + hy)


def collapse_handle(scene):
    """The collapse built into ``scene`` (``CollapseScene``), or None."""
    return api.collapse_handle(scene)


def has_shards(scene) -> bool:
    return collapse_handle(scene) is not None


def is_baked(scene) -> bool:
    return api.is_baked(scene)  # Bullet's cache, or the actor solver's keys


def scene_status(scene) -> list[str]:
    """Short status lines for the main panel."""
    handle = collapse_handle(scene)
    if handle is None:
        return ["No shards yet"]
    return [f"{handle.shard_count} shards, {handle.constraint_count} glue joints",
            "Baked" if is_baked(scene) else "Not baked"]


def selected_meshes(context) -> list:
    return [ob for ob in context.selected_objects
            if ob.type == "MESH" and ob.get(ROLE) is None and ob.get("collapse_shard") is None]


def absolute_path(path: str) -> Path:
    """A panel path as an absolute one (``//`` is relative to the .blend file)."""
    return Path(bpy.path.abspath(path)).expanduser().resolve()


def output_folder(directory: str) -> Path:
    """Where the panel's Output folder is: ``//`` and relative paths are relative to the saved
    .blend file; for an unsaved file, to the extension's user folder (never the add-on's own)."""
    if directory.startswith("//") or Path(directory).expanduser().is_absolute():
        return absolute_path(directory)
    if bpy.data.filepath:
        base = Path(bpy.data.filepath).parent
    else:
        try:
            base = Path(bpy.utils.extension_path_user(__package__.rpartition(".")[0], create=True))
        except ValueError:  # not installed as an extension (a development checkout)
            base = Path(tempfile.gettempdir()) / "collapse"
    return (base / directory).resolve()


def originals(scene) -> list:
    """The artist's objects a fracture hid (kept, never changed)."""
    return api.hidden_originals(scene)


# ------------------------------------------------------------------------------------- operators


class COLLAPSE_OT_generate_building(JobOperator, bpy.types.Operator):
    """Generate the procedural building from the Building settings (intact, before fracture)"""

    bl_idname = "collapse.generate_building"
    bl_label = "Generate Building"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and context.scene.collapse_shot.source == "PROCEDURAL"

    def make_job(self, context):
        shot = shot_from_context(context)
        building = api.make_building(shot)
        scene = context.scene
        for fraction, message in api.remove_collapse_steps(scene, [], api.KEEP_ON_REBUILD):
            yield 0.5 * fraction, message
        yield 0.5, f"Laying out {len(building.elements)} elements"
        ob = api.add_building_preview(scene, building)
        yield 1.0, f"Generated {ob.name}: {len(building.elements)} elements"


class COLLAPSE_OT_preview_seeds(JobOperator, bpy.types.Operator):
    """Show the fracture's seed points (one per shard) as a point cloud, without fracturing"""

    bl_idname = "collapse.preview_seeds"
    bl_label = "Preview Seeds"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and context.scene.collapse_shot.source == "PROCEDURAL"

    def make_job(self, context):
        from .seed_preview import fracture_seeds

        shot = shot_from_context(context)
        seeds = fracture_seeds(api.make_building(shot), shot.fracture)
        yield 0.5, f"Drew {len(seeds)} seeds"
        api.add_point_cloud(context.scene, "Collapse Seeds", seeds)
        yield 1.0, f"{len(seeds)} seed points (one per shard)"


class COLLAPSE_OT_fracture(JobOperator, bpy.types.Operator):
    """Fracture the building (procedural, selected meshes or mesh file) into glued shards,
    ready to simulate; the original objects are kept, hidden"""

    bl_idname = "collapse.fracture"
    bl_label = "Fracture"
    bl_options = {"REGISTER", "UNDO"}

    repair: BoolProperty(
        name="Repair", default=False,
        description="Repair meshes that are not closed solids first (merge by distance, drop "
                    "doubled and degenerate faces, fill flat holes, fix winding; a step that "
                    "makes a mesh worse is undone), then solidify what is still broken; the "
                    "originals stay unchanged")

    @classmethod
    def poll(cls, context):
        scene = context.scene
        if scene is None:
            return False
        if scene.collapse_shot.source == "SELECTED":
            return bool(selected_meshes(context))
        return True

    def make_job(self, context):
        scene = context.scene
        shot = shot_from_context(context)
        if scene.collapse_shot.source == "SELECTED":
            objects = selected_meshes(context)
            yield 0.05, f"Fracturing {len(objects)} object(s)"
            repair = self.repair or scene.collapse_shot.repair_meshes
            try:
                info = api.build_selected(shot, objects, overrides(objects), scene=scene,
                                          repair=repair, log=self.progress)
            except MeshError as exc:
                if repair:
                    raise
                raise MeshError(exc.name, exc.problem,
                                (exc.fix + "; or " if exc.fix else "") +
                                "click 'Repair and Fracture' in the Fracture panel") from None
        else:
            for fraction, message in api.remove_collapse_steps(scene, [], api.KEEP_ON_REBUILD):
                yield 0.05 * fraction, message
            yield 0.05, "Fracturing the building, then assembling rigid bodies and glue"
            info = api.build_shot(shot, scene=scene, log=self.progress)
        notes = "; ".join(info.get("notes", ()))  # what Repair did, object by object
        yield 1.0, (f"{info['shards']} shards from {info['elements']} element(s), "
                    f"{info['contacts']} glued contacts" + (f" ({notes})" if notes else ""))


class COLLAPSE_OT_setup_simulation(JobOperator, bpy.types.Operator):
    """Apply the Simulation and Trigger settings: rebuild rigid bodies, glue and trigger on the
    same shards (the fracture is deterministic, so the shards do not change)"""

    bl_idname = "collapse.setup_simulation"
    bl_label = "Set Up Simulation"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def make_job(self, context):
        scene = context.scene
        shot = shot_from_context(context)
        hidden = originals(scene)
        yield 0.05, "Setting up rigid bodies and glue"
        if scene.collapse_shot.source == "SELECTED" and hidden:
            info = api.build_selected(shot, hidden, overrides(hidden), scene=scene,
                                      repair=scene.collapse_shot.repair_meshes, log=self.progress)
        else:
            for fraction, message in api.remove_collapse_steps(scene, [], api.KEEP_ON_REBUILD):
                yield 0.05 * fraction, message
            info = api.build_shot(shot, scene=scene, log=self.progress)
        yield 1.0, (f"Simulation set up: {info['shards']} shards, frames "
                    f"{shot.simulation.frame_start}-{shot.simulation.frame_end}")


class COLLAPSE_OT_bake(JobOperator, bpy.types.Operator):
    """Bake the rigid-body simulation (Esc cancels and leaves the scene as it was)"""

    bl_idname = "collapse.bake"
    bl_label = "Bake"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and (context.scene.rigidbody_world is not None
                                              or has_shards(context.scene))

    def make_job(self, context):
        from .bake import bake_job

        scene = context.scene
        self._frame = scene.frame_current
        shot = shot_from_context(context)
        hidden = originals(scene)
        fractured = None
        if scene.collapse_shot.source == "SELECTED" and hidden and api.is_actor_scene(scene):
            # the actor solver needs the shards the scene was built from (the same fracture)
            fractured = api.fracture_selected(shot, hidden, overrides(hidden),
                                              repair=scene.collapse_shot.repair_meshes)[:2]
        return bake_job(shot, scene, fractured)

    def restore(self, context):
        from .bake import free_bake

        free_bake(context.scene)
        context.scene.frame_set(getattr(self, "_frame", context.scene.frame_current))


class COLLAPSE_OT_render_preview(JobOperator, bpy.types.Operator):
    """Render a few frames of the baked shot at reduced size into the Output folder"""

    bl_idname = "collapse.render_preview"
    bl_label = "Render Preview"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and context.scene.camera is not None

    def make_job(self, context):
        shot = shot_from_context(context)
        scene = context.scene
        start, end = shot.frame_range()
        count = min(context.scene.collapse_shot.preview_frames, end - start + 1)
        frames = sorted({int(round(f)) for f in np.linspace(start, end, count)})
        out = output_folder(shot.output.directory) / "preview"
        preview = dataclasses.replace(shot, render=dataclasses.replace(
            shot.render, resolution_percentage=min(shot.render.resolution_percentage, 50)))
        # Previews always show the current bake: earlier preview frames are replaced (the
        # folder is the add-on's own; finished frames of the real render are never touched).
        for old in out.glob("*") if out.is_dir() else ():
            if old.is_file() and old.suffix in (".png", ".exr"):
                old.unlink()
        for i, frame in enumerate(frames):
            yield i / len(frames), f"Rendering frame {frame} ({i + 1}/{len(frames)})"
            api.render_shot_frames(preview, [frame], out, scene=scene, log=self.progress)
        yield 1.0, f"Rendered {len(frames)} preview frame(s) into {out}"


class COLLAPSE_OT_render(JobOperator, bpy.types.Operator):
    """Render the shot's frames at full size into the Output folder (finished frames are kept)"""

    bl_idname = "collapse.render"
    bl_label = "Render Frames"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and context.scene.camera is not None

    def make_job(self, context):
        shot = shot_from_context(context)
        frames = shot.frame_list()
        out = output_folder(shot.output.directory) / "frames"
        for i, frame in enumerate(frames):
            yield i / len(frames), f"Rendering frame {frame} ({i + 1}/{len(frames)})"
            api.render_shot_frames(shot, [frame], out, scene=context.scene)
        yield 1.0, f"Rendered {len(frames)} frame(s) into {out}"


class COLLAPSE_OT_export(JobOperator, bpy.types.Operator):
    """Export the baked animation to Alembic or USD (collapse.abc / collapse.usdc in the Output
    folder)"""

    bl_idname = "collapse.export"
    bl_label = "Export"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and (context.scene.rigidbody_world is not None
                                              or has_shards(context.scene))

    def make_job(self, context):
        scene = context.scene
        shot = shot_from_context(context)
        if not is_baked(scene):
            raise SpecError("bake", "the simulation is not baked", "click Bake first")
        fmt = scene.collapse_shot.export_format
        shot = dataclasses.replace(shot, output=dataclasses.replace(
            shot.output, alembic=fmt == "ALEMBIC", usd=fmt == "USD"))
        folder = output_folder(shot.output.directory)
        yield 0.1, f"Exporting {fmt.title()} to {folder}"
        folder.mkdir(parents=True, exist_ok=True)
        written = api.export_animation(shot, scene, folder)
        yield 1.0, "Exported " + ", ".join(str(p) for p in written)


class COLLAPSE_OT_clear(JobOperator, bpy.types.Operator):
    """Delete the shards, glue, trigger and everything else Collapse made; show the originals"""

    bl_idname = "collapse.clear"
    bl_label = "Clear"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def make_job(self, context):
        counter = []
        yield from api.remove_collapse_steps(context.scene, counter)
        api.show_originals(context.scene)
        yield 1.0, f"Removed {counter[0]} Collapse object(s)"


class COLLAPSE_OT_add_trigger_empty(bpy.types.Operator):
    """Add an empty that places the trigger (blast centre, impact target): move it in the
    viewport"""

    bl_idname = "collapse.add_trigger_empty"
    bl_label = "Add Trigger Empty"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return context.scene is not None and context.scene.collapse_shot.trigger.type != "none"

    def execute(self, context):
        scene = context.scene
        settings = scene.collapse_shot
        trigger = settings.trigger
        location = trigger_location(scene, trigger)
        ob = settings.trigger_object
        if ob is None:
            ob = bpy.data.objects.new("Collapse Trigger", None)
            ob.empty_display_type = "SPHERE"
            ob[ROLE] = "trigger_empty"
            scene.collection.objects.link(ob)
            settings.trigger_object = ob
        ob.location = location
        if trigger.type == "explosion":
            ob.empty_display_size = trigger.explosion_radius
        elif trigger.type == "impact":
            ob.empty_display_size = trigger.impact_radius
        sync_trigger_empty(scene)
        self.report({"INFO"}, f"Move '{ob.name}' to place the {trigger.type}")
        return {"FINISHED"}


class COLLAPSE_OT_write_scene(bpy.types.Operator):
    """Write the panel's settings as a scene file the headless 'collapse' command line runs
    ("Open in CLI")"""

    bl_idname = "collapse.write_scene"
    bl_label = "Write Scene File"
    bl_options = {"REGISTER"}

    filepath: StringProperty(name="File", subtype="FILE_PATH", default="",
                             description="Scene file to write; empty: the panel's Scene File")

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def execute(self, context):
        settings = context.scene.collapse_shot
        path = absolute_path(self.filepath or settings.scene_file)
        try:
            text = scene_file_text(context)
            write_text_atomic(path, text)
        except CollapseError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        except OSError as exc:
            self.report({"ERROR"}, f"cannot write {path}: {exc} (choose another Scene File)")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {path}; render it with: collapse run {path}")
        return {"FINISHED"}


class COLLAPSE_OT_load_scene(bpy.types.Operator):
    """Load a scene file (TOML) into the panel"""

    bl_idname = "collapse.load_scene"
    bl_label = "Load Scene File"
    bl_options = {"REGISTER", "UNDO"}

    filepath: StringProperty(name="File", subtype="FILE_PATH", default="")
    filter_glob: StringProperty(default="*.toml", options={"HIDDEN"})

    @classmethod
    def poll(cls, context):
        return context.scene is not None

    def invoke(self, context, event):
        if not self.filepath:
            self.filepath = bpy.path.abspath(context.scene.collapse_shot.scene_file)
        context.window_manager.fileselect_add(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        path = absolute_path(self.filepath or context.scene.collapse_shot.scene_file)
        try:
            shot = load_scene(path)
            properties.load_shot_into_scene(context.scene, shot)
        except CollapseError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        context.scene.collapse_shot.scene_file = str(path)
        self.report({"INFO"}, f"Loaded {path}")
        return {"FINISHED"}


CLASSES = [COLLAPSE_OT_generate_building, COLLAPSE_OT_preview_seeds, COLLAPSE_OT_fracture,
           COLLAPSE_OT_setup_simulation, COLLAPSE_OT_bake, COLLAPSE_OT_render_preview,
           COLLAPSE_OT_render, COLLAPSE_OT_export, COLLAPSE_OT_clear,
           COLLAPSE_OT_add_trigger_empty, COLLAPSE_OT_write_scene, COLLAPSE_OT_load_scene]


# --------------------------------------------------------------------------------- glue helpers


def scene_file_text(context) -> str:
    """The scene file for the panel's shot (selected meshes become a .blend object reference)."""
    shot = shot_from_context(context)
    settings = context.scene.collapse_shot
    if settings.source == "SELECTED":
        objects = selected_meshes(context) or originals(context.scene)
        if not objects:
            raise SpecError("mesh.object", "no mesh object is selected", "select the mesh objects")
        if not api.blend_file_saved():
            raise SpecError("mesh.path", "the .blend file holding the mesh is not saved",
                            "save the .blend file first (the command line reads the mesh from it)")
        names = [ob.name for ob in objects]
        if any("," in n for n in names):
            raise SpecError("mesh.objects", f"{next(n for n in names if ',' in n)!r} has a comma",
                            "rename the object (the scene file lists names comma-separated)")
        materials = {shot.mesh.material if m == "AUTO" else m for m, _ in overrides(objects)}
        if len(materials) > 1:
            raise SpecError("mesh.material", f"the objects have {len(materials)} materials; a scene "
                            "file gives one", "give the selected objects one material (or AUTO)")
        shot = dataclasses.replace(shot, mesh=MeshSource(
            path=bpy.data.filepath, object=names[0] if len(names) == 1 else "",
            objects="" if len(names) == 1 else ", ".join(names), material=materials.pop(),
            anchors=", ".join(ob.name for ob in objects if ob.collapse_override.anchor)))
    directory = shot.output.directory
    if not Path(directory).is_absolute():  # the command line must write where the panel does
        shot = dataclasses.replace(shot, output=dataclasses.replace(
            shot.output, directory=str(output_folder(directory))))
    header = (f"Written by the Collapse add-on from {bpy.data.filepath or 'an unsaved file'}.\n"
              "Run it with: collapse run THIS_FILE")
    return dump_scene(shot, header=header)


def overrides(objects) -> list[tuple[str, bool]]:
    """The panel's per-object (material, anchor) of each of the artist's objects."""
    return [(ob.collapse_override.material, ob.collapse_override.anchor) for ob in objects]


def trigger_location(scene, trigger) -> tuple[float, float, float]:
    """Where the trigger empty starts: the trigger's own point if set, else the building's middle."""
    if trigger.type == "explosion" and trigger.use_explosion_point:
        return tuple(trigger.explosion_point)
    if trigger.type == "impact" and trigger.use_impact_target:
        return tuple(trigger.impact_target)
    if trigger.type == "demolition" and trigger.use_demolition_region:
        x0, y0, x1, y1 = trigger.demolition_region
        return ((x0 + x1) / 2, (y0 + y1) / 2, 0.0)
    try:
        building = api.make_building(properties.shot_from_scene(scene))
    except CollapseError:
        building = None
    if building is None:
        return tuple(scene.cursor.location)
    lo, hi = building.lo, building.hi
    return (float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2), 1.0)
