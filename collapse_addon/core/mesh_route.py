"""The scene file's ``[mesh]`` route: read a mesh file (one building, or a whole CityJSON / OBJ
tile), check or repair or solidify each building in the file's own coordinates, turn it to z up
and scale it, place it, and fracture every building as its own element.

Pure numpy plus manifold3d; never imports bpy (a .blend source's objects are read by the caller,
with modifiers applied in world space like the panel's Selected route, and passed in as
``blend_mesh``: (name, vertices, faces) per object).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .building import Building
from .citymodel import CityBuilding, pick_in_bbox, read_cityjson_buildings, read_obj_objects
from .errors import CollapseError, MeshError
from .gltf import is_gltf, load_gltf
from .mesh_contacts import with_cross_element_contacts
from .mesh_parts import MeshPart, fracture_parts
from .mesh_prepare import (
    axis_rotation,
    detect_up_axis,
    place_on_ground,
    prepare_mesh,
    transform_solid,
)
from .meshio import load_obj
from .seeds import FractureSpec
from .shards import ShardSet


def _quiet(_line: str) -> None:
    pass


def is_cityjson(path) -> bool:
    return str(path).lower().endswith(".json")


def is_ifc(path) -> bool:
    return str(path).lower().endswith((".ifc", ".ifczip"))


def read_mesh_source(source, path: Path, blend_mesh=None) -> list[CityBuilding]:
    """The buildings the ``[mesh]`` section picks, in the file's coordinates."""
    every = "*" in source.object_ids
    ids = () if every else source.object_ids
    tile = bool(source.object_ids) or source.bbox is not None
    name = path.stem.removesuffix(".city")
    if blend_mesh is not None:
        return [CityBuilding(*mesh) for mesh in blend_mesh]
    if is_cityjson(path):
        if not tile:
            ids = (source.object,) if source.object else ()
        buildings = read_cityjson_buildings(path, lod=source.lod, ids=ids, bbox=source.bbox)
        return buildings if tile else buildings[:1]  # one building: the named object, else the first
    if is_gltf(path):
        return [CityBuilding(source.object or name, *load_gltf(path))]
    if tile:
        buildings = read_obj_objects(path)
        if ids:
            known = {b.id: b for b in buildings}
            missing = [i for i in ids if i not in known]
            if missing:
                raise CollapseError(f"mesh.objects: {missing[:5]} not in {path.name} (objects: "
                                    f"{', '.join(list(known)[:20])})")
            buildings = [known[i] for i in ids]
        return pick_in_bbox(buildings, source.bbox)
    vertices, faces = load_obj(path)
    return [CityBuilding(name, vertices, faces)]


def fracture_mesh_file(source, spec: FractureSpec, path: Path, *, blend_mesh=None,
                       log=_quiet) -> tuple[Building, ShardSet]:
    """Fracture the ``[mesh]`` source into one element per building.

    Each building is checked in the file's coordinates (exact route, else ``repair``, else
    ``solidify``); in a tile (``objects`` or ``bbox``) a building that cannot be used is skipped
    with its error logged, a single building raises it. Then: up axis, ``scale``, placement
    (CityJSON: footprint centre to the origin; every building's base to z = 0 unless kept).
    """
    path = Path(path)
    if is_ifc(path):
        return fracture_ifc_file(source, spec, path, log=log)
    tile = bool(source.object_ids) or source.bbox is not None
    buildings = read_mesh_source(source, path, blend_mesh)
    log(f"Read {len(buildings)} building(s) from {path.name}")
    unknown = sorted(set(source.anchor_ids) - {b.id for b in buildings})
    if unknown:
        raise CollapseError(f"mesh.anchors: {unknown[:5]} not among the objects read from {path.name} "
                            f"({', '.join(b.id for b in buildings[:20])}); name objects it fractures")
    merge = 1e-3 if is_cityjson(path) else None  # CityJSON rounds coordinates to the millimetre
    solids, names, skipped, notes = [], [], [], []
    clock = time.perf_counter()
    for k, b in enumerate(buildings):
        try:
            prepared = prepare_mesh(b.vertices, b.faces, b.id, repair=source.repair or tile,
                                    solidify=source.solidify, merge_distance=merge,
                                    solidify_step=source.solidify_step)
        except MeshError as exc:
            if not tile:
                raise
            skipped.append(str(exc))
            log(f"Skipped {exc}")
            continue
        solids.append(prepared.solid)
        names.append(b.id)
        notes.extend(prepared.notes if prepared.route in ("united", "solidified") else ())
        if time.perf_counter() - clock > 2.0:
            log(f"Checked {k + 1} of {len(buildings)} buildings")
            clock = time.perf_counter()
    for note in notes:
        log(note)
    if not solids:
        raise MeshError(path.name, f"none of its {len(buildings)} buildings can be fractured; first: "
                        f"{skipped[0]}", "set [mesh] solidify = true or pick other buildings")
    up = detect_up_axis(path) if source.up_axis == "auto" else source.up_axis
    rotation = axis_rotation(up)
    solids = [transform_solid(s, rotation, source.scale) for s in solids]
    placement = source.placement
    if placement == "auto":
        placement = "centre" if is_cityjson(path) else "keep"
    if placement == "centre":
        solids = place_on_ground(solids, centre=True)
    if skipped:
        log(f"{len(solids)} of {len(buildings)} buildings fracture; {len(skipped)} skipped")
    anchors = set(source.anchor_ids)
    parts = [MeshPart(s, n, source.material, anchor=n in anchors) for s, n in zip(solids, names, strict=True)]
    return fracture_parts(parts, spec, log=log if len(solids) > 1 else None)


def fracture_ifc_file(source, spec: FractureSpec, path: Path, *, log=_quiet) -> tuple[Building, ShardSet]:
    """An IFC model as an element-aware building: one element per IfcWall, IfcSlab, IfcColumn, ...
    with its kind, storey and material (``ifc.read_ifc_elements``). Each element is checked
    (exact, else repaired, else solidified), overlaps go to the higher kind (columns keep what
    they share with beams, beams with slabs, slabs with walls), and the building is placed with
    its footprint centred and its lowest point at z = 0 (``placement = "keep"``: as in the file).
    """
    from .ifc import read_ifc_elements, separate_overlaps
    from .mesh_solid import solid_from_manifold

    mapping = source.ifc_mapping
    if mapping and not Path(mapping).is_absolute():
        mapping = str(path.parent / mapping)
    elements = read_ifc_elements(path, mapping or None, log=log)
    log(f"Read {len(elements)} elements from {path.name}")
    prepared, kept, clock = [], [], time.perf_counter()
    for k, e in enumerate(elements):
        label = f"{e.ifc_class} {e.name or e.guid}"
        try:
            p = prepare_mesh(e.vertices, e.faces, label, repair=True, solidify=source.solidify,
                             solidify_step=source.solidify_step)
        except MeshError as exc:
            log(f"Skipped {exc}")
            continue
        if p.route in ("united", "solidified"):
            log(p.notes[-1])
        prepared.append(p.solid)
        kept.append(e)
        if time.perf_counter() - clock > 2.0:
            log(f"Checked {k + 1} of {len(elements)} elements")
            clock = time.perf_counter()
    if not prepared:
        raise MeshError(path.name, "none of its elements can be fractured",
                        "set [mesh] solidify = true or export the model again")
    lo = np.array([s.lo for s in prepared])
    hi = np.array([s.hi for s in prepared])
    parts = separate_overlaps([s.manifold for s in prepared], [e.kind for e in kept], lo, hi)
    solids, final = [], []
    for e, part, original in zip(kept, parts, prepared, strict=True):
        if part.is_empty() or part.volume() <= 1e-9 * max(original.volume, 1e-12):
            log(f"Left out {e.ifc_class} {e.name or e.guid}: wholly inside higher elements")
            continue
        solids.append(original if part is original.manifold else solid_from_manifold(part, original.name))
        final.append(e)
    rotation = axis_rotation("Z" if source.up_axis == "auto" else source.up_axis)
    solids = [transform_solid(s, rotation, source.scale) for s in solids]
    if source.placement != "keep":
        lo, hi = np.min([s.lo for s in solids], axis=0), np.max([s.hi for s in solids], axis=0)
        shift = np.array([-(lo[0] + hi[0]) / 2, -(lo[1] + hi[1]) / 2, -lo[2]])
        solids = [transform_solid(s, offset=shift) for s in solids]
    solids, final = _whole_shards_hold(solids, final, log)
    parts = [MeshPart(s, f"{e.ifc_class}:{e.name or e.guid}", e.material, e.kind, e.storey)
             for s, e in zip(solids, final, strict=True)]
    building, shards = fracture_parts(parts, spec, log=log, keep_whole_on_error=True)
    shards = with_cross_element_contacts(shards, log=log)  # joints between elements (walls on slabs)
    log(f"{int(shards.contacts.cross_element.sum())} contacts between shards of different elements")
    return building, shards


def _whole_shards_hold(solids, elements, log):
    """Keep the elements whose solid makes at least one exact shard (the fallback when a cut
    fails); an element left with boolean dust that does not is left out, logged."""
    from .errors import FractureError
    from .mesh_fracture import _fracture_solid

    kept_solids, kept = [], []
    for solid, element in zip(solids, elements, strict=True):
        try:
            _fracture_solid(solid, 0.5 * (solid.lo + solid.hi)[None], None)
        except FractureError as exc:
            log(f"Left out {element.ifc_class} {element.name or element.guid}: {exc}")
            continue
        kept_solids.append(solid)
        kept.append(element)
    return kept_solids, kept
