"""Element contacts at scale: the grid search finds exactly the pairs all-pairs would, the element
count is known before building, and a spec too large to fracture is refused up front. Pure."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core.building import (
    BuildingSpec,
    element_box_contacts,
    estimate_element_count,
    generate_building,
    grid_box_pairs,
)
from collapse_addon.core.errors import SpecError


def _all_pairs(lo, hi):
    i, j = np.triu_indices(len(lo), k=1)
    touch = ((lo[i] <= hi[j]) & (lo[j] <= hi[i])).all(1)
    return set(zip(i[touch].tolist(), j[touch].tolist(), strict=True))


def test_grid_pairs_are_exactly_the_overlapping_pairs():
    rng = np.random.default_rng(5)
    lo = rng.random((1500, 3)) * [40, 20, 10]
    hi = lo + rng.random((1500, 3)) ** 3 * [12, 3, 2]  # mostly small boxes, a few long ones
    a, b = grid_box_pairs(lo, hi)
    assert set(zip(a.tolist(), b.tolist(), strict=True)) == _all_pairs(lo, hi)
    assert (a < b).all()


def test_building_contacts_match_all_pairs_on_a_small_building():
    building = generate_building(BuildingSpec(storeys=2, bays_x=2, bays_y=2))
    lo = np.array([e.lo for e in building.elements])
    hi = np.array([e.hi for e in building.elements])
    contacts = element_box_contacts(lo, hi)
    found = set(map(tuple, contacts.pairs.tolist()))
    assert found <= _all_pairs(lo - 1e-9, hi + 1e-9)  # candidates, then the face test
    assert len(found) == len(contacts.pairs) > 0


@pytest.mark.parametrize("kw", [{}, {"storeys": 5, "bays_x": 4, "bays_y": 3},
                                {"window_width": 0, "window_height": 0}, {"facades": ("west",)}])
def test_element_count_is_known_before_building(kw):
    spec = BuildingSpec(**kw)
    assert estimate_element_count(spec) == len(generate_building(spec).elements)


def test_a_building_too_large_to_fracture_is_refused_with_its_estimate():
    with pytest.raises(SpecError, match=r"660,061 elements \(about 4\.0 GiB"):
        BuildingSpec(storeys=60, bays_x=50, bays_y=50)
