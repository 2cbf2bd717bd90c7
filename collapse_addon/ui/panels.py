"""The ``Collapse`` tab in the 3D viewport's sidebar (N panel).

Sub-panels follow the order an artist works in: Building, Fracture, Material and Glue, Trigger,
Simulation, Output (with Camera and Lights inside it). Panels only draw settings and buttons; every
button is an operator in ``operators.py``.
"""

from __future__ import annotations

import json

import bpy

from ..core.settings import SECTIONS
from . import operators as ops
from .fields import field_table, is_optional
from .properties import hidden_fields

# Trigger fields by type, from their name prefixes, so a new field of a type appears by itself.
TRIGGER_PREFIXES = {
    "none": (),
    "demolition": ("demolition_", "kick_"),
    "impact": ("impact_",),
    "explosion": ("explosion_",),
    "earthquake": ("quake_",),
}


def trigger_fields(trigger_type: str) -> list[str]:
    """Fields shown for a trigger type: its own, then any that belong to no type."""
    names = [n for n in field_table(SECTIONS["trigger"]) if n not in ("type", "frame", "seed")]
    every = tuple(p for prefixes in TRIGGER_PREFIXES.values() for p in prefixes)
    own = [n for n in names if n.startswith(TRIGGER_PREFIXES[trigger_type] or ("-",))]
    shared = [n for n in names if not n.startswith(every)]
    return own + shared


PATTERN_FIELDS = {
    "uniform": (),
    "impact": ("focus", "radius", "concentration"),
    "graded": ("focus", "focus_height", "radius", "grade_ratio"),
}
GLUE_FIELDS = ("glue", "glue_strength_scale", "glue_load_safety", "min_glue_area",
               "ground_friction")


def simulation_fields() -> list[str]:
    """Every simulation setting but the glue ones (shown under Material and Glue)."""
    return [n for n in field_table(SECTIONS["simulation"]) if n not in GLUE_FIELDS]


def draw_field(layout, group, name: str, kind: str) -> None:
    """One setting; an optional one as a checkbox with its value beside it."""
    if is_optional(kind):
        row = layout.row(align=True)
        row.prop(group, "use_" + name, text="")
        sub = row.row(align=True)
        sub.active = getattr(group, "use_" + name)
        sub.prop(group, name)
    elif kind == "tuple_str":
        layout.label(text=group.bl_rna.properties[name].name + ":")
        layout.row(align=True).prop(group, name)
    else:
        layout.prop(group, name)


def draw_section(layout, settings, section: str, names=None) -> None:
    """Settings of one scene-file section (all of its fields, or ``names`` in that order)."""
    group = getattr(settings, section)
    table = field_table(SECTIONS[section])
    for name in names if names is not None else table:
        if name in hidden_fields(section):
            continue
        draw_field(layout, group, name, table[name]["kind"])


class CollapsePanel:
    """Shared placement: the Collapse tab of the 3D viewport's sidebar."""

    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Collapse"

    @classmethod
    def poll(cls, context):
        return context.scene is not None and hasattr(context.scene, "collapse_shot")


class COLLAPSE_PT_main(CollapsePanel, bpy.types.Panel):
    """The shot: seed, scene file for the command line, clear."""

    bl_idname = "COLLAPSE_PT_main"
    bl_label = "Collapse"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.collapse_shot
        layout.use_property_split = True
        layout.prop(settings, "seed")
        layout.prop(settings, "scene_file")
        row = layout.row(align=True)
        row.operator(ops.COLLAPSE_OT_write_scene.bl_idname, text="Open in CLI", icon="CONSOLE")
        row.operator(ops.COLLAPSE_OT_load_scene.bl_idname, text="Load", icon="FILE_FOLDER")
        status = ops.scene_status(context.scene)
        col = layout.column(align=True)
        for line in status:
            col.label(text=line)
        layout.operator(ops.COLLAPSE_OT_clear.bl_idname, icon="TRASH")


class COLLAPSE_PT_building(CollapsePanel, bpy.types.Panel):
    """Generate a procedural building, or take the selected meshes or a mesh file."""

    bl_idname = "COLLAPSE_PT_building"
    bl_label = "Building"
    bl_parent_id = "COLLAPSE_PT_main"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.collapse_shot
        layout.row().prop(settings, "source", expand=True)
        layout.use_property_split = True
        if settings.source == "PROCEDURAL":
            draw_section(layout, settings, "building", (
                "storeys", "bays_x", "bays_y", "bay_width", "bay_depth", "storey_height"))
            col = layout.column(heading="Structure")
            draw_section(col, settings, "building", (
                "column_section", "beam_depth", "beam_width", "slab_thickness", "wall_thickness",
                "foundation_depth", "foundation_margin"))
            col = layout.column(heading="Windows")
            draw_section(col, settings, "building", ("window_width", "window_height",
                                                     "window_sill", "facades"))
            layout.operator(ops.COLLAPSE_OT_generate_building.bl_idname, icon="HOME")
        elif settings.source == "SELECTED":
            meshes = [ob for ob in context.selected_objects if ob.type == "MESH"]
            layout.label(text=f"{len(meshes)} mesh object(s) selected", icon="MESH_DATA")
            layout.prop(settings, "repair_meshes")
        else:
            draw_section(layout, settings, "mesh")


class COLLAPSE_PT_fracture(CollapsePanel, bpy.types.Panel):
    """Shard count or size, pattern, seed points preview, fracture."""

    bl_idname = "COLLAPSE_PT_fracture"
    bl_label = "Fracture"
    bl_parent_id = "COLLAPSE_PT_main"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        settings = context.scene.collapse_shot
        fracture = settings.fracture
        layout.prop(settings, "seed")
        draw_section(layout, settings, "fracture", ("cell_count", "shard_size", "pattern"))
        draw_section(layout, settings, "fracture", PATTERN_FIELDS[fracture.pattern])
        draw_section(layout, settings, "fracture", ("min_cells_per_element", "gap", "min_shard_volume",
                                                    "stress_refine"))
        row = layout.row(align=True)
        row.operator(ops.COLLAPSE_OT_preview_seeds.bl_idname, icon="POINTCLOUD_DATA")
        row.operator(ops.COLLAPSE_OT_fracture.bl_idname, icon="MOD_EXPLODE")
        if settings.source == "SELECTED":
            op = layout.operator(ops.COLLAPSE_OT_fracture.bl_idname, text="Repair and Fracture",
                                 icon="TOOL_SETTINGS")
            op.repair = True


class COLLAPSE_PT_material(CollapsePanel, bpy.types.Panel):
    """Material presets of the building, per-object overrides, and the glue between shards."""

    bl_idname = "COLLAPSE_PT_material"
    bl_label = "Material and Glue"
    bl_parent_id = "COLLAPSE_PT_main"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        settings = context.scene.collapse_shot
        if settings.source == "PROCEDURAL":
            draw_section(layout, settings, "building", ("frame_material", "wall_material"))
        elif settings.source == "FILE":
            draw_section(layout, settings, "mesh", ("material",))
        ob = context.active_object
        if ob is not None and ob.type == "MESH" and hasattr(ob, "collapse_override"):
            box = layout.box()
            box.label(text=f"Object: {ob.name}", icon="OBJECT_DATA")
            box.prop(ob.collapse_override, "material")
            box.prop(ob.collapse_override, "anchor")
        overrides = json.loads(settings.materials_json or "{}")
        for name, values in overrides.items():
            layout.label(text=f"{name}: scene file sets {', '.join(values)}", icon="INFO")
        col = layout.column(heading="Glue")
        draw_section(col, settings, "simulation", GLUE_FIELDS)


class COLLAPSE_PT_trigger(CollapsePanel, bpy.types.Panel):
    """What starts the collapse, when, and where (an empty places it in the viewport)."""

    bl_idname = "COLLAPSE_PT_trigger"
    bl_label = "Trigger"
    bl_parent_id = "COLLAPSE_PT_main"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        settings = context.scene.collapse_shot
        trigger = settings.trigger
        draw_section(layout, settings, "trigger", ("type", "frame"))
        draw_section(layout, settings, "trigger", trigger_fields(trigger.type))
        if trigger.type in ("impact", "explosion", "demolition"):
            layout.prop(settings, "trigger_object")
            layout.operator(ops.COLLAPSE_OT_add_trigger_empty.bl_idname, icon="EMPTY_AXIS")


class COLLAPSE_PT_simulation(CollapsePanel, bpy.types.Panel):
    """Frame range and quality of the Bullet simulation; set up and bake."""

    bl_idname = "COLLAPSE_PT_simulation"
    bl_label = "Simulation"
    bl_parent_id = "COLLAPSE_PT_main"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        draw_section(layout, context.scene.collapse_shot, "simulation", simulation_fields())
        row = layout.row(align=True)
        row.operator(ops.COLLAPSE_OT_setup_simulation.bl_idname, icon="PHYSICS")
        row.operator(ops.COLLAPSE_OT_bake.bl_idname, icon="REC")


class COLLAPSE_PT_output(CollapsePanel, bpy.types.Panel):
    """Render settings, render preview and export of the baked animation."""

    bl_idname = "COLLAPSE_PT_output"
    bl_label = "Output"
    bl_parent_id = "COLLAPSE_PT_main"

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        settings = context.scene.collapse_shot
        draw_section(layout, settings, "output", ("directory",))
        draw_section(layout, settings, "render")
        layout.prop(settings, "preview_frames")
        row = layout.row(align=True)
        row.operator(ops.COLLAPSE_OT_render_preview.bl_idname, icon="RENDER_ANIMATION")
        row.operator(ops.COLLAPSE_OT_render.bl_idname, icon="RENDER_STILL")
        layout.separator()
        layout.prop(settings, "export_format")
        layout.operator(ops.COLLAPSE_OT_export.bl_idname, icon="EXPORT")
        col = layout.column(heading="Command Line Extras")
        draw_section(col, settings, "output", [n for n in field_table(SECTIONS["output"])
                                               if n != "directory"])


class COLLAPSE_PT_camera(CollapsePanel, bpy.types.Panel):
    """Camera of the shot (auto frames the building and its debris)."""

    bl_idname = "COLLAPSE_PT_camera"
    bl_label = "Camera"
    bl_parent_id = "COLLAPSE_PT_output"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        self.layout.use_property_split = True
        draw_section(self.layout, context.scene.collapse_shot, "camera")


class COLLAPSE_PT_lights(CollapsePanel, bpy.types.Panel):
    """Sun, sky and ground."""

    bl_idname = "COLLAPSE_PT_lights"
    bl_label = "Lights"
    bl_parent_id = "COLLAPSE_PT_output"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        self.layout.use_property_split = True
        draw_section(self.layout, context.scene.collapse_shot, "lights")


class COLLAPSE_PT_fx(CollapsePanel, bpy.types.Panel):
    """Rubble and dust from the break events; quality is the cost knob (applied by Bake)."""

    bl_idname = "COLLAPSE_PT_fx"
    bl_label = "Rubble and Dust"
    bl_parent_id = "COLLAPSE_PT_simulation"

    def draw(self, context):
        self.layout.use_property_split = True
        draw_section(self.layout, context.scene.collapse_shot, "fx")


CLASSES = [COLLAPSE_PT_main, COLLAPSE_PT_building, COLLAPSE_PT_fracture, COLLAPSE_PT_material,
           COLLAPSE_PT_trigger, COLLAPSE_PT_simulation, COLLAPSE_PT_fx, COLLAPSE_PT_output,
           COLLAPSE_PT_camera, COLLAPSE_PT_lights]
