"""The scene file's ``[mesh]`` route: read a mesh file (one building, or a whole CityJSON / OBJ
tile), check or repair or solidify each building in the file's own coordinates, turn it to z up
and scale it, place it, and fracture every building as its own element.

Pure numpy plus manifold3d; never imports bpy (a .blend source is read by the caller and passed
in as ``blend_mesh``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .building import Building, Element, element_box_contacts
from .citymodel import CityBuilding, pick_in_bbox, read_cityjson_buildings, read_obj_objects
from .errors import CollapseError, MeshError
from .mesh_fracture import fracture_meshes
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


def read_mesh_source(source, path: Path, blend_mesh=None) -> list[CityBuilding]:
    """The buildings the ``[mesh]`` section picks, in the file's coordinates."""
    every = "*" in source.object_ids
    ids = () if every else source.object_ids
    tile = bool(source.object_ids) or source.bbox is not None
    name = path.stem.removesuffix(".city")
    if blend_mesh is not None:
        return [CityBuilding(source.object or name, *blend_mesh)]
    if is_cityjson(path):
        if not tile:
            ids = (source.object,) if source.object else ()
        buildings = read_cityjson_buildings(path, lod=source.lod, ids=ids, bbox=source.bbox)
        return buildings if tile else buildings[:1]  # one building: the named object, else the first
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
    tile = bool(source.object_ids) or source.bbox is not None
    buildings = read_mesh_source(source, path, blend_mesh)
    log(f"Read {len(buildings)} building(s) from {path.name}")
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
        notes.extend(prepared.notes if prepared.route == "solidified" else ())
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
    shards = fracture_meshes(None, spec, solids=solids, log=log if len(solids) > 1 else None)
    lo = np.array([s.lo for s in solids])
    hi = np.array([s.hi for s in solids])
    elements = [Element(i, "mesh", 0, source.material, lo[i].copy(), hi[i].copy(), names[i])
                for i in range(len(solids))]
    return Building(None, elements, element_box_contacts(lo, hi)), shards
