"""The panel's view of the one field table, and the conversions panel values <-> spec values.

Pure Python (no bpy). Every spec field declares its doc, units, range, soft range, value set and
UI hints once, with ``core/field_meta.spec_field``; ``field_table`` reads that declaration (there
is no second copy here) and ``properties.py`` turns it into Blender properties.
"""

from __future__ import annotations

import functools
import math
from dataclasses import MISSING, fields

import numpy as np

from ..core.errors import SpecError
from ..core.field_meta import spec_kinds

# Blender stores int properties as 32-bit signed integers: IntProperty(max=2**40) fails to
# register and assigning 2**31 raises, so the panel's seed stops here while the core takes up to
# 2**63 - 1; loading such a scene into the panel is refused with a SpecError (CLI-only seeds).
INT32_MAX = 2**31 - 1


def spec_defaults(spec_type) -> dict:
    """Default value of every field of a spec dataclass."""
    out = {}
    for f in fields(spec_type):
        out[f.name] = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
    return out


@functools.cache  # panels look tables up on every redraw; the dataclasses never change
def field_table(spec_type) -> dict[str, dict]:
    """The panel entry of every init field of ``spec_type``, read from its field declaration.

    Each entry: ``doc``, ``units``, ``range`` (the panel's hard limits: the declared range, or a
    ``ui`` hint's ``min``/``max`` inside it), ``soft``, ``choices``, ``factor``, ``kind`` and
    ``default``. Raises KeyError naming a field declared without a doc (no tooltip).
    """
    kinds = spec_kinds(spec_type)
    defaults = spec_defaults(spec_type)
    out = {}
    for f in fields(spec_type):
        if not f.init:
            continue
        meta = f.metadata
        if not meta.get("doc"):
            raise KeyError(f"{spec_type.__name__}.{f.name} has no tooltip (doc): declare it "
                           "with spec_field(..., doc=...)")
        ui = meta.get("ui") or {}
        lo, hi = meta.get("range") or (None, None)
        entry = {"doc": meta["doc"], "units": meta.get("units") or "", "kind": kinds[f.name],
                 "range": (ui.get("min", lo), ui.get("max", hi)), "default": defaults[f.name]}
        if meta.get("soft"):
            entry["soft"] = meta["soft"]
        if meta.get("choices"):
            entry["choices"] = meta["choices"]
        if ui.get("factor"):
            entry["factor"] = True
        out[f.name] = entry
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
