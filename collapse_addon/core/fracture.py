"""Voronoi fracture of convex box elements into exact shards, with their contact graph.

Pure numpy/scipy (never imports bpy). Cells come from ``voronoi.box_voronoi_cells`` and are clipped
exactly to each element by its six half-spaces; everything after that is vectorised over all shards.
"""

from __future__ import annotations

import numpy as np

from .building import Building, ElementContacts, element_box_contacts
from .errors import FractureError, SpecError
from .polygons import area_centroid, clip_convex
from .seeds import FractureSpec, allocate_cells, element_generators, sample_seeds
from .shards import ContactGraph, ShardSet
from .voronoi import RawCells, _cross, box_voronoi_cells, face_area_vectors, fan_triangles, wall_id

_AREA_EPS = 1e-12


def building_seeds(building: Building, spec: FractureSpec,
                   fracture_kinds: tuple[str, ...] | None = None) -> list[np.ndarray]:
    """The Voronoi seeds of every element (one seed at the centre of elements that stay whole).

    By default the foundation stays whole (it is the passive anchor) and every other kind breaks.
    """
    if fracture_kinds is None:
        fracture_kinds = tuple(k for k in {e.kind for e in building.elements} if k != "foundation")
    lo = np.array([e.lo for e in building.elements])
    hi = np.array([e.hi for e in building.elements])
    breakable = np.array([e.kind in fracture_kinds for e in building.elements])
    counts = np.ones(len(lo), dtype=np.int64)
    if breakable.any():
        counts[breakable] = allocate_cells(spec, lo[breakable], hi[breakable])
    rngs = element_generators(spec.seed, len(lo))
    return [sample_seeds(spec, lo[i], hi[i], int(counts[i]), rngs[i]) if breakable[i]
            else (0.5 * (lo[i] + hi[i]))[None] for i in range(len(lo))]


def fracture_building(building: Building, spec: FractureSpec | None = None, *,
                      fracture_kinds: tuple[str, ...] | None = None,
                      backend: str | None = None) -> ShardSet:
    """Fracture every element of ``building``; elements of kinds not in ``fracture_kinds`` stay whole.

    By default the foundation stays whole (it is the passive anchor) and every other kind breaks.
    """
    spec = spec or FractureSpec()
    lo = np.array([e.lo for e in building.elements])
    hi = np.array([e.hi for e in building.elements])
    seeds = building_seeds(building, spec, fracture_kinds)

    return fracture_boxes(lo, hi, seeds, contacts=building.contacts, gap=spec.gap, backend=backend,
                          min_volume=spec.min_shard_volume)


def fracture_box(lo, hi, seeds: np.ndarray, *, gap: float = 0.0, backend: str | None = None) -> ShardSet:
    """Fracture one box at the given seeds (each strictly inside it)."""
    lo = np.asarray(lo, float)[None]
    hi = np.asarray(hi, float)[None]
    return fracture_boxes(lo, hi, [np.asarray(seeds, float)], gap=gap, backend=backend)


def check_seed_array(seeds: np.ndarray, field: str = "seeds") -> None:
    """Raise SpecError unless ``seeds`` is a non-empty (N, 3) array of finite, unique points."""
    if seeds.ndim != 2 or seeds.shape[1] != 3 or len(seeds) == 0:
        raise SpecError(field, f"must be an (N, 3) array with N >= 1, got shape {seeds.shape}",
                        "give one [x, y, z] row per cell")
    if not np.isfinite(seeds).all():
        raise SpecError(field, "contains NaN or infinite coordinates", "give finite coordinates")
    if len(np.unique(seeds, axis=0)) != len(seeds):
        raise SpecError(field, "contains duplicate seeds (two cells cannot share a seed)",
                        "remove the duplicates")


def validate_seeds(seeds: np.ndarray, lo: np.ndarray, hi: np.ndarray, field: str = "seeds") -> None:
    """Raise SpecError unless every seed is finite, unique and strictly inside the box."""
    check_seed_array(seeds, field)
    outside = np.nonzero(((seeds <= lo) | (seeds >= hi)).any(1))[0]
    if len(outside):
        raise SpecError(field, f"seed {int(outside[0])} at {seeds[outside[0]].tolist()} is not strictly "
                        f"inside the solid {lo.tolist()}-{hi.tolist()}",
                        "move seeds inside the element or drop them")


def fracture_boxes(lo: np.ndarray, hi: np.ndarray, seeds: list[np.ndarray], *,
                   contacts: ElementContacts | None = None, gap: float = 0.0,
                   backend: str | None = None, min_volume: float = 0.0) -> ShardSet:
    """Fracture each box ``lo[i]``-``hi[i]`` at ``seeds[i]`` and join the shards into one set.

    ``min_volume`` > 0: cells under it lose their seed and their element is re-cut (core/slivers.py).
    """
    lo = np.asarray(lo, float)
    hi = np.asarray(hi, float)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all() and (hi - lo > 0).all()):
        raise SpecError("element", "every element needs a finite size > 0 on each axis",
                        "check the building dimensions")
    for i, s in enumerate(seeds):
        validate_seeds(np.asarray(s, float), lo[i], hi[i], field=f"seeds[{i}]")
    if contacts is None:
        contacts = element_box_contacts(lo, hi)
    cells = [box_voronoi_cells(s, lo[i], hi[i], backend) for i, s in enumerate(seeds)]
    if min_volume > 0:
        from .slivers import drop_sliver_cells

        seeds, cells = drop_sliver_cells(seeds, cells, min_volume,
                                         lambda i, s: box_voronoi_cells(s, lo[i], hi[i], backend))
    raw, element, neighbor_global = _join(cells, [len(s) for s in seeds])
    all_seeds = np.concatenate(seeds)
    shards = _shard_set(raw, element, neighbor_global, all_seeds, contacts)
    if gap <= 0:
        return shards
    # The glue still follows the faces the shards shared before the gap was cut.
    shrunk = _shrink_cut_faces(raw, neighbor_global >= 0, 0.5 * gap, all_seeds)
    return _shard_set(shrunk, element, shrunk.face_neighbor, all_seeds, contacts, graph=shards.contacts)


def _join(cells: list[RawCells], counts: list[int]):
    """Concatenate per-element cells; neighbour seeds become global shard indices."""
    shard_offset = np.concatenate([[0], np.cumsum(counts)])
    vert_offset = np.concatenate([[0], np.cumsum([len(c.vertices) for c in cells])])
    face_offset = np.concatenate([[0], np.cumsum([len(c.face_sizes) for c in cells])])
    neighbor = np.concatenate([np.where(c.face_neighbor >= 0, c.face_neighbor + shard_offset[i], c.face_neighbor)
                               for i, c in enumerate(cells)])
    raw = RawCells(
        vertices=np.concatenate([c.vertices for c in cells]),
        vertex_start=np.concatenate([c.vertex_start[:-1] + vert_offset[i] for i, c in enumerate(cells)]
                                    + [[vert_offset[-1]]]),
        face_sizes=np.concatenate([c.face_sizes for c in cells]),
        face_start=np.concatenate([c.face_start[:-1] + face_offset[i] for i, c in enumerate(cells)]
                                  + [[face_offset[-1]]]),
        loops=np.concatenate([c.loops + vert_offset[i] for i, c in enumerate(cells)]),
        face_neighbor=neighbor,
        area_vectors=np.concatenate([c.area_vectors for c in cells]),
    )
    element = np.repeat(np.arange(len(cells)), counts)
    return raw, element, neighbor


def _shard_set(raw: RawCells, element: np.ndarray, neighbor: np.ndarray, seeds: np.ndarray,
               contacts: ElementContacts, graph: ContactGraph | None = None) -> ShardSet:
    n = raw.count
    face_cell = np.repeat(np.arange(n), np.diff(raw.face_start))
    tri_face, a, b, c = fan_triangles(raw.vertices, raw.loops, raw.face_sizes)
    area_vectors = raw.area_vectors
    if area_vectors is None:  # corners moved (gap): faces keep their winding, not their areas
        area_vectors = face_area_vectors(raw.vertices, raw.loops, raw.face_sizes)[0]
    face_area = np.sqrt(np.einsum("ij,ij->i", area_vectors, area_vectors))
    face_centroid = _face_centroids(tri_face, a, b, c, len(face_area))
    # Volume and centroid from tetrahedra (seed, triangle): the seed lies inside its convex cell.
    tri_cell = face_cell[tri_face]
    ref = seeds[tri_cell]
    a, b, c = a - ref, b - ref, c - ref
    tet_vol = np.einsum("ij,ij->i", a, _cross(b, c)) / 6.0
    volume = np.bincount(tri_cell, tet_vol, n)
    tet_centroid = ref + (a + b + c) / 4.0
    centroid = np.stack([np.bincount(tri_cell, tet_vol * tet_centroid[:, k], n) for k in range(3)], 1)
    if (volume <= 0).any():
        bad = int(np.argmin(volume))
        raise FractureError(f"shard {bad} has non-positive volume {volume[bad]:g}")
    centroid /= volume[:, None]
    surface_area = np.bincount(face_cell, face_area, n)
    if graph is None:
        graph = _contact_graph(raw, element, neighbor, face_cell, area_vectors, face_area, face_centroid,
                               contacts)
    return ShardSet(
        vertices=raw.vertices, vertex_start=raw.vertex_start, face_sizes=raw.face_sizes,
        face_start=raw.face_start, loops=raw.loops, face_interior=neighbor >= 0, volume=volume,
        centroid=centroid, surface_area=surface_area, element=element, contacts=graph)


def _face_centroids(tri_face, a, b, c, n_faces: int) -> np.ndarray:
    """Area centroids of planar faces from their fan triangles."""
    cr = _cross(b - a, c - a)
    w = np.sqrt(np.einsum("ij,ij->i", cr, cr))
    g = (a + b + c) / 3
    total = np.bincount(tri_face, w, n_faces)
    out = np.stack([np.bincount(tri_face, w * g[:, k], n_faces) for k in range(3)], 1)
    return out / np.maximum(total, 1e-300)[:, None]


def _contact_graph(raw, element, neighbor, face_cell, area_vectors, face_area, face_centroid,
                   contacts) -> ContactGraph:
    """Shared faces inside elements (Voronoi ridges) and across touching elements (overlaps)."""
    # Inside an element: the face of cell i towards j, seen from both sides.
    inner = np.nonzero(neighbor >= 0)[0]
    i, j = face_cell[inner], neighbor[inner]
    fwd = i < j
    key_fwd = i[fwd] * (raw.count + 1) + j[fwd]
    key_bwd = j[~fwd] * (raw.count + 1) + i[~fwd]
    both = np.intersect1d(key_fwd, key_bwd)
    one_sided = np.setxor1d(key_fwd, key_bwd)
    if len(one_sided):
        lone_faces = np.concatenate([inner[fwd][np.isin(key_fwd, one_sided)], inner[~fwd][np.isin(key_bwd, one_sided)]])
        worst = face_area[lone_faces].max()
        if worst > 1e-9 * max(1.0, face_area.max()):
            raise FractureError(f"Voronoi faces disagree between neighbours (area {worst:g} m^2)")
    keep = np.isin(key_fwd, both)
    faces = inner[fwd][keep]
    pairs = np.stack([face_cell[faces], neighbor[faces]], 1)
    area = face_area[faces]
    normal = area_vectors[faces] / np.maximum(area, 1e-300)[:, None]
    centroid = face_centroid[faces]
    inner_graph = (pairs, area, centroid, normal, np.zeros(len(faces), bool))
    cross = _cross_element_contacts(raw, element, neighbor, face_cell, area_vectors, contacts)
    parts = [inner_graph, cross]
    pairs, area, centroid, normal, is_cross = (np.concatenate(p) for p in zip(*parts, strict=True))
    big = area > _AREA_EPS
    pairs, area, centroid, normal, is_cross = pairs[big], area[big], centroid[big], normal[big], is_cross[big]
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    return ContactGraph(pairs[order].astype(np.int64), area[order], centroid[order], normal[order], is_cross[order])


def _cross_element_contacts(raw, element, neighbor, face_cell, area_vectors, contacts: ElementContacts):
    """Overlaps of shard faces lying on the shared face of two touching elements."""
    wall = neighbor < 0
    face_element = element[face_cell]
    key = np.where(wall, face_element * 6 + (-neighbor - 1), -1)
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    loop_start = raw.loop_start
    rows_pairs, rows_area, rows_centroid, rows_normal = [], [], [], []

    def faces_on(el, wid):
        k = el * 6 + (-wid - 1)
        s, e = np.searchsorted(sorted_keys, [k, k + 1])
        return order[s:e]

    def polygons(faces, axis):
        """Counter-clockwise 2D corners (the two axes other than ``axis``) and bounding boxes."""
        uv = [k for k in range(3) if k != axis]
        # Dropping axis 1 maps (x, z) with a flipped handedness; the area vector says the winding.
        flip = area_vectors[faces, axis] * (-1.0 if axis == 1 else 1.0) < 0
        sizes = raw.face_sizes[faces]
        width = int(sizes.max())
        slots = np.arange(width)[None, :]
        valid = slots < sizes[:, None]
        idx = np.where(valid, loop_start[faces][:, None] + np.minimum(slots, sizes[:, None] - 1), 0)
        corners = raw.vertices[raw.loops[idx]][:, :, uv]
        box_lo = np.where(valid[..., None], corners, np.inf).min(1)
        box_hi = np.where(valid[..., None], corners, -np.inf).max(1)
        rows = corners.tolist()
        polys = [row[:k][::-1] if f else row[:k] for row, k, f in zip(rows, sizes.tolist(), flip.tolist(), strict=True)]
        return [[tuple(p) for p in poly] for poly in polys], box_lo, box_hi

    for (ea, eb), axis, normal in zip(contacts.pairs, contacts.axis, contacts.normal, strict=True):
        positive = normal[axis] > 0
        fa = faces_on(ea, wall_id(axis, positive))
        fb = faces_on(eb, wall_id(axis, not positive))
        if len(fa) == 0 or len(fb) == 0:
            continue
        uv = [k for k in range(3) if k != axis]
        plane = raw.vertices[raw.loops[loop_start[fa[0]]], axis]
        polys_a, lo_a, hi_a = polygons(fa, axis)
        polys_b, lo_b, hi_b = polygons(fb, axis)
        overlap = ((lo_a[:, None, :] < hi_b[None, :, :] - _AREA_EPS)
                   & (lo_b[None, :, :] < hi_a[:, None, :] - _AREA_EPS)).all(-1)
        n = np.asarray(normal, float)
        for ia, ib in zip(*np.nonzero(overlap), strict=True):
            poly = clip_convex(polys_a[ia], polys_b[ib])
            if len(poly) < 3:
                continue
            area, c2 = area_centroid(poly)
            if area <= _AREA_EPS:
                continue
            centroid = np.empty(3)
            centroid[uv] = c2
            centroid[axis] = plane
            sa, sb = face_cell[fa[ia]], face_cell[fb[ib]]
            rows_pairs.append((sa, sb) if sa < sb else (sb, sa))
            rows_area.append(area)
            rows_centroid.append(centroid)
            rows_normal.append(n if sa < sb else -n)
    if not rows_pairs:
        return np.zeros((0, 2), np.int64), np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, bool)
    return (np.array(rows_pairs, np.int64), np.array(rows_area), np.array(rows_centroid),
            np.array(rows_normal), np.ones(len(rows_pairs), bool))


def _shrink_cut_faces(raw: RawCells, cut: np.ndarray, offset: float, seeds: np.ndarray) -> RawCells:
    """Move every cut face ``offset`` inwards, re-deriving each cell from its shifted half-spaces.

    Faces that shrink away disappear; the surviving ones keep their neighbour id (so interior flags
    hold). A cell whose seed is not at least ``offset`` inside every cut face cannot keep its
    volume: that raises SpecError for the gap.
    """
    from scipy.spatial import ConvexHull, HalfspaceIntersection

    area_vectors = raw.area_vectors
    normals = area_vectors / np.linalg.norm(area_vectors, axis=1, keepdims=True)
    first = raw.vertices[raw.loops[raw.loop_start]]
    d = np.einsum("ij,ij->i", normals, first) - np.where(cut, offset, 0.0)
    per_vertices, per_faces, per_neighbors = [], [], []
    for cell in range(raw.count):
        fs = np.arange(raw.face_start[cell], raw.face_start[cell + 1])
        seed = seeds[cell]
        if (normals[fs] @ seed - d[fs]).max() > -1e-9:
            raise SpecError("gap", f"{2 * offset:g} m is too large for shard {cell}",
                            "use a smaller gap or fewer, larger shards")
        halfspaces = np.hstack([normals[fs], -d[fs, None]])
        corners = HalfspaceIntersection(halfspaces, seed).intersections
        hull = ConvexHull(corners)
        # Which original face plane each hull triangle lies on.
        plane_of = np.argmax(hull.equations[:, :3] @ normals[fs].T, axis=1)
        used = np.unique(hull.simplices)  # corners of the hull, numbered 0.. in the new cell
        remap = np.full(len(corners), -1)
        remap[used] = np.arange(len(used))
        faces, neighbors = [], []
        for k in np.unique(plane_of):
            ids = np.unique(hull.simplices[plane_of == k])
            pts = hull.points[ids]
            centre = pts.mean(0)
            u = pts[0] - centre
            u /= np.linalg.norm(u)
            v = np.cross(normals[fs[k]], u)
            ids = ids[np.argsort(np.arctan2((pts - centre) @ v, (pts - centre) @ u))]
            faces.append(len(ids))
            faces.extend(remap[ids].tolist())
            neighbors.append(raw.face_neighbor[fs[k]])
        per_vertices.append(corners[used])
        per_faces.append(np.array(faces))
        per_neighbors.append(np.array(neighbors))
    from .voronoi import _assemble, _orient_outward

    return _orient_outward(_assemble(per_vertices, per_faces, per_neighbors), seeds)
