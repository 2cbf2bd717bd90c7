"""Procedural building: plausible layout, convex elements that touch but never overlap."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.errors import SpecError


def boxes(building):
    return np.array([e.lo for e in building.elements]), np.array([e.hi for e in building.elements])


def overlap_volumes(lo, hi):
    ext = np.clip(np.minimum(hi[:, None], hi[None]) - np.maximum(lo[:, None], lo[None]), 0, None)
    vol = ext.prod(axis=2)
    np.fill_diagonal(vol, 0)
    return vol


def test_default_building_is_a_plausible_four_storey_frame():
    spec = BuildingSpec()
    b = generate_building(spec)
    kinds = {k: b.count(k) for k in ("foundation", "column", "beam", "slab", "wall")}
    assert spec.storeys == 4
    assert kinds["foundation"] == 1
    assert kinds["column"] == (spec.bays_x + 1) * (spec.bays_y + 1) * spec.storeys
    assert kinds["slab"] == spec.bays_x * spec.bays_y * spec.storeys
    assert kinds["beam"] > 0 and kinds["wall"] > 0
    assert b.hi[2] == pytest.approx(spec.height)
    assert {e.material for e in b.elements} == {"reinforced_concrete", "masonry"}
    assert {e.part for e in b.elements if e.kind == "wall"} == {"pier", "spandrel", "lintel"}


@pytest.mark.parametrize("spec", [BuildingSpec(), BuildingSpec(storeys=10, bays_x=2, bays_y=2),
                                  BuildingSpec(window_width=0, window_height=0, facades=("south",))])
def test_elements_touch_but_never_overlap(spec):
    b = generate_building(spec)
    lo, hi = boxes(b)
    assert (hi - lo > 0).all()
    assert overlap_volumes(lo, hi).max() <= 1e-9
    # every element but the foundation rests on or touches something: nothing floats
    touched = np.zeros(len(lo), bool)
    touched[b.contacts.pairs.ravel()] = True
    assert touched.all()


def test_every_storey_rests_on_the_one_below():
    b = generate_building()
    rests = b.contacts.pairs[b.contacts.rests_on]
    for low, high in rests:
        assert b.elements[low].hi[2] == pytest.approx(b.elements[high].lo[2])
    upper_columns = [e.index for e in b.elements if e.kind == "column" and e.storey > 0]
    supported = set(rests[:, 1].tolist())
    assert set(upper_columns) <= supported


def test_contact_areas_match_box_overlaps():
    b = generate_building()
    lo, hi = boxes(b)
    for (i, j), axis, area in zip(b.contacts.pairs, b.contacts.axis, b.contacts.area, strict=True):
        others = [k for k in range(3) if k != axis]
        expected = np.prod([min(hi[i, k], hi[j, k]) - max(lo[i, k], lo[j, k]) for k in others])
        assert area == pytest.approx(expected, rel=1e-12)


def test_windows_leave_openings():
    spec = BuildingSpec(facades=("south",), storeys=1, bays_y=1)
    b = generate_building(spec)
    walls = [e for e in b.elements if e.kind == "wall"]
    wall_volume = sum(e.volume for e in walls)
    panel = (spec.bay_width - spec.column_section) * spec.wall_clear_height * spec.wall_thickness
    opening = spec.window_width * spec.window_height * spec.wall_thickness
    assert wall_volume == pytest.approx(spec.bays_x * (panel - opening), rel=1e-12)


@pytest.mark.parametrize("field, value", [
    ("bays_x", 0), ("bays_x", 2.5), ("storeys", 0), ("storeys", 1000), ("bay_width", -1.0),
    ("bay_width", 0.0), ("storey_height", float("nan")), ("slab_thickness", 0.0),
    ("column_section", float("inf")), ("window_width", 99.0), ("window_height", 5.0),
    ("facades", ("up",)), ("frame_material", "cheese"), ("beam_width", 2.0),
])
def test_bad_spec_names_the_field(field, value):
    with pytest.raises(SpecError) as info:
        BuildingSpec(**{field: value})
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}:")
