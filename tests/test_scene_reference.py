"""The scene reference's "allowed" column and key list come from the fields the validators read.

Pure: no bpy. The ranges of ``[building]`` and ``[fracture]`` are declared once on the spec fields
(``core/field_meta.spec_field``); the validators check them and the reference prints them.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing

import pytest

from collapse_addon.core.building import BuildingSpec
from collapse_addon.core.errors import SpecError
from collapse_addon.core.field_meta import allowed_text
from collapse_addon.core.scene_reference import reference_markdown
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.settings import (
    DERIVED_KEYS,
    SECTIONS,
    SceneError,
    _toml_value,
    load_scene,
)

SPECS = {"building": BuildingSpec, "fracture": FractureSpec}


def reference_rows() -> dict[str, dict[str, list[str]]]:
    """Section -> key -> the table row's cells, read from the generated reference."""
    rows: dict[str, dict[str, list[str]]] = {}
    section = None
    for line in reference_markdown().splitlines():
        if line.startswith("## ["):
            section = line[4:-1]
            rows[section] = {}
        elif section and line.startswith("| `"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows[section][cells[0].strip("`")] = cells
    return rows


def _is_numeric_or_enum(cls, f) -> bool:
    """Numbers (or tuples of them, optional or not) and fields with a value set."""
    if f.metadata.get("choices"):
        return True
    tp = typing.get_type_hints(cls)[f.name]
    parts = typing.get_args(tp) if isinstance(tp, types.UnionType) else (tp,)
    for part in parts:
        inner = typing.get_args(part) if typing.get_origin(part) is tuple else (part,)
        if any(t in (int, float) for t in inner):
            return True
    return False


@pytest.mark.parametrize("section", SPECS)
def test_reference_gives_allowed_values_for_every_numeric_or_enumerated_key(section):
    cls = SPECS[section]
    rows = reference_rows()[section]
    checked = 0
    for f in dataclasses.fields(cls):
        if (section, f.name) in DERIVED_KEYS or not _is_numeric_or_enum(cls, f):
            continue
        allowed = rows[f.name][2]
        assert allowed, f"{section}.{f.name} has no allowed range or value set"
        assert allowed == allowed_text(f.metadata)
        checked += 1
    assert checked == len(rows), "every key of this section is numeric or enumerated"


def test_reference_lists_no_key_the_loader_refuses():
    rows = reference_rows()
    for section in SECTIONS:
        for key in rows[section]:
            assert (section, key) not in DERIVED_KEYS, f"{section}.{key} is refused by the loader"
            default = next(f for f in dataclasses.fields(SECTIONS[section]) if f.name == key)
            value = default.default_factory() if default.default_factory is not dataclasses.MISSING \
                else default.default
            if value is None:
                continue  # TOML has no null: the key is left out, which the loader accepts
            load_scene(f"[{section}]\n{key} = {_toml_value(value)}\n")
    for section, key in DERIVED_KEYS:
        with pytest.raises(SceneError, match=f"{section}.{key}"):
            load_scene(f"[{section}]\n{key} = 3\n")


def _outside(f) -> list:
    """Values just outside each finite bound the field declares."""
    lo, hi = f.metadata["range"]
    step = 1 if f.metadata.get("integer") else 1e-6
    out = [math.nan]
    if lo is not None:
        out.append(lo if f.metadata.get("open_low") else lo - step)
    if hi is not None:
        out.append(hi + step)
    if f.metadata.get("integer"):
        out.append((lo if lo is not None else 0) + 1.5)
    return out


@pytest.mark.parametrize("section", SPECS)
def test_validators_refuse_what_the_declared_ranges_exclude(section):
    cls = SPECS[section]
    ranged = [f for f in dataclasses.fields(cls) if f.metadata.get("range") is not None]
    assert ranged
    for f in ranged:
        for value in _outside(f):
            if f.metadata.get("vector"):
                value = (0.0, 0.0, value)
            extra = {"shard_size": None} if f.name == "cell_count" else {}
            with pytest.raises(SpecError) as err:
                cls(**{f.name: value, **extra})
            assert err.value.field == f.name, (f.name, value, str(err.value))
    cls()  # the defaults are inside every range


@pytest.mark.parametrize("section", SPECS)
def test_panel_ranges_lie_inside_what_the_validators_accept(section):
    """The panel's limits (``ui/fields.py``, still a copy) never offer a value the core refuses."""
    from collapse_addon.core.field_meta import in_range
    from collapse_addon.ui.fields import field_table

    cls = SPECS[section]
    panel = field_table(cls)
    checked = 0
    for f in dataclasses.fields(cls):
        if f.metadata.get("range") is None or f.name not in panel:
            continue
        for end in panel[f.name]["range"]:
            if end is not None:
                assert in_range(end, f.metadata), (f.name, panel[f.name]["range"], f.metadata["range"])
                checked += 1
    assert checked
