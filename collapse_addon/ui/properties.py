"""The panel's settings: PropertyGroups generated from the core spec dataclasses.

Each spec (building, fracture, simulation, trigger) becomes one PropertyGroup whose properties are
named exactly like the spec's fields, with tooltip, units and limits from ``fields.field_table``.
Optional fields (``None`` in the spec) get a ``use_<name>`` toggle beside their value. So the panel
cannot drift from the core: a new spec field without UI metadata fails at import.

``to_spec`` / ``from_spec`` convert a group to its spec and back; ``from_spec`` refuses (SpecError)
a value the panel cannot hold (e.g. a seed above 2^31 - 1), so a loaded scene file is never altered
silently.
"""

from __future__ import annotations

import json

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    IntVectorProperty,
    PointerProperty,
    StringProperty,
)

from ..core.errors import SpecError
from ..core.materials import MATERIALS
from ..core.settings import DERIVED_KEYS, SECTIONS, ShotSettings
from .fields import INT32_MAX, field_table, is_optional, panel_value, same_value, spec_value

# Blender (subtype, unit) for the units the core's metadata uses.
_FLOAT_UNITS = {
    "m": ("DISTANCE", "LENGTH"),
    "m^2": ("NONE", "AREA"),
    "m/s": ("NONE", "VELOCITY"),
    "m/s^2": ("NONE", "ACCELERATION"),
    "kg": ("NONE", "MASS"),
    "s": ("TIME_ABSOLUTE", "TIME_ABSOLUTE"),
}


def label_of(name: str) -> str:
    """``storey_height`` -> ``Storey Height`` (Blender's label style)."""
    return name.replace("_", " ").title()


def _doc(entry: dict) -> str:
    units = entry.get("units", "")
    shown = units if units and units not in _FLOAT_UNITS else ""
    return entry["doc"] + (f" ({shown})" if shown and shown != "frame" else "")


def _limits(entry: dict, integer: bool) -> dict:
    lo, hi = entry["range"]
    out = {}
    if lo is not None:
        out["min"] = max(lo, -INT32_MAX) if integer else float(lo)
    if hi is not None:
        out["max"] = min(hi, INT32_MAX) if integer else float(hi)
    if "soft" in entry:
        out["soft_min"], out["soft_max"] = entry["soft"]
    return out


def _enum_items(choices) -> list[tuple[str, str, str]]:
    return [(c, label_of(c), c) for c in choices]


def make_property(name: str, entry: dict):
    """The bpy property holding one spec field (the value part of an optional one)."""
    kind, default, doc = entry["kind"], entry["default"], _doc(entry)
    common = {"name": label_of(name), "description": doc}
    if kind == "int":
        return IntProperty(default=default, **common, **_limits(entry, True))
    if kind in ("float", "optional_float"):
        subtype, unit = _FLOAT_UNITS.get(entry.get("units", ""), ("NONE", "NONE"))
        if entry.get("factor"):
            subtype = "FACTOR"
        return FloatProperty(default=0.0 if default is None else default, subtype=subtype, unit=unit,
                             precision=3, **common, **_limits(entry, False))
    if kind == "bool":
        return BoolProperty(default=default, **common)
    if kind == "choice":
        return EnumProperty(items=_enum_items(entry["choices"]), default=default, **common)
    if kind == "tuple_str":
        return EnumProperty(items=_enum_items(entry["choices"]), default=set(default),
                            options={"ENUM_FLAG"}, **common)
    if kind == "tuple_int":
        return StringProperty(default=panel_value(entry, default), **common)
    if kind == "string":
        subtype = "DIR_PATH" if name == "directory" else "FILE_PATH" if name == "path" else "NONE"
        return StringProperty(default=default, subtype=subtype, **common)
    if kind == "int_vector":
        return IntVectorProperty(size=len(default), default=default, **common, **_limits(entry, True))
    if kind == "point" and "color" in name:
        return FloatVectorProperty(size=len(default), subtype="COLOR", default=default, **common,
                                   **_limits(entry, False))
    if kind == "float_vector":
        return FloatVectorProperty(size=len(default), default=default, **common, **_limits(entry, False))
    if kind in ("point", "optional_point"):
        return FloatVectorProperty(size=3, subtype="TRANSLATION", unit="LENGTH",
                                   default=default or (0.0, 0.0, 0.0), **common)
    if kind == "region":
        return FloatVectorProperty(size=4, unit="LENGTH", default=default or (0.0, 0.0, 10.0, 10.0),
                                   **common)
    raise TypeError(f"{name}: no panel property for kind {kind!r}")


def make_group(class_name: str, spec_type) -> type:
    """A PropertyGroup class with one property per field of ``spec_type``."""
    annotations = {}
    for name, entry in field_table(spec_type).items():
        if is_optional(entry["kind"]):
            annotations["use_" + name] = BoolProperty(
                name=f"Set {label_of(name)}", default=entry["default"] is not None,
                description=f"Give {label_of(name).lower()} explicitly (off: {entry['doc']})")
        annotations[name] = make_property(name, entry)
    return type(class_name, (bpy.types.PropertyGroup,),
                {"__annotations__": annotations, "spec_type": spec_type,
                 "__doc__": f"Panel settings of {spec_type.__name__}"})


def to_spec(group, spec_type=None):
    """The spec a PropertyGroup describes; SpecError (naming the field) when it is invalid."""
    spec_type = spec_type or group.spec_type
    kwargs = {}
    for name, entry in field_table(spec_type).items():
        if is_optional(entry["kind"]) and not getattr(group, "use_" + name):
            kwargs[name] = None
        else:
            kwargs[name] = spec_value(entry, getattr(group, name), name)
    return spec_type(**kwargs)


def from_spec(group, spec) -> None:
    """Show ``spec`` in ``group``; SpecError if a value cannot be held exactly by the panel."""
    table = field_table(type(spec))
    for name, entry in table.items():
        value = getattr(spec, name)
        if is_optional(entry["kind"]):
            setattr(group, "use_" + name, value is not None)
            if value is None:
                continue
        try:
            setattr(group, name, panel_value(entry, value))
        except (TypeError, ValueError, OverflowError) as exc:
            raise SpecError(name, f"{value!r} cannot be held by the panel ({exc})",
                            "use a value within the panel's limits, or run this scene from the CLI") from None
    held = to_spec(group, type(spec))
    for name, entry in table.items():
        if not same_value(entry, getattr(spec, name), getattr(held, name)):
            raise SpecError(name, f"{getattr(spec, name)!r} is outside what the panel can hold "
                            f"(it would become {getattr(held, name)!r})",
                            "use a value within the panel's limits, or run this scene from the CLI")


# One group per section of a scene file (``settings.SECTIONS``), in the scene file's order.
SECTION_GROUPS = {name: make_group(f"COLLAPSE_PG_{name}", spec_type)
                  for name, spec_type in SECTIONS.items()}

_MATERIAL_OVERRIDE_ITEMS = [("AUTO", "Automatic", "The building's material for this object's kind")] + [
    (name, label_of(name), f"{label_of(name)}: {m.density:g} kg/m^3, bond {m.bond_strength / 1e3:g} kPa")
    for name, m in MATERIALS.items()
]


class COLLAPSE_PG_object(bpy.types.PropertyGroup):
    """Per-object overrides for an artist's mesh fractured by Collapse."""

    material: EnumProperty(
        name="Material", items=_MATERIAL_OVERRIDE_ITEMS, default="AUTO",
        description="Material preset of this object's shards (density, glue strength, colours)")
    anchor: BoolProperty(
        name="Anchor", default=False,
        description="Keep this object fixed (passive): it holds the building up and never falls")


def _section_pointers() -> dict:
    return {name: PointerProperty(type=group) for name, group in SECTION_GROUPS.items()}


class COLLAPSE_PG_scene(bpy.types.PropertyGroup):
    """Every Collapse setting of a scene: the shot the panel describes (a scene file's content)."""

    __annotations__ = {
        "seed": IntProperty(
            name="Seed", default=0, min=0, max=INT32_MAX,
            description="The shot's one random seed: shards, trigger and every random choice "
                        "follow from it"),
        "source": EnumProperty(
            name="Building", default="PROCEDURAL",
            items=[("PROCEDURAL", "Procedural", "Generate a column-and-slab frame building"),
                   ("SELECTED", "Selected Meshes",
                    "Fracture the selected mesh objects (closed solids; the originals are kept, "
                    "hidden)"),
                   ("FILE", "Mesh File", "Fracture a mesh file (.obj, .city.json, .blend)")],
            description="Where the building comes from"),
        **_section_pointers(),
        "materials_json": StringProperty(
            name="Material Overrides", default="{}", options={"HIDDEN"},
            description="Overrides of the material presets from a loaded scene file (JSON)"),
        "repair_meshes": BoolProperty(
            name="Repair Meshes", default=False,
            description="Close holes and fix non-manifold edges of the selected meshes before "
                        "fracturing (the originals are kept unchanged)"),
        "trigger_object": PointerProperty(
            name="Trigger Empty", type=bpy.types.Object,
            description="Empty whose location places the trigger (blast centre, impact target, "
                        "demolition region centre); move it in the viewport"),
        "scene_file": StringProperty(
            name="Scene File", subtype="FILE_PATH", default="//collapse_scene.toml",
            description="Scene file (TOML) the headless 'collapse' command line reads"),
        "export_format": EnumProperty(
            name="Format", default="ALEMBIC",
            items=[("ALEMBIC", "Alembic", "Baked animation as an .abc file"),
                   ("USD", "USD", "Baked animation as a .usdc file")],
            description="File format of the baked animation export"),
        "preview_frames": IntProperty(
            name="Preview Frames", default=4, min=1, max=100_000,
            description="Frames rendered by Render Preview, spread over the simulated range"),
    }


CLASSES = [*SECTION_GROUPS.values(), COLLAPSE_PG_object, COLLAPSE_PG_scene]


def attach() -> None:
    """Hang the settings on every Scene and Object (after the classes are registered)."""
    bpy.types.Scene.collapse_shot = PointerProperty(type=COLLAPSE_PG_scene)
    bpy.types.Object.collapse_override = PointerProperty(type=COLLAPSE_PG_object)


def detach() -> None:
    """Remove what ``attach`` added (before the classes are unregistered)."""
    for owner, name in ((bpy.types.Object, "collapse_override"), (bpy.types.Scene, "collapse_shot")):
        if hasattr(owner, name):
            delattr(owner, name)


def shot_from_scene(scene) -> ShotSettings:
    """The ShotSettings the scene's panel describes; SpecError naming the field when invalid.

    With the building source ``SELECTED`` the mesh section is left empty: the selected objects
    are passed to the API beside the settings (and written as a .blend reference by the scene-file
    writer).
    """
    settings = scene.collapse_shot
    kwargs = {"seed": settings.seed, "materials": json.loads(settings.materials_json or "{}")}
    for name, spec_type in SECTIONS.items():
        if name == "mesh" and settings.source != "FILE":
            continue
        try:
            kwargs[name] = to_spec(getattr(settings, name), spec_type)
        except SpecError as exc:
            raise SpecError(f"{name}.{exc.field}", exc.problem, exc.fix) from None
    return ShotSettings(**kwargs)


def load_shot_into_scene(scene, shot: ShotSettings) -> None:
    """Show ``shot`` in the scene's panel; SpecError if the panel cannot hold a value exactly."""
    settings = scene.collapse_shot
    if shot.seed > INT32_MAX:
        raise SpecError("seed", f"{shot.seed} is above the panel's limit {INT32_MAX}",
                        "use a smaller seed, or run this scene from the CLI")
    for name in SECTIONS:
        try:
            from_spec(getattr(settings, name), getattr(shot, name))
        except SpecError as exc:
            raise SpecError(f"{name}.{exc.field}", exc.problem, exc.fix) from None
    settings.seed = shot.seed
    settings.source = "FILE" if shot.uses_mesh else "PROCEDURAL"
    settings.materials_json = json.dumps(shot.materials, sort_keys=True)


def hidden_fields(section: str) -> set[str]:
    """Fields of a section the panel does not show (derived from the shot, e.g. the seeds)."""
    return {key for sec, key in DERIVED_KEYS if sec == section}
