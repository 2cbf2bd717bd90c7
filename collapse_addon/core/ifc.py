"""IFC (BIM) models in: walls, slabs, columns, beams, roofs, stairs, windows and doors become
elements of the building with their kind, storey and material, so the support graph and the
demolition selection see real structural elements.

Geometry comes from IfcOpenShell's geometry iterator in world coordinates and metres, with the
openings already cut out of the walls and slabs (windows and doors sit in their holes). Kinds and
materials come from two tables the user can edit (``[mesh] ifc_mapping``, a TOML file with
``[kinds]`` "IfcClass" = "kind" and ``[materials]`` "word in the IFC material name" = "preset").

IfcOpenShell is an optional dependency (``pip install 'collapse[ifc]'``): its wheels are large
(about 55 MB a platform), so the Blender extension does not bundle them and IFC is a CLI feature;
the add-on's Mesh File source says so when it is missing. Never imports bpy.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import SpecError
from .materials import MATERIALS

# IFC class -> element kind (``building.ELEMENT_KINDS``); classes not listed are left out.
DEFAULT_KINDS = {
    "IfcWall": "wall", "IfcWallStandardCase": "wall", "IfcCurtainWall": "wall", "IfcPlate": "wall",
    "IfcWindow": "opening", "IfcDoor": "opening",
    "IfcSlab": "slab", "IfcRoof": "slab", "IfcStair": "slab", "IfcStairFlight": "slab",
    "IfcRamp": "slab", "IfcRampFlight": "slab",
    "IfcColumn": "column", "IfcBeam": "beam", "IfcMember": "beam",
    "IfcFooting": "foundation", "IfcPile": "foundation",
}
# A word in the IFC material's name (lower case) -> material preset; first match wins.
DEFAULT_MATERIALS = {
    # A stud wall (metal or timber studs with boards) is a light frame, not solid steel: timber's
    # preset is the nearest in weight and strength (the Duplex's "Metal - Stud Layer" partitions).
    "stud": "timber",
    "glas": "glass", "window": "glass", "fenster": "glass",
    "steel": "steel", "stahl": "steel", "metal": "steel", "alumin": "steel",
    "wood": "timber", "timber": "timber", "holz": "timber", "oak": "timber", "pine": "timber",
    "brick": "masonry", "masonry": "masonry", "mauerwerk": "masonry", "ziegel": "masonry",
    "block": "masonry", "stone": "masonry", "plaster": "masonry", "gypsum": "masonry",
    "concrete": "reinforced_concrete", "beton": "reinforced_concrete",
}
# Without a material the IFC class decides.
CLASS_MATERIALS = {"IfcWindow": "glass", "IfcDoor": "timber", "IfcMember": "timber",
                   "IfcWall": "masonry", "IfcWallStandardCase": "masonry"}


@dataclass(frozen=True)
class IfcElement:
    """One building element of an IFC file: its triangles in world metres and what it is."""

    guid: str
    ifc_class: str
    name: str
    kind: str
    material: str  # a preset of ``materials.MATERIALS``
    ifc_material: str
    storey: int  # index of its IfcBuildingStorey by elevation, 0 the lowest
    vertices: np.ndarray
    faces: np.ndarray  # (T, 3)


def load_mapping(path=None) -> tuple[dict, dict]:
    """The kind and material tables, with a user's TOML file (``[kinds]``, ``[materials]``)
    laid over the defaults."""
    kinds, materials = dict(DEFAULT_KINDS), dict(DEFAULT_MATERIALS)
    if path:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SpecError("mesh.ifc_mapping", f"cannot read {path} ({exc})",
                            "give a TOML file with [kinds] and [materials] tables") from exc
        from .building import ELEMENT_KINDS

        for cls, kind in data.get("kinds", {}).items():
            if kind not in (*ELEMENT_KINDS, "skip"):
                raise SpecError("mesh.ifc_mapping", f"kinds.{cls} = {kind!r} is not an element kind",
                                f"choose from {', '.join(ELEMENT_KINDS)} or skip")
            kinds[cls] = kind
        for word, preset in data.get("materials", {}).items():
            if preset not in MATERIALS:
                raise SpecError("mesh.ifc_mapping", f"materials.{word} = {preset!r} is not a preset",
                                f"choose from {', '.join(MATERIALS)}")
            materials = {str(word).lower(): preset, **materials}  # the user's words first
        kinds = {k: v for k, v in kinds.items() if v != "skip"}
    return kinds, materials


def preset_for(ifc_class: str, ifc_material: str, materials: dict) -> str:
    """The material preset for an element: the first table word in its material name, else by
    class, else reinforced concrete."""
    name = ifc_material.lower()
    for word, preset in materials.items():
        if word in name:
            return preset
    return CLASS_MATERIALS.get(ifc_class, "reinforced_concrete")


def _require_ifcopenshell():
    try:
        import ifcopenshell
        import ifcopenshell.geom
        import ifcopenshell.util.element  # noqa: F401
    except ImportError as exc:
        raise SpecError("mesh.path", "reading IFC needs IfcOpenShell, which is not installed",
                        "pip install 'collapse[ifc]' (the command line; the Blender extension does "
                        "not bundle it), or export the model as OBJ") from exc
    return ifcopenshell


def read_ifc_elements(path, mapping=None, log=None) -> list[IfcElement]:
    """Every element of a mapped IFC class with geometry, in world coordinates (metres)."""
    ifcopenshell = _require_ifcopenshell()
    from ifcopenshell.util.element import get_container, get_material

    kinds, materials = load_mapping(mapping)
    try:
        model = ifcopenshell.open(str(path))
    except Exception as exc:  # IfcOpenShell raises its own error types for unreadable files
        raise SpecError("mesh.path", f"{path} is not a readable IFC file ({exc})",
                        "export IFC2X3 or IFC4 from the BIM tool") from exc
    storeys = sorted(model.by_type("IfcBuildingStorey"), key=lambda s: (s.Elevation or 0.0))
    storey_index = {s.id(): k for k, s in enumerate(storeys)}
    if log is not None and storeys:  # what demolition_storeys = [k] means for this file
        log("IFC storeys (demolition_storeys index): " + ", ".join(
            f"{k} {s.Name or '?'} ({float(s.Elevation or 0.0):g})" for k, s in enumerate(storeys)))
    wanted = [e for e in model.by_type("IfcElement") if _kind_of(e, kinds)]
    if not wanted:
        raise SpecError("mesh.path", f"{Path(path).name} has no element of a mapped IFC class",
                        f"map its classes in [mesh] ifc_mapping (known: {', '.join(sorted(kinds))})")
    settings = ifcopenshell.geom.settings()
    settings.set("use-world-coords", True)
    iterator = ifcopenshell.geom.iterator(settings, model, 1, include=wanted)
    out = []
    if iterator.initialize():
        while True:
            shape = iterator.get()
            element = model.by_id(shape.id)
            verts = np.asarray(shape.geometry.verts, float).reshape(-1, 3)
            faces = np.asarray(shape.geometry.faces, np.int64).reshape(-1, 3)
            if len(faces):
                material = get_material(element, should_skip_usage=True)
                ifc_material = _material_name(material)
                container = get_container(element)
                out.append(IfcElement(
                    element.GlobalId, element.is_a(), element.Name or "", _kind_of(element, kinds),
                    preset_for(element.is_a(), ifc_material, materials), ifc_material,
                    storey_index.get(container.id(), 0) if container is not None else 0, verts, faces))
                if log is not None and len(out) % 50 == 0:
                    log(f"Read {len(out)} of {len(wanted)} IFC elements")
            if not iterator.next():
                break
    return out


def _kind_of(element, kinds: dict) -> str | None:
    for cls in kinds:
        if element.is_a() == cls:
            return kinds[cls]
    for cls in kinds:  # a subclass of a mapped class (IfcWallStandardCase of IfcWall)
        if element.is_a(cls):
            return kinds[cls]
    return None


def _material_name(material) -> str:
    if material is None:
        return ""
    layers = getattr(material, "MaterialLayers", None)
    if layers:  # a layered wall or slab is what its thickest layer is (the structure)
        thickest = max(layers, key=lambda layer: layer.LayerThickness or 0.0)
        return getattr(thickest.Material, "Name", "") or ""
    for attr in ("MaterialConstituents", "MaterialProfiles", "Materials"):
        parts = getattr(material, attr, None)
        if parts:
            names = []
            for p in parts:
                inner = getattr(p, "Material", p)
                names.append(getattr(inner, "Name", "") or "")
            return ", ".join(n for n in names if n)
    for attr in ("ForLayerSet", "ForProfileSet"):
        inner = getattr(material, attr, None)
        if inner is not None:
            return _material_name(inner)
    return getattr(material, "Name", "") or ""


# Where elements overlap (walls running into slabs, beams into columns), the higher kind keeps the
# shared volume: overlapping rigid bodies would be pushed apart violently at the first frame.
KIND_PRIORITY = {"foundation": 0, "column": 1, "beam": 2, "slab": 3, "wall": 4, "mesh": 5, "opening": 6}


def separate_overlaps(manifolds: list, kinds: list[str], lo: np.ndarray, hi: np.ndarray) -> list:
    """Each manifold minus the higher-priority manifolds overlapping its box (manifold3d booleans);
    an element wholly inside others comes back empty."""
    from .building import grid_box_pairs

    n = len(manifolds)
    a, b = grid_box_pairs(lo, hi)
    neighbours: list[list[int]] = [[] for _ in range(n)]
    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        neighbours[i].append(j)
        neighbours[j].append(i)
    rank = [(KIND_PRIORITY.get(k, 9), i) for i, k in enumerate(kinds)]
    out = list(manifolds)
    for i in range(n):
        higher = [out[j] for j in neighbours[i] if rank[j] < rank[i]]
        for other in higher:
            out[i] = out[i] - other
    return out
