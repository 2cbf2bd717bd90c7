"""Field tables of the specs the panel edits, and the conversions panel values <-> spec values.

Pure Python (no bpy): the tables say, for every field of a core spec dataclass, its tooltip, units,
allowed range and kind. ``properties.py`` turns them into Blender properties; tests check that each
table names exactly the dataclass's fields, so the panel cannot drift from the core.

``SimulationSpec`` and ``TriggerSpec`` carry this metadata on their own fields
(``physics.field_info``); ``BuildingSpec`` and ``FractureSpec`` do not, so their tables live here,
with ranges copied from their validators.
"""

from __future__ import annotations

import functools
import math
import types
import typing
from dataclasses import MISSING, fields

import numpy as np

from ..core.building import FACADES, BuildingSpec
from ..core.errors import SpecError
from ..core.materials import MATERIALS
from ..core.seeds import MAX_CELLS, PATTERNS, FractureSpec

# Blender stores int properties as 32-bit signed integers: IntProperty(max=2**40) fails to
# register and assigning 2**31 raises, so the panel's seed stops here while the core takes up to
# 2**63 - 1; loading such a scene into the panel is refused with a SpecError (CLI-only seeds).
INT32_MAX = 2**31 - 1


def meta(doc: str, units: str = "", lo=None, hi=None, kind: str = "float", **extra) -> dict:
    """One field's UI metadata, in the same shape as ``physics._meta``."""
    return {"doc": doc, "units": units, "range": (lo, hi), "kind": kind, **extra}


BUILDING_FIELDS: dict[str, dict] = {
    "bays_x": meta("Number of bays (column grid spans) along x", "", 1, 50, "int"),
    "bays_y": meta("Number of bays along y", "", 1, 50, "int"),
    "bay_width": meta("Column spacing along x (more than the column section + 0.2 m)", "m",
                      0.01, 100.0, soft=(2.0, 20.0)),
    "bay_depth": meta("Column spacing along y (more than the column section + 0.2 m)", "m",
                      0.01, 100.0, soft=(2.0, 20.0)),
    "storeys": meta("Number of storeys above the foundation", "", 1, 60, "int"),
    "storey_height": meta("Floor-to-floor height", "m", 0.01, 100.0, soft=(2.4, 6.0)),
    "slab_thickness": meta("Thickness of each floor slab", "m", 0.01, 100.0, soft=(0.1, 0.5)),
    "column_section": meta("Side of the square columns", "m", 0.01, 100.0, soft=(0.2, 1.2)),
    "beam_depth": meta("Depth of the beams under the slabs", "m", 0.01, 100.0, soft=(0.2, 1.0)),
    "beam_width": meta("Width of the beams (at most the column section)", "m", 0.01, 100.0,
                       soft=(0.15, 1.0)),
    "wall_thickness": meta("Thickness of the facade walls (at most the column section)", "m",
                           0.01, 100.0, soft=(0.1, 0.6)),
    "window_width": meta("Width of the window in each wall panel (0: solid walls)", "m",
                         0.0, 100.0, soft=(0.0, 4.0)),
    "window_height": meta("Height of each window (0: solid walls)", "m", 0.0, 100.0,
                          soft=(0.0, 3.0)),
    "window_sill": meta("Height of the window sill above the floor", "m", 0.0, 100.0,
                        soft=(0.0, 2.0)),
    "facades": meta("Facades that get walls", kind="tuple_str", choices=FACADES),
    "foundation_depth": meta("Depth of the foundation slab under the building", "m",
                             0.01, 100.0, soft=(0.2, 2.0)),
    "foundation_margin": meta("How far the foundation reaches beyond the columns", "m",
                              0.0, 100.0, soft=(0.0, 3.0)),
    "frame_material": meta("Material of columns, beams, slabs and foundation", kind="choice",
                           choices=tuple(MATERIALS)),
    "wall_material": meta("Material of the facade walls", kind="choice",
                          choices=tuple(MATERIALS)),
}

FRACTURE_FIELDS: dict[str, dict] = {
    "cell_count": meta("Total number of shards over every fractured element", "", 1, MAX_CELLS,
                       "int", soft=(10, 20_000)),
    "shard_size": meta("Typical shard edge; replaces the shard count when set", "m", 0.001,
                       1000.0, "optional_float", soft=(0.05, 5.0)),
    "pattern": meta("Seed pattern: uniform, impact (clustered at the focus) or graded "
                    "(denser towards the focus)", kind="choice", choices=PATTERNS),
    "focus": meta("Point the impact/graded pattern is centred on", "m",
                  kind="optional_point"),
    "focus_height": meta("Height the graded pattern densifies towards (when no focus point)",
                         "m", -1e5, 1e5, "optional_float"),
    "radius": meta("Radius of the impact cluster or of the grading", "m", 0.001, 1e5,
                   soft=(0.1, 20.0)),
    "concentration": meta("Fraction of shards clustered around the impact focus", "", 0.0, 1.0,
                          factor=True),
    "grade_ratio": meta("How many times denser the graded pattern is at its focus", "",
                        0.001, 1e5, soft=(1.0, 50.0)),
    "min_cells_per_element": meta("Fewest shards an element breaks into (1: small elements "
                                  "may stay whole)", "", 1, INT32_MAX, "int", soft=(1, 50)),
    "gap": meta("Gap left between neighbouring shards (0: exact, touching shards)", "m",
                0.0, 0.5, soft=(0.0, 0.05)),
    "seed": meta("Random seed: the same seed gives the same shards", "", 0, INT32_MAX, "int"),
    "min_shard_volume": meta("No shard below this volume: a smaller cell's seed is dropped (0: off)",
                             "m^3", 0.0, 1000.0, soft=(0.0, 0.01)),
    "stress_refine": meta("Up to this many times denser shards where a coarse pass is highly "
                          "loaded under gravity and the trigger (0: off)", "", 0.0, 50.0,
                          soft=(0.0, 8.0)),
}


def spec_defaults(spec_type) -> dict:
    """Default value of every field of a spec dataclass."""
    out = {}
    for f in fields(spec_type):
        out[f.name] = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
    return out


def infer_kind(annotation) -> str:
    """The panel kind of a field from its type annotation (for specs without a ``kind``)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = infer_kind(options[0])
        if inner == "point":
            return "optional_point"
        if inner == "float":
            return "optional_float"
        raise TypeError(f"no panel kind for optional {annotation!r}")
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return {str: "tuple_str", int: "tuple_int"}[args[0]]
        if all(a is float for a in args):
            return {3: "point", 4: "region"}[len(args)] if len(args) in (3, 4) else "float_vector"
        if all(a is int for a in args):
            return "int_vector"
    if annotation is bool:
        return "bool"
    if annotation is int:
        return "int"
    if annotation is float:
        return "float"
    if annotation is str:
        return "string"
    raise TypeError(f"no panel kind for {annotation!r}")


@functools.cache  # panels look tables up on every redraw; the dataclasses never change
def field_table(spec_type) -> dict[str, dict]:
    """The UI metadata of every field of ``spec_type``, each with its ``default`` and ``kind``.

    Raises KeyError naming the field when a table and the dataclass disagree, so a field added to
    the core without a panel entry fails at import and in the tests, not silently in the UI.
    """
    if spec_type is BuildingSpec:
        table = BUILDING_FIELDS
    elif spec_type is FractureSpec:
        table = FRACTURE_FIELDS
    else:
        table = {f.name: dict(f.metadata) for f in fields(spec_type) if f.init}
    defaults = {k: v for k, v in spec_defaults(spec_type).items() if k in {f.name for f in fields(spec_type) if f.init}}
    missing = set(defaults) - set(table)
    extra = set(table) - set(defaults)
    if missing or extra:
        raise KeyError(f"{spec_type.__name__}: fields without UI metadata {sorted(missing)}, "
                       f"UI entries without a field {sorted(extra)}")
    hints = typing.get_type_hints(spec_type)
    out = {}
    for name in defaults:
        entry = {k: v for k, v in table[name].items() if v is not None}
        entry.setdefault("units", "")
        entry["range"] = table[name].get("range") or (None, None)
        if "kind" not in entry:
            entry["kind"] = infer_kind(hints[name])
            if entry["kind"] == "string" and entry.get("choices"):
                entry["kind"] = "choice"
        if not entry.get("doc"):
            raise KeyError(f"{spec_type.__name__}.{name} has no tooltip (doc)")
        out[name] = {**entry, "default": defaults[name]}
    return out


def float32_clean(value: float) -> float:
    """The decimal a user typed, from a value Blender stored as float32 (0.2199999988 -> 0.22)."""
    return float(str(np.float32(value)))


def parse_int_list(text: str, name: str) -> tuple[int, ...]:
    """``"0, 2"`` -> ``(0, 2)``, with a SpecError naming the field on bad input."""
    try:
        values = tuple(int(part) for part in text.replace(";", ",").split(",") if part.strip())
    except ValueError:
        raise SpecError(name, f"must be whole numbers separated by commas, got {text!r}",
                        "e.g. 0 or 0, 1") from None
    return values


def format_int_list(values) -> str:
    return ", ".join(str(int(v)) for v in values)


def panel_value(entry: dict, value):
    """A spec value as the panel stores it (for optional kinds: the value part only)."""
    if entry["kind"] == "tuple_str":
        return set(value)
    if entry["kind"] == "tuple_int":
        return format_int_list(value)
    return value


def spec_value(entry: dict, value, name: str):
    """A panel value as the spec wants it (floats cleaned of float32 noise)."""
    kind = entry["kind"]
    if kind in ("float", "optional_float"):
        return float32_clean(value)
    if kind in ("point", "optional_point", "region", "float_vector"):
        return tuple(float32_clean(v) for v in value)
    if kind == "int_vector":
        return tuple(int(v) for v in value)
    if kind == "string":
        return str(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    if kind == "tuple_str":
        order = tuple(entry["choices"])
        return tuple(sorted(value, key=lambda v: order.index(v) if v in order else math.inf))
    if kind == "tuple_int":
        return parse_int_list(value, name)
    return value


def same_value(entry: dict, a, b) -> bool:
    """Whether two spec values agree to the precision the panel holds (float32 for floats)."""
    if a is None or b is None:
        return a is None and b is None
    kind = entry["kind"]
    if kind in ("float", "optional_float"):
        return float32_clean(a) == float32_clean(b)
    if kind in ("point", "optional_point", "region", "float_vector"):
        return len(a) == len(b) and all(float32_clean(x) == float32_clean(y) for x, y in zip(a, b, strict=True))
    if kind == "tuple_str":
        return set(a) == set(b)
    return a == b


def is_optional(kind: str) -> bool:
    return kind.startswith("optional_") or kind == "region"
