"""The scene reference's "allowed" column and key list come from the fields the validators read.

Pure: no bpy. Every section's fields (and the material overrides') are declared once with
``core/field_meta.spec_field``; the one validator checks them, the reference prints them and the
panel's limits come from them. The cases below are generated from that table, not listed by hand.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from pathlib import Path

import pytest

from collapse_addon.core.building import BuildingSpec
from collapse_addon.core.errors import SpecError
from collapse_addon.core.field_meta import field_kind
from collapse_addon.core.materials import Material
from collapse_addon.core.scene_reference import field_allowed, reference_markdown
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


# Every section of a scene file, and the material overrides (written [materials.NAME]).
TABLES = {**SECTIONS, "materials.NAME": Material}


def _keys(section):
    cls = TABLES[section]
    return [f for f in dataclasses.fields(cls) if f.init and (section, f.name) not in DERIVED_KEYS
            and not (cls is Material and f.name == "name")]


@pytest.mark.parametrize("section", TABLES)
def test_reference_gives_allowed_values_for_every_numeric_or_enumerated_key(section):
    cls = TABLES[section]
    rows = reference_rows()[section]
    column = 1 if section.startswith("materials") else 2
    numeric = 0
    for f in _keys(section):
        allowed = rows[f.name][column]
        assert allowed == field_allowed(cls, f), f"{section}.{f.name}: not the table's text"
        if _is_numeric_or_enum(cls, f):
            assert allowed, f"{section}.{f.name} has no allowed range or value set"
            numeric += 1
    assert set(rows) == {f.name for f in _keys(section)}
    if section not in ("mesh",):
        assert numeric, section


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
    from collapse_addon.core.materials import MATERIALS

    for key in rows["materials.NAME"]:  # each override key, set to the preset's own value
        value = getattr(MATERIALS["concrete"], key)
        assert load_scene(f"[materials.concrete]\n{key} = {_toml_value(value)}\n")


def _outside(cls, f) -> list:
    """Values just outside each finite bound the field declares (and not a number at all)."""
    meta, kind = f.metadata, field_kind(cls, f.name)
    whole = meta.get("integer") or kind in ("int", "optional_int", "tuple_int", "int_vector")
    lo, hi = meta.get("range") or (None, None)
    out = [] if whole else [math.nan]
    for bound, sign in ((lo, -1), (hi, 1)):
        if bound is None:
            continue
        if whole:
            out.append(int(bound) + sign)
        elif sign < 0 and meta.get("open_low"):
            out.append(float(bound))
        else:
            out.append(float(bound) + sign * 1e-6 * max(1.0, abs(bound)))
    if whole:
        out.append((lo if lo is not None else 0) + 1.5)
    return out


def _toml_cases(section):
    """(key, TOML value) pairs the loader must refuse, generated from the field table."""
    cls = TABLES[section]
    for f in _keys(section):
        kind = field_kind(cls, f.name)
        default = _default(cls, f)
        if f.metadata.get("choices"):
            yield f.name, '["no_such_value"]' if kind == "tuple_str" else '"no_such_value"'
        if f.metadata.get("range") is None or kind in ("bool", "string", "choice", "tuple_str"):
            continue
        for value in _outside(cls, f):
            if kind in ("int", "float", "optional_int", "optional_float"):
                yield f.name, _toml_value(value)
            else:  # a list: one item outside, the others as the default (or inside)
                base = list(default) if default is not None else [0.0] * {"region": 4}.get(kind, 3)
                if kind == "region":
                    base = [0.0, 0.0, 1.0, 1.0]
                yield f.name, _toml_value([value, *base[1:]])


def _default(cls, f):
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


@pytest.mark.parametrize("section", TABLES)
def test_loader_refuses_values_just_outside_every_declared_range_naming_the_key(section):
    cases = list(_toml_cases(section))
    assert cases, section
    for key, value in cases:
        if section.startswith("materials"):
            text, where = f"[materials.concrete]\n{key} = {value}\n", f"materials.concrete.{key}"
        else:
            text, where = f"[{section}]\n{key} = {value}\n", f"{section}.{key}"
        with pytest.raises(SceneError) as err:
            load_scene(text)
        assert err.value.key == where, (text, str(err.value))
        assert err.value.fix, (text, str(err.value))


@pytest.mark.parametrize("section", SPECS)
def test_validators_refuse_what_the_declared_ranges_exclude(section):
    cls = SPECS[section]
    ranged = [f for f in dataclasses.fields(cls) if f.metadata.get("range") is not None]
    assert ranged
    for f in ranged:
        for value in _outside(cls, f):
            if f.metadata.get("vector"):
                value = (0.0, 0.0, value)
            extra = {"shard_size": None} if f.name == "cell_count" else {}
            with pytest.raises(SpecError) as err:
                cls(**{f.name: value, **extra})
            assert err.value.field == f.name, (f.name, value, str(err.value))
    cls()  # the defaults are inside every range


@pytest.mark.parametrize("section", SECTIONS)
def test_panel_ranges_lie_inside_what_the_validators_accept(section):
    """The panel's limits (derived from the same table) never offer a value the core refuses."""
    from collapse_addon.core.field_meta import in_range
    from collapse_addon.ui.fields import field_table

    cls = SECTIONS[section]
    panel = field_table(cls)
    for f in dataclasses.fields(cls):
        if f.metadata.get("range") is None or f.name not in panel:
            continue
        for end in panel[f.name]["range"]:
            if end is not None:
                assert in_range(end, f.metadata), (f.name, panel[f.name]["range"], f.metadata["range"])


def test_cli_options_that_mirror_fields_take_help_and_range_from_the_table():
    from click.testing import CliRunner

    from collapse_addon.core.field_meta import field_meta
    from collapse_addon.core.settings import RenderSettings
    from headless.cli import cli

    help_text = " ".join(CliRunner().invoke(cli, ["render", "--help"]).output.split())
    threads = next(f for f in dataclasses.fields(RenderSettings) if f.name == "threads")
    assert f"Allowed: {field_allowed(RenderSettings, threads)}." in help_text
    hi = field_meta(RenderSettings, "threads")["range"][1]
    result = CliRunner().invoke(cli, ["render", str(Path(__file__).resolve().parents[1] / "scenes" / "demo.toml"), "--threads", str(hi + 1)])
    assert result.exit_code == 2 and "--threads" in result.output


def test_top_level_seed_is_declared_in_the_table_too():
    from collapse_addon.core.settings import ShotSettings

    seed = next(f for f in dataclasses.fields(ShotSettings) if f.name == "seed")
    assert reference_rows_top()["seed"][2] == field_allowed(ShotSettings, seed)
    for value in _outside(ShotSettings, seed):
        if abs(value) < 2**63:  # TOML integers stop at 2^63 - 1
            with pytest.raises(SceneError) as err:
                load_scene(f"seed = {_toml_value(value)}\n")
            assert err.value.key == "seed"


def reference_rows_top() -> dict[str, list[str]]:
    text = reference_markdown().split("## [")[0]
    return {c[0].strip("`"): c for c in ([x.strip() for x in line.strip("|").split(" | ")]
                                         for line in text.splitlines() if line.startswith("| `"))}
