"""Allowed values of a spec field, declared once on the field and read by its validator and the docs.

Pure (no bpy). A field made with ``spec_field`` carries the same metadata keys as
``settings.setting`` (``range``, ``choices``, ``units``, ``doc``) plus ``open_low`` (the lower
bound itself is refused), ``integer`` and ``hint`` (a fix to suggest). ``check_value`` is the
validator's range check and ``allowed_text`` the scene reference's "allowed" column, both from
that one declaration.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, field

from .errors import SpecError


def spec_field(default=MISSING, *, limits: tuple | None = None, open_low: bool = False,
               integer: bool = False, choices: tuple | None = None, unit: str = "",
               hint: str = "", vector: bool = False, default_factory=MISSING):
    """A dataclass field with its allowed values: ``limits`` (lo, hi), either may be None.

    ``vector``: the value is [x, y, z] and each coordinate has the range.
    """
    meta = {"doc": "", "range": limits, "choices": choices, "units": unit, "open_low": open_low,
            "integer": integer, "hint": hint, "vector": vector}
    return field(default=default, default_factory=default_factory, metadata=meta)


def _span(meta) -> str:
    lo, hi = meta.get("range") or (None, None)
    low = None if lo is None else (f"> {lo:g}" if meta.get("open_low") else f">= {lo:g}")
    if lo is not None and hi is not None:
        return f"{lo:g} to {hi:g}" if not meta.get("open_low") else f"> {lo:g} and <= {hi:g}"
    if low is not None:
        return low
    return f"<= {hi:g}" if hi is not None else "any finite value"


def allowed_text(meta) -> str:
    """The allowed values as the scene reference writes them; "" when the field declares none."""
    if meta.get("choices"):
        return ", ".join(f"`{c}`" for c in meta["choices"])
    if meta.get("range") is None or (meta["range"] == (None, None) and "open_low" not in meta):
        return ""
    text = _span(meta)
    if meta.get("integer"):
        text = f"whole number {text}"
    text = f"{text} {meta.get('units') or ''}".strip()
    return f"[x, y, z], each {text}" if meta.get("vector") else text


def in_range(value, meta) -> bool:
    """Whether a number ``value`` lies in the field's declared range."""
    lo, hi = meta.get("range") or (None, None)
    if not math.isfinite(value):
        return False
    if lo is not None and (value <= lo if meta.get("open_low") else value < lo):
        return False
    return hi is None or value <= hi


def check_value(name: str, value, meta, *, integer_types=(int,)) -> None:
    """Raise SpecError naming ``name`` unless ``value`` fits the field's type and range."""
    if meta.get("range") is None:
        return
    span = _span(meta)
    shown = "from " + span if " to " in span else span
    unit = f" {meta['units']}" if meta.get("units") else ""
    if meta.get("integer"):
        fix = meta.get("hint") or f"use a whole number {shown}"
        if isinstance(value, bool) or not isinstance(value, integer_types):
            raise SpecError(name, f"must be an integer, got {value!r}", fix)
    else:
        fix = meta.get("hint") or f"use a value {shown}{unit}"
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SpecError(name, f"must be a number, got {value!r}", fix)
    if not in_range(value, meta):
        raise SpecError(name, f"must be {shown}{unit}, got {value!r}", fix)
