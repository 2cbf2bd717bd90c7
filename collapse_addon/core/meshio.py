"""Solid meshes in and out of the pure core: CityJSON and OBJ readers, and small test solids.

A mesh here is ``(vertices (V, 3) float64, faces)`` where ``faces`` is a list of int64 arrays, one
vertex loop per polygon, counter-clockwise seen from outside (outward normals). Pure numpy; never
imports bpy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .errors import SpecError

Mesh = tuple[np.ndarray, list[np.ndarray]]


# ----------------------------------------------------------------------------------------------
# Builders (tests, benchmarks, demos)
# ----------------------------------------------------------------------------------------------

def box_mesh(lo, hi) -> Mesh:
    """An axis-aligned box from ``lo`` to ``hi``: 8 vertices, 6 outward quads."""
    lo = np.asarray(lo, float)
    hi = np.asarray(hi, float)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all() and (hi > lo).all()):
        raise SpecError("box", f"needs lo < hi on every axis, got {lo.tolist()} - {hi.tolist()}",
                        "give two opposite corners")
    vertices = np.array([[x, y, z] for z in (lo[2], hi[2]) for y in (lo[1], hi[1])
                         for x in (lo[0], hi[0])])
    quads = [[0, 4, 6, 2], [1, 3, 7, 5], [0, 1, 5, 4], [2, 6, 7, 3], [0, 2, 3, 1], [4, 5, 7, 6]]
    return vertices, [np.array(q, np.int64) for q in quads]


def prism_mesh(footprint, z0: float = 0.0, z1: float = 1.0) -> Mesh:
    """A vertical prism over a simple 2D ``footprint`` (any winding, may be non-convex).

    The bottom and top are single (possibly non-convex) polygons; the sides are quads.
    """
    p = np.asarray(footprint, float)
    if p.ndim != 2 or p.shape[1] != 2 or len(p) < 3 or not z1 > z0:
        raise SpecError("footprint", "needs at least 3 (x, y) corners and z1 > z0",
                        "give a simple polygon and a positive height")
    x, y = p[:, 0], p[:, 1]
    if np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y) < 0:
        p = p[::-1]  # counter-clockwise, so side quads face out
    n = len(p)
    vertices = np.concatenate([np.column_stack([p, np.full(n, z0)]),
                               np.column_stack([p, np.full(n, z1)])])
    k = np.arange(n)
    faces = [k[::-1].copy(), k + n]
    faces += [np.array([i, (i + 1) % n, (i + 1) % n + n, i + n]) for i in range(n)]
    return vertices, [f.astype(np.int64) for f in faces]


def l_block_mesh(length: float = 4.0, width: float = 3.0, height: float = 2.0,
                 arm: float = 1.0) -> Mesh:
    """An L-shaped block: arms ``arm`` thick along x (``length``) and y (``width``), corner at 0."""
    if not 0 < arm < min(length, width):
        raise SpecError("arm", f"must be between 0 and min(length, width), got {arm}", "e.g. 1.0")
    footprint = [(0, 0), (length, 0), (length, arm), (arm, arm), (arm, width), (0, width)]
    return prism_mesh(footprint, 0.0, height)


def u_block_mesh(length: float = 6.0, width: float = 3.0, height: float = 2.0,
                 arm: float = 1.0, base: float | None = None) -> Mesh:
    """A U-shaped block: a base ``base`` deep (default ``arm``) along x, and two arms ``arm``
    wide rising along y to ``width`` at both ends, with a gap of ``length - 2 arm`` between them."""
    base = arm if base is None else base
    if not (0 < base < width and 0 < arm and 2 * arm < length):
        raise SpecError("arm", f"arms {arm} and base {base} do not fit a {length} x {width} U",
                        "e.g. arm = 1.0")
    footprint = [(0, 0), (length, 0), (length, width), (length - arm, width), (length - arm, base),
                 (arm, base), (arm, width), (0, width)]
    return prism_mesh(footprint, 0.0, height)


def wall_with_windows_mesh(length: float = 10.0, thickness: float = 0.3, height: float = 6.0,
                           windows: int = 6, window_w: float = 1.2, window_h: float = 1.4,
                           rows: int | None = None) -> Mesh:
    """A wall ``[0, length] x [0, thickness] x [0, height]`` with rectangular window holes.

    The windows sit on a grid of ``rows`` x ``windows / rows`` (default two rows when ``windows`` is
    even and at least 4), centred in equal panels. Faces are quads on the grid through every window
    edge, so the mesh is closed and 2-manifold with no T-junctions.
    """
    if rows is None:
        rows = 2 if windows >= 4 and windows % 2 == 0 else 1
    if windows < 0 or (windows and windows % rows):
        raise SpecError("windows", f"{windows} windows do not fill {rows} rows evenly",
                        "give a multiple of rows")
    cols = windows // rows if windows else 0
    if windows and not (window_w < length / cols and window_h < height / rows):
        raise SpecError("window_w", "windows do not fit in their panels",
                        "use smaller windows or fewer of them")
    xc = (np.arange(cols) + 0.5) * length / max(cols, 1)
    zc = (np.arange(rows) + 0.5) * height / rows
    xs = np.unique(np.concatenate([[0.0, length], xc - window_w / 2, xc + window_w / 2])) if windows \
        else np.array([0.0, length])
    zs = np.unique(np.concatenate([[0.0, height], zc - window_h / 2, zc + window_h / 2])) if windows \
        else np.array([0.0, height])
    nx, nz = len(xs), len(zs)
    solid = np.ones((nx - 1, nz - 1), bool)  # grid cell (i, k) of the xz-plane is wall
    for x in xc if windows else []:
        for z in zc:
            i = np.searchsorted(xs, x) - 1
            k = np.searchsorted(zs, z) - 1
            solid[i, k] = False
    gx, gz, gy = np.meshgrid(xs, zs, [0.0, thickness], indexing="ij")
    vertices = np.column_stack([gx.ravel(), gy.ravel(), gz.ravel()])

    def vid(i, k, s):
        return (i * nz + k) * 2 + s

    faces = []
    for i in range(nx - 1):
        for k in range(nz - 1):
            if not solid[i, k]:
                continue
            front = [vid(i, k, 0), vid(i + 1, k, 0), vid(i + 1, k + 1, 0), vid(i, k + 1, 0)]
            faces.append(front)
            faces.append([vid(i, k, 1), vid(i, k + 1, 1), vid(i + 1, k + 1, 1), vid(i + 1, k, 1)])
            # Sides where the neighbouring grid cell is a hole or outside: quads through the wall.
            for di, dk in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                ni, nk = i + di, k + dk
                if 0 <= ni < nx - 1 and 0 <= nk < nz - 1 and solid[ni, nk]:
                    continue
                if di:
                    e = i + (di > 0)
                    quad = [vid(e, k, 0), vid(e, k + 1, 0), vid(e, k + 1, 1), vid(e, k, 1)]
                else:
                    e = k + (dk > 0)
                    quad = [vid(i, e, 0), vid(i, e, 1), vid(i + 1, e, 1), vid(i + 1, e, 0)]
                p = vertices[quad]
                normal = np.cross(p[1] - p[0], p[2] - p[0])
                if normal @ np.array([di, 0.0, dk]) < 0:
                    quad = quad[::-1]
                faces.append(quad)
    used = np.unique(np.concatenate(faces))
    remap = np.full(len(vertices), -1, np.int64)
    remap[used] = np.arange(len(used))
    return vertices[used], [remap[np.asarray(f)] for f in faces]


# ----------------------------------------------------------------------------------------------
# Readers
# ----------------------------------------------------------------------------------------------

def obj_face(parts: list[str], n_vertices: int, path, line_no: int) -> np.ndarray:
    """The 0-based vertex loop of an OBJ ``f`` line (negative indices count back from the last
    vertex read so far); SpecError naming file and line for a face of fewer than 3 corners."""
    loop = []
    for token in parts[1:]:
        k = int(token.split("/")[0])
        loop.append(k - 1 if k > 0 else n_vertices + k)
    if len(loop) < 3:
        raise SpecError(f"{path}:{line_no}", "a face has fewer than 3 corners", "fix or remove the face")
    return np.array(loop, np.int64)


def load_obj(path) -> Mesh:
    """Vertices and polygon faces of a Wavefront OBJ (``v`` and ``f`` lines; all groups joined)."""
    vertices, faces = [], []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, 1):
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "v":
                vertices.append([float(t) for t in parts[1:4]])
            elif parts[0] == "f":
                faces.append(obj_face(parts, len(vertices), path, line_no))
    if not vertices or not faces:
        raise SpecError(str(path), "no vertices or faces found", "export the mesh as OBJ with faces")
    return np.array(vertices, float), faces


def _surface_faces(surface, points: np.ndarray) -> list[np.ndarray]:
    """One CityJSON surface (outer ring, then holes) as polygon loops: holes get triangulated."""
    rings = [np.asarray(r, np.int64) for r in surface]
    if len(rings) == 1:
        return [rings[0]]
    from .mesh_geometry import triangulate_polygon

    return list(triangulate_polygon(points, rings))


def _geometry_surfaces(geometry) -> list:
    kind = geometry["type"]
    b = geometry["boundaries"]
    if kind in ("MultiSurface", "CompositeSurface"):
        return list(b)
    if kind == "Solid":
        return [s for shell in b for s in shell]
    if kind in ("MultiSolid", "CompositeSolid"):
        return [s for solid in b for shell in solid for s in shell]
    return []


def read_cityjson(path) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """A CityJSON file's city objects, raw vertices and their ``transform`` (scale, translate).

    Metres are ``raw * scale + translate``. Raises SpecError naming the file when it is unreadable.
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        objects = doc["CityObjects"]
        raw = np.asarray(doc["vertices"], dtype=np.int64 if "transform" in doc else float)
    except (OSError, ValueError, KeyError) as exc:
        raise SpecError(str(path), f"is not a readable CityJSON file ({exc})",
                        "give a CityJSON 1.x/2.0 .city.json file") from exc
    transform = doc.get("transform", {"scale": [1, 1, 1], "translate": [0, 0, 0]})
    return objects, raw, np.asarray(transform["scale"], float), np.asarray(transform["translate"], float)


def load_cityjson(path, *, lod: str = "2.2", object_ids=None,
                  recentre: bool = True) -> list[tuple[str, np.ndarray, list[np.ndarray]]]:
    """Solids of a CityJSON file at one level of detail: ``[(object id, vertices, faces), ...]``.

    Vertices are in metres (``ints * transform.scale + transform.translate``). With ``recentre``
    every returned object is moved by one common offset: the centre of their joint footprint goes
    to x = y = 0 and their lowest point to z = 0 (national grid coordinates lose precision in
    float32 and put Blender's origin kilometres away). Faces are the outer rings of the surfaces;
    a surface with holes is triangulated around them. Solid, MultiSolid, CompositeSolid and
    Multi/CompositeSurface geometries are read; every shell of a solid (cavities too) is kept.
    """
    path = Path(path)
    objects, ints, scale, translate = read_cityjson(path)
    wanted = list(objects) if object_ids is None else [str(o) for o in object_ids]
    missing = [o for o in wanted if o not in objects]
    if missing:
        raise SpecError("object_ids", f"not in {path.name}: {missing[:5]}",
                        f"choose from {list(objects)[:10]}")
    picked = []
    lods_seen = set()
    for oid in wanted:
        geoms = objects[oid].get("geometry", [])
        lods_seen.update(str(g.get("lod")) for g in geoms)
        surfaces = [s for g in geoms if str(g.get("lod")) == str(lod) for s in _geometry_surfaces(g)]
        if surfaces:
            picked.append((oid, surfaces))
        elif object_ids is not None:
            raise SpecError("lod", f"object {oid} has no geometry at LoD {lod}",
                            f"choose from {sorted(str(g.get('lod')) for g in geoms)}")
    if not picked:
        raise SpecError("lod", f"no object in {path.name} has geometry at LoD {lod}",
                        f"choose from {sorted(lods_seen)}")
    used_all = [np.unique(np.concatenate([np.asarray(r, np.int64) for s in surfaces for r in s]))
                for _, surfaces in picked]
    offset = np.zeros(3)
    if recentre:
        # Work in integer units first so the large translate never meets the small offsets.
        every = ints[np.unique(np.concatenate(used_all))] * scale
        lo, hi = every.min(0), every.max(0)
        offset = -np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, lo[2]])
        base = offset
    else:
        base = translate
    result = []
    for (oid, surfaces), used in zip(picked, used_all, strict=True):
        remap = np.full(len(ints), -1, np.int64)
        remap[used] = np.arange(len(used))
        points = ints[used] * scale + base
        faces = []
        for surface in surfaces:
            local = [remap[np.asarray(r, np.int64)] for r in surface]
            faces.extend(_surface_faces(local, points))
        result.append((oid, points, faces))
    return result


# ----------------------------------------------------------------------------------------------
# Writer
# ----------------------------------------------------------------------------------------------

def write_obj(path, vertices, faces, name: str = "mesh") -> Path:
    """Write a Wavefront OBJ (``v`` and 1-based ``f`` lines) atomically; ``load_obj`` reads it back.

    Coordinates go through ``float()`` and ``repr`` (shortest round-trip text), never through a
    NumPy scalar's repr (NumPy 2 writes ``np.float64(0.5)``).
    """
    path = Path(path)
    lines = [f"o {name}"]
    lines += ["v " + " ".join(repr(float(c)) for c in v) for v in np.asarray(vertices, float)]
    lines += ["f " + " ".join(str(int(i) + 1) for i in f) for f in faces]
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
