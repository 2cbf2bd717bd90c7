"""Trigger regions: geometric shard and bond selections that work on the mesh path too."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.errors import SpecError
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.physics import shard_kinds, shard_storeys
from collapse_addon.core.regions import (
    Region,
    bonds_touching,
    crossing_plane,
    in_band,
    in_box,
    in_sphere,
    in_storey,
)
from collapse_addon.core.seeds import FractureSpec

P = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 5], [0.5, 0.2, 3.3]], float)


def test_box_sphere_band():
    assert in_box(P, (0, 0, 0), (1, 1, 1)).tolist() == [True, True, False, False]
    assert in_sphere(P, (0, 0, 0), 1.8).tolist() == [True, True, False, False]
    assert in_band(P, 3.0, 6.0).tolist() == [False, False, True, True]
    assert in_band(P, 3.0, 6.0, plan=(0, 0, 1, 1)).tolist() == [False, False, False, True]
    assert in_storey(P, 1, 3.2).tolist() == [False, False, True, True]
    assert Region("sphere", centre=(2, 2, 5), radius=0.1).select(P).tolist() == [False, False, True, False]


def test_bad_regions_name_the_field():
    with pytest.raises(SpecError, match="radius"):
        in_sphere(P, (0, 0, 0), -1)
    with pytest.raises(SpecError, match="hi"):
        in_box(P, (0, 0, 0), (1, -1, 1))
    with pytest.raises(SpecError, match="storey_height"):
        Region("storey", storey=0)
    with pytest.raises(SpecError, match="kind"):
        Region("cone")
    with pytest.raises(SpecError, match="normal"):
        crossing_plane([[0, 1]], P, (0, 0, 0), (0, 0, 0))


def test_storey_band_matches_the_procedural_storeys():
    spec = BuildingSpec(bays_x=2, bays_y=1, storeys=3)
    building = generate_building(spec)
    shards = fracture_building(building, FractureSpec(cell_count=150, seed=1))
    storeys = shard_storeys(building, shards)
    kinds = shard_kinds(building, shards)
    sel = in_storey(shards.centroid, 0, spec.storey_height)
    # ground-storey columns and walls are all in the band, nothing from storey 2 is
    assert sel[np.isin(kinds, ("column", "wall")) & (storeys == 0)].all()
    assert not sel[storeys == 2].any()
    # a horizontal cut at mid-height of the ground storey crosses only ground-storey bonds
    cut = crossing_plane(shards.contacts.pairs, shards.centroid, (0, 0, 1.6), (0, 0, 1))
    assert cut.any()
    assert (storeys[shards.contacts.pairs[cut]] <= 0).all()
    touching = bonds_touching(shards.contacts.pairs, sel)
    assert touching[cut].all()
