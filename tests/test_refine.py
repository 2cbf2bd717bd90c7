"""Multi-level fracture: denser cells where the stress solver rates the coarse pass highly
utilised (gravity with the demolition's supports removed); shards stay exact (pure, no bpy)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.spatial import cKDTree

from collapse_addon.core import refine
from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.errors import SpecError
from collapse_addon.core.physics import TriggerSpec
from collapse_addon.core.seeds import FractureSpec


@pytest.fixture(scope="module")
def refined():
    building = generate_building(BuildingSpec(bays_x=2, bays_y=1, storeys=2))
    spec = FractureSpec(cell_count=300, seed=7, stress_refine=6.0)
    trigger = TriggerSpec(type="demolition", frame=5, demolition_region=(-1.0, -10.0, 5.0, 10.0))
    shards, coarse, dens = refine.stress_refined_fracture(building, spec, trigger)
    return building, spec, shards, coarse, dens


def test_cells_are_denser_where_utilisation_is_high(refined):
    building, spec, shards, coarse, dens = refined
    assert dens.min() == pytest.approx(1.0) and dens.max() == pytest.approx(spec.stress_refine)
    # shards per cubic metre inside the coarse cells of high and of low density, element by element
    broken = np.array([e.kind != "foundation" for e in building.elements])[coarse.element]
    high, low = (dens >= 0.75 * spec.stress_refine) & broken, (dens <= 1.5) & broken  # (stays whole)
    assert high.any() and low.any()
    counts = np.zeros(coarse.count)
    for e in np.unique(shards.element):
        mine = np.flatnonzero(coarse.element == e)
        if len(mine) == 0:
            continue
        fine = shards.centroid[shards.element == e]
        np.add.at(counts, mine[cKDTree(coarse.centroid[mine]).query(fine)[1]], 1)
    per_m3_high = counts[high].sum() / coarse.volume[high].sum()
    per_m3_low = counts[low].sum() / coarse.volume[low].sum()
    assert per_m3_high > 2.0 * per_m3_low


def test_refined_shards_stay_exact_and_repeat(refined):
    building, spec, shards, coarse, dens = refined
    total = sum(float(np.prod(np.subtract(e.hi, e.lo))) for e in building.elements)
    assert abs(shards.volume.sum() - total) < 1e-9 * total
    assert abs(shards.count - spec.cell_count) <= 0.05 * spec.cell_count + len(building.elements)
    trigger = TriggerSpec(type="demolition", frame=5, demolition_region=(-1.0, -10.0, 5.0, 10.0))
    again = refine.stress_refined_fracture(building, spec, trigger)[0]
    assert np.array_equal(again.vertices, shards.vertices)


def test_stress_refine_is_validated():
    with pytest.raises(SpecError, match="stress_refine"):
        FractureSpec(stress_refine=-1.0)
    assert dataclasses.replace(FractureSpec(), stress_refine=0.0).stress_refine == 0.0
