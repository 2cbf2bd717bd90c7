"""The one field table: every spec field declares its default, doc, unit and allowed values once.

Pure (no bpy). A field made with ``spec_field`` carries, in its dataclass metadata, everything
that is said about it anywhere: ``doc`` (scene reference and panel tooltip), ``units``, ``range``
(lo, hi; either may be None), ``open_low`` (the lower bound itself is refused), ``integer``,
``soft`` (the panel's slider range), ``choices`` (a value set), ``allowed`` (the allowed text of a
list or region whose rule a range cannot say), ``hint`` (a fix to suggest), ``vector`` (each item
of a tuple has the range; a label such as "[x, y, z]") and ``ui`` (panel-only hints, e.g.
``{"min": 0.01}`` or ``{"factor": True}``).

Everything else is derived from that one declaration: ``check_fields`` (the one generic
validator: type, value set and range of every field), ``allowed_text`` (the reference's
"allowed" column), ``field_kind`` (the panel's property kind) and, in ``ui/fields.py``, the
add-on's properties. Cross-field rules (trigger timing, windows that must fit a wall, ...) stay
explicit functions beside their specs.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
import types
import typing
from dataclasses import MISSING, field, fields

import numpy as np

from .errors import SpecError


def spec_field(default=MISSING, *, doc: str = "", unit: str = "", limits: tuple | None = None,
               open_low: bool = False, integer: bool = False, soft_limits: tuple | None = None,
               choices: tuple | None = None, allowed: str = "", hint: str = "",
               vector: bool | str = False, ui: dict | None = None, default_factory=MISSING):
    """A dataclass field with its whole description (see the module docstring)."""
    meta = {"doc": " ".join(doc.split()), "units": unit, "range": limits, "open_low": open_low,
            "integer": integer, "soft": soft_limits, "choices": choices, "allowed": allowed,
            "hint": hint, "vector": vector, "ui": dict(ui or {})}
    return field(default=default, default_factory=default_factory, metadata=meta)


# ------------------------------------------------------------------------------- kinds and text


def infer_kind(annotation) -> str:
    """The kind of a field from its type annotation (bool, int, float, point, region, ...)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        inner = infer_kind(options[0])
        if inner == "region":
            return "region"  # a region is optional by nature (none: everywhere)
        if inner in ("point", "float", "int"):
            return "optional_" + inner
        raise TypeError(f"no field kind for optional {annotation!r}")
    if origin is tuple:
        args = typing.get_args(annotation)
        if len(args) == 2 and args[1] is Ellipsis:
            return {str: "tuple_str", int: "tuple_int"}[args[0]]
        if all(a is float for a in args):
            return {3: "point", 4: "region"}.get(len(args), "float_vector")
        if all(a is int for a in args):
            return "int_vector"
    if annotation in (bool, int, float, str):
        return annotation.__name__.replace("str", "string")
    raise TypeError(f"no field kind for {annotation!r}")


@functools.cache  # the dataclasses never change
def spec_kinds(spec_type) -> dict[str, str]:
    """Field name -> kind for every init field of a spec dataclass (choice for a str with choices)."""
    hints = typing.get_type_hints(spec_type)
    out = {}
    for f in fields(spec_type):
        if f.init and f.metadata:  # declared with spec_field (not, e.g., a whole section)
            kind = infer_kind(hints[f.name])
            out[f.name] = "choice" if kind == "string" and f.metadata.get("choices") else kind
    return out


def field_kind(spec_type, name: str) -> str:
    return spec_kinds(spec_type)[name]


def _fmt(value) -> str:
    """A bound as people read it: 0.5, 1e+06; 2^63 - 1 for the largest seed."""
    if isinstance(value, int) and value >= 2**32 and (value + 1) & value == 0:
        return f"2^{value.bit_length()} - 1"
    return f"{value:g}"


def _span(meta) -> str:
    lo, hi = meta.get("range") or (None, None)
    low = None if lo is None else (f"> {_fmt(lo)}" if meta.get("open_low") else f">= {_fmt(lo)}")
    if lo is not None and hi is not None:
        return (f"{_fmt(lo)} to {_fmt(hi)}" if not meta.get("open_low")
                else f"> {_fmt(lo)} and <= {_fmt(hi)}")
    if low is not None:
        return low
    return f"<= {_fmt(hi)}" if hi is not None else "any finite value"


def _vector_label(meta) -> str:
    vector = meta.get("vector")
    return vector if isinstance(vector, str) else "[x, y, z]"


_WHOLE = ("int", "optional_int", "tuple_int", "int_vector")


def allowed_text(meta, kind: str = "") -> str:
    """The allowed values as the scene reference writes them; "" when the field declares none.

    ``kind`` (``field_kind``) marks whole numbers of fields declared with an ``int`` annotation.
    """
    if meta.get("allowed"):
        return meta["allowed"]
    if meta.get("choices"):
        return ", ".join(f"`{c}`" for c in meta["choices"])
    if meta.get("range") is None:
        return ""
    text = _span(meta)
    if meta.get("integer") or kind in _WHOLE:
        text = f"whole number {text}"
    text = f"{text} {meta.get('units') or ''}".strip()
    return f"{_vector_label(meta)}, each {text}" if meta.get("vector") else text


# ---------------------------------------------------------------------------------- validation


def in_range(value, meta) -> bool:
    """Whether a number ``value`` lies in the field's declared range."""
    lo, hi = meta.get("range") or (None, None)
    if not math.isfinite(value):
        return False
    if lo is not None and (value <= lo if meta.get("open_low") else value < lo):
        return False
    return hi is None or value <= hi


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _is_number(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_)


def check_value(name: str, value, meta, *, integer_types=(int, np.integer), whole=None) -> None:
    """Raise SpecError naming ``name`` unless the number ``value`` fits the field's type and range.

    ``whole``: ``value`` is one item of the tuple ``whole`` (shown in the message).
    """
    span = _span(meta)
    shown = "from " + span if " to " in span else span
    unit = f" {meta['units']}" if meta.get("units") else ""
    each = "each item " if whole is not None else ""
    got = value if whole is None else whole
    if meta.get("integer"):
        fix = meta.get("hint") or f"use a whole number {shown}"
        if isinstance(value, bool) or not isinstance(value, integer_types):
            raise SpecError(name, f"{each}must be a whole number, got {got!r}", fix)
    else:
        fix = meta.get("hint") or f"use a value {shown}{unit}"
        if not _is_number(value):
            raise SpecError(name, f"{each}must be a number, got {got!r}", fix)
    if not in_range(value, meta):
        raise SpecError(name, f"{each}must be {shown}{unit}, got {got!r}", fix)


def check_choice(name: str, value, choices, what: str = "value") -> None:
    """Raise SpecError unless ``value`` is one of ``choices`` (suggesting the nearest)."""
    if value in choices:
        return
    near = difflib.get_close_matches(str(value)[:100], [str(c) for c in choices], n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    raise SpecError(name, f"unknown {what} {value!r}", f"{hint}choose from {', '.join(map(str, choices))}")


_OPTIONAL = ("optional_float", "optional_int", "optional_point", "region")
_SIZES = {"point": 3, "optional_point": 3, "region": 4}


def check_field(name: str, value, meta, kind: str) -> None:
    """Check one value against its field's declaration (type, value set, range)."""
    if value is None:
        if kind in _OPTIONAL:
            return
        raise SpecError(name, "is required", meta.get("hint") or "give a value")
    if kind == "bool":
        if not isinstance(value, bool | np.bool_):
            raise SpecError(name, f"must be true or false, got {value!r}", "use true or false")
        return
    if kind == "string":
        if not isinstance(value, str):
            raise SpecError(name, f"must be a string, got {value!r}", 'write it in quotes, e.g. "..."')
        return
    if kind == "choice":
        check_choice(name, value, meta["choices"])
        return
    if kind in ("int", "float", "optional_int", "optional_float"):
        check_value(name, value, {**meta, "range": meta.get("range") or (None, None),
                                  "integer": meta.get("integer") or kind in _WHOLE})
        return
    # tuples: lists of choices, lists of whole numbers, points, regions, vectors
    if isinstance(value, str | bytes) or not isinstance(value, tuple | list | np.ndarray):
        raise SpecError(name, f"must be a list, got {value!r}", meta.get("hint") or "write it as [...]")
    size = _SIZES.get(kind)
    if size is not None and len(value) != size:
        label = _vector_label(meta) if kind != "region" else "a list of 4 numbers"
        raise SpecError(name, f"must have {size} items, got {value!r}", meta.get("hint") or f"give {label}")
    if kind == "tuple_str":
        for item in value:
            check_choice(name, item, meta["choices"])
        return
    item_meta = {**meta, "range": meta.get("range") or (None, None),
                 "integer": meta.get("integer") or kind in _WHOLE}
    for item in value:
        check_value(name, item, item_meta, whole=value)


def check_fields(obj, *, skip: tuple = ()) -> None:
    """The one generic validator: every declared field of ``obj`` against its table entry.

    Raises SpecError naming the field (its ``field``; the loader adds the section). Fields made
    without ``spec_field`` (no metadata) and names in ``skip`` are left to their own checks.
    """
    kinds = spec_kinds(type(obj))
    for f in fields(obj):
        if f.name in skip or not f.metadata or f.name not in kinds:
            continue
        check_field(f.name, getattr(obj, f.name), f.metadata, kinds[f.name])


# ------------------------------------------------------------------------------------ CLI help


def field_meta(spec_type, name: str):
    """The table entry (dataclass metadata) of one field."""
    return next(f.metadata for f in fields(spec_type) if f.name == name)


def option_help(spec_type, name: str, key: str) -> str:
    """Help of a CLI option that overrides the scene key ``key`` (e.g. ``render.threads``), from
    the field's doc and allowed values (sentences about the option itself are left out)."""
    meta = field_meta(spec_type, name)
    doc = re.split(r"\s+(?=--\w)", meta["doc"])[0]  # up to a sentence naming the option
    allowed = allowed_text(meta, field_kind(spec_type, name))
    return (f"Overrides the scene's {key}: {doc.rstrip('.')}." + (f" Allowed: {allowed}." if allowed else ""))
