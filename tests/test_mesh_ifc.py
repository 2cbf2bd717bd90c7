"""IFC (BIM) models as element-aware buildings: counts per IFC class, kinds, storeys and materials
from the editable tables, overlaps resolved, every element fractured. Pure (IfcOpenShell, no bpy);
skipped where IfcOpenShell is not installed (it is an optional extra)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("ifcopenshell")

from collapse_addon.core.errors import SpecError  # noqa: E402
from collapse_addon.core.ifc import load_mapping, preset_for, read_ifc_elements  # noqa: E402
from collapse_addon.core.mesh_route import fracture_mesh_file  # noqa: E402
from collapse_addon.core.seeds import FractureSpec  # noqa: E402
from collapse_addon.core.settings import MeshSource  # noqa: E402

IFC = Path(__file__).parent / "data" / "webifc_example_2storey_walls_slabs_columns.ifcZIP"


def test_ifc_elements_keep_their_class_kind_storey_and_material(tmp_path):
    elements = read_ifc_elements(IFC)
    assert Counter(e.ifc_class for e in elements) == {
        "IfcBeam": 43, "IfcColumn": 42, "IfcWallStandardCase": 17, "IfcSlab": 9}
    kinds = Counter((e.ifc_class, e.kind) for e in elements)
    assert kinds[("IfcBeam", "beam")] == 43 and kinds[("IfcColumn", "column")] == 42
    assert kinds[("IfcWallStandardCase", "wall")] == 17 and kinds[("IfcSlab", "slab")] == 9
    assert {e.storey for e in elements} == {0, 1}
    assert {e.material for e in elements} <= {"steel", "reinforced_concrete", "masonry", "timber"}
    # The user's table: beams left out, walls of timber whatever their material says.
    mapping = tmp_path / "mapping.toml"
    mapping.write_text('[kinds]\nIfcBeam = "skip"\n[materials]\n"" = "timber"\n')
    mapped = read_ifc_elements(IFC, mapping)
    assert len(mapped) == 68 and {e.material for e in mapped} == {"timber"}
    mapping.write_text('[kinds]\nIfcBeam = "girder"\n')
    with pytest.raises(SpecError, match="mesh.ifc_mapping"):
        load_mapping(mapping)


def test_material_table_reads_words_in_ifc_material_names():
    _, materials = load_mapping()
    assert preset_for("IfcWall", "Brick, Common", materials) == "masonry"
    assert preset_for("IfcColumn", "Steel S355", materials) == "steel"
    assert preset_for("IfcSlab", "Concrete - Cast-in-Place", materials) == "reinforced_concrete"
    assert preset_for("IfcWindow", "", materials) == "glass"


def test_ifc_building_fractures_element_by_element_on_the_ground():
    lines = []
    building, shards = fracture_mesh_file(MeshSource(path=str(IFC)),
                                          FractureSpec(cell_count=300, seed=2), IFC,
                                          log=lines.append)
    counts = Counter(e.part.split(":")[0] for e in building.elements)
    assert counts == {"IfcBeam": 43, "IfcColumn": 42, "IfcWallStandardCase": 17, "IfcSlab": 9}
    assert {e.kind for e in building.elements} == {"beam", "column", "wall", "slab"}
    per_element = np.bincount(shards.element, shards.volume, len(building.elements))
    assert (per_element > 0).all()  # every element has shards
    assert shards.count >= 300 * 0.9
    assert building.lo[2] == pytest.approx(0.0, abs=1e-9)  # its lowest point on the ground
    assert np.allclose((building.lo[:2] + building.hi[:2]) / 2, 0.0, atol=1e-6)
    assert any("Read 111 elements" in line for line in lines)
