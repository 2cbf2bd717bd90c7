"""Two real IFC buildings end to end (pure, no bpy): the Duplex apartment (IFC2X3, 4 levels, with
footings, windows and doors) and the KIT FZK house (IFC4, pitched roof on rafters, spiral stair)
import as element-aware buildings, fracture into closed shards that keep the building's volume,
give the support graph their kinds (walls carry, windows and doors are weak joints), stand awake
with no trigger and come down when their ground storey is demolished (the actor solver).

Skipped where IfcOpenShell is not installed (an optional extra). Marked slow: fracturing each
building takes 5-8 s of CPU (10-25 s wall on the shared 2-core machine), each demolition about a
minute of CPU."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ifcopenshell")

from shard_checks import assert_closed_outward  # noqa: E402

from collapse_addon.core.actor_solver import bake_actors  # noqa: E402
from collapse_addon.core.ifc import read_ifc_elements  # noqa: E402
from collapse_addon.core.mesh_prepare import prepare_mesh  # noqa: E402
from collapse_addon.core.mesh_route import fracture_mesh_file  # noqa: E402
from collapse_addon.core.physics import SimulationSpec, TriggerSpec  # noqa: E402
from collapse_addon.core.seeds import FractureSpec  # noqa: E402
from collapse_addon.core.settings import MeshSource  # noqa: E402
from collapse_addon.core.support_graph import build_support_graph  # noqa: E402

DATA = Path(__file__).parent / "data"
FILES = {"duplex": DATA / "duplex_apartment.ifcZIP", "fzk": DATA / "AC20-FZK-Haus.ifcZIP"}
COUNTS = {
    "duplex": {"IfcWallStandardCase": 56, "IfcWindow": 24, "IfcSlab": 21, "IfcDoor": 14, "IfcBeam": 8,
               "IfcFooting": 7, "IfcMember": 4, "IfcStairFlight": 2, "IfcWall": 1},
    "fzk": {"IfcMember": 42, "IfcWallStandardCase": 13, "IfcWindow": 11, "IfcDoor": 5, "IfcBeam": 4,
            "IfcSlab": 4, "IfcStair": 1},
}
GROUND_STOREY = {"duplex": 1, "fzk": 0}  # IFC storey at elevation 0 (the Duplex has T/FDN below)


@pytest.fixture(scope="module", params=sorted(FILES))
def fractured(request):
    path = FILES[request.param]
    lines: list[str] = []
    building, shards = fracture_mesh_file(MeshSource(path=str(path)), FractureSpec(cell_count=300, seed=2),
                                          path, log=lines.append)
    return request.param, building, shards, lines


@pytest.mark.parametrize("name", sorted(FILES))
def test_ifc_classes_kinds_and_storeys(name):
    lines: list[str] = []
    elements = read_ifc_elements(FILES[name], log=lines.append)
    assert Counter(e.ifc_class for e in elements) == COUNTS[name]
    kinds = {(e.ifc_class, e.kind) for e in elements}
    assert {("IfcWindow", "opening"), ("IfcDoor", "opening"), ("IfcWallStandardCase", "wall"),
            ("IfcSlab", "slab")} <= kinds
    assert ("IfcFooting", "foundation") in kinds if name == "duplex" else ("IfcMember", "beam") in kinds
    assert any(line.startswith("IFC storeys") and f"{GROUND_STOREY[name]} " in line for line in lines)
    # windows and doors made of overlapping closed parts are united exactly, not solidified
    window = next(e for e in elements if e.ifc_class == "IfcWindow")
    prepared = prepare_mesh(window.vertices, window.faces, "window", repair=True, solidify=True)
    assert prepared.route == "united"


@pytest.mark.slow  # the fixture fractures each building (~10-25 s here)
def test_fracture_is_closed_and_keeps_the_building_volume(fractured):
    name, building, shards, lines = fractured
    counts = Counter(e.part.split(":")[0] for e in building.elements)
    assert sum(counts.values()) >= sum(COUNTS[name].values()) - 1  # at most one element left out
    assert not [line for line in lines if "solidified" in line]  # every element exact, repaired or united
    for s in range(shards.count):
        assert_closed_outward(shards, s, tol=1e-6)
    # The whole building's volume, independently: the union of every element as prepared.
    import manifold3d

    solids = [prepare_mesh(e.vertices, e.faces, e.guid, repair=True, solidify=True).solid.manifold
              for e in read_ifc_elements(FILES[name])]
    union = manifold3d.Manifold.batch_boolean(solids, manifold3d.OpType.Add).volume()
    assert shards.volume.sum() == pytest.approx(union, rel=0.01)
    assert building.lo[2] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.slow  # the fixture fractures each building (~10-25 s here)
def test_element_kinds_reach_the_support_graph(fractured):
    name, building, shards, _ = fractured
    graph = build_support_graph(building, shards, ground_z=0.0, design_factor=0.0)
    kinds = np.array([e.kind for e in building.elements])[graph.element]
    a, b = graph.bond_pairs.T
    per_area = graph.capacity_tension / graph.bond_area
    cross = shards.contacts.cross_element[shards.contacts.area > 0]
    assert cross.sum() > len(building.elements)  # the elements are joined to each other
    opening = ((kinds[a] == "opening") & (kinds[b] == "wall")) | ((kinds[b] == "opening") & (kinds[a] == "wall"))
    wall = (kinds[a] == "wall") & (kinds[b] == "wall")
    assert opening.any() and wall.any()
    # a window or door is a joint (the interface factor of the weaker material), a wall is one piece
    assert np.median(per_area[opening]) <= 0.5 * np.median(per_area[wall])
    # supports: the footings (Duplex) or what stands on the ground
    assert graph.support.any()
    if name == "duplex":
        assert set(kinds[graph.support]) >= {"foundation"}


@pytest.mark.slow  # the fixture fractures each building (~10-25 s here)
def test_ifc_building_stands_awake(fractured):
    _, building, shards, _ = fractured
    bake = bake_actors(building, shards, SimulationSpec(frame_end=73), TriggerSpec(type="none"))
    top = shards.centroid[:, 2] > building.hi[2] - 1.0
    moved = np.linalg.norm(bake.positions[:, top] - bake.positions[0, top], axis=2).max()
    assert moved <= 0.01
    assert bake.events.count == 0


@pytest.mark.slow
def test_demolishing_the_ground_storey_brings_the_roof_down(fractured):
    name, building, shards, _ = fractured
    height = float(building.hi[2])
    fall = np.sqrt(2 * height / 9.81)
    frames = int(np.ceil((2 * fall + 1.0) * 24)) + 13
    trigger = TriggerSpec(type="demolition", frame=12, demolition_sweep=0.0,
                          demolition_storeys=(GROUND_STOREY[name],))
    bake = bake_actors(building, shards, SimulationSpec(frame_end=frames), trigger)
    top = bake.positions[0, :, 2] > bake.positions[0, :, 2].max() - 1.0
    roof = bake.positions[:, top, 2].mean(1)
    # What stood on the demolished storey came down through it: within 2x the free-fall time from
    # the roof + 1 s the roof has dropped by at least that storey's height (to the base of the
    # storey above). A two-storey timber house (FZK) lands on its ground slab at 48% of its height;
    # the 40% bar of a tall frame would ask its upper storey to crush itself as well.
    ground = GROUND_STOREY[name]
    storey_height = (min(e.lo[2] for e in building.elements if e.storey > ground)
                     - min(e.lo[2] for e in building.elements if e.storey == ground))
    assert roof[0] - roof[-1] >= storey_height
    assert (bake.events.cause == "trigger").any()
