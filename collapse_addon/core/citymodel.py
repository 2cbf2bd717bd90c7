"""City models in: every building of a CityJSON file or an OBJ tile as its own mesh, with its id,
level of detail and attributes, picked by id or by a bounding box in the file's coordinates.

Vertices stay in the file's own coordinates (metres in a national grid for CityJSON), so error
locations name the place in the file; ``place_on_ground`` moves the picked buildings near the
origin afterwards. Pure numpy; never imports bpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import SpecError
from .meshio import _geometry_surfaces, _surface_faces, obj_face, read_cityjson

BUILDING_TYPES = ("Building", "BuildingPart")


@dataclass(frozen=True)
class CityBuilding:
    """One building of a city model: its mesh in the file's coordinates and what the file says."""

    id: str
    vertices: np.ndarray  # (V, 3) metres
    faces: list
    lod: str = ""
    attributes: dict = field(default_factory=dict)


def _lod_key(lod: str) -> tuple:
    try:
        return tuple(float(x) for x in str(lod).split("."))
    except ValueError:
        return (-1.0,)


def read_cityjson_buildings(path, *, lod: str = "highest", ids=(), bbox=None,
                            types=BUILDING_TYPES) -> list[CityBuilding]:
    """The buildings of a CityJSON file (1.x/2.0) as meshes, one per city object.

    ``lod``: a level of detail ("1", "1.2", "2.2") or "highest" (each building at its highest).
    ``ids``: city object ids to keep (empty: every object of ``types``). ``bbox``:
    ``[xmin, ymin, xmax, ymax]`` in the file's coordinates: keep buildings whose footprint centre
    lies inside. Raises SpecError naming the key for unknown ids, a missing LoD or an empty pick.
    """
    path = Path(path)
    objects, raw, scale, translate = read_cityjson(path)
    ids = [str(i) for i in ids or ()]
    missing = [i for i in ids if i not in objects]
    if missing:
        raise SpecError("mesh.objects", f"not in {path.name}: {missing[:5]}",
                        f"choose from {list(objects)[:10]}")
    wanted = ids or [k for k, o in objects.items() if o.get("type") in types]
    buildings, lods_seen = [], set()
    for oid in wanted:
        geoms = [g for g in objects[oid].get("geometry", []) if _geometry_surfaces(g)]
        lods = sorted({str(g.get("lod")) for g in geoms}, key=_lod_key)
        lods_seen.update(lods)
        if not lods:
            continue
        pick = lods[-1] if lod == "highest" else str(lod)
        surfaces = [s for g in geoms if str(g.get("lod")) == pick for s in _geometry_surfaces(g)]
        if not surfaces:
            if ids:
                raise SpecError("mesh.lod", f"object {oid} has no geometry at LoD {lod}",
                                f"choose from {lods} or \"highest\"")
            continue
        used = np.unique(np.concatenate([np.asarray(r, np.int64) for s in surfaces for r in s]))
        remap = np.full(len(raw), -1, np.int64)
        remap[used] = np.arange(len(used))
        points = raw[used] * scale + translate
        faces = []
        for surface in surfaces:
            faces.extend(_surface_faces([remap[np.asarray(r, np.int64)] for r in surface], points))
        buildings.append(CityBuilding(oid, points, faces, pick, dict(objects[oid].get("attributes", {}))))
    if not buildings:
        raise SpecError("mesh.lod", f"no building in {path.name} has geometry at LoD {lod}",
                        f"choose from {sorted(lods_seen, key=_lod_key)} or \"highest\"")
    return pick_in_bbox(buildings, bbox)


def read_obj_objects(path) -> list[CityBuilding]:
    """Each object (``o``) or, without objects, each group (``g``) of an OBJ file as its own mesh
    (vertices shared between objects are copied to each); a file with neither is one mesh."""
    vertices, current, order = [], None, []
    faces: dict[str, list] = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    has_objects = any(line.startswith("o ") for line in lines)
    for line_no, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "v":
            vertices.append([float(t) for t in parts[1:4]])
        elif parts[0] == ("o" if has_objects else "g"):
            current = " ".join(parts[1:]) or f"object {len(order)}"
        elif parts[0] == "f":
            loop = obj_face(parts, len(vertices), path, line_no)
            name = current or Path(path).stem
            if name not in faces:
                order.append(name)
                faces[name] = []
            faces[name].append(loop)
    if not vertices or not faces:
        raise SpecError(str(path), "no vertices or faces found", "export the mesh as OBJ with faces")
    v = np.array(vertices, float)
    result = []
    for name in order:
        used = np.unique(np.concatenate(faces[name]))
        remap = np.full(len(v), -1, np.int64)
        remap[used] = np.arange(len(used))
        result.append(CityBuilding(name, v[used], [remap[f] for f in faces[name]]))
    return result


def pick_in_bbox(buildings: list[CityBuilding], bbox) -> list[CityBuilding]:
    """Buildings whose footprint centre lies in ``[xmin, ymin, xmax, ymax]`` (None: all)."""
    if bbox is None or len(bbox) == 0:
        return buildings
    xmin, ymin, xmax, ymax = (float(b) for b in bbox)
    kept = []
    for b in buildings:
        lo, hi = b.vertices.min(0), b.vertices.max(0)
        cx, cy = (lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2
        if xmin <= cx <= xmax and ymin <= cy <= ymax:
            kept.append(b)
    if not kept:
        every = np.concatenate([b.vertices for b in buildings])
        lo, hi = every.min(0), every.max(0)
        raise SpecError("mesh.bbox", f"no building's centre lies in {[xmin, ymin, xmax, ymax]}",
                        f"the file's buildings span x {lo[0]:.1f} to {hi[0]:.1f}, y {lo[1]:.1f} to {hi[1]:.1f}")
    return kept
