"""Voronoi fracture of the artist's own closed mesh, convex or not (an L-block, a wall with window
holes, a real building model), into exact shards with their contact graph.

Pure numpy/scipy plus ``manifold3d`` (never imports bpy).

Method
------
1. The mesh is checked (``validate_solid_mesh``): finite, no degenerate faces, closed, 2-manifold,
   consistently oriented outwards, not flat, not self-intersecting. ``repair_mesh`` offers the fixes
   that are safe (merge by distance, close T-junctions, drop degenerate or doubled faces, make
   winding consistent and outward, cavities inward) and says what it did.
2. Seeds are drawn inside the solid only (rejection against its winding number), with the same
   patterns as the box path (``seeds.sample_seeds``); explicit seeds must lie inside the solid.
3. Voronoi cells fill the mesh's bounding box (``voronoi.box_voronoi_cells``).
4. Each cell is classified: a cell whose open interior no mesh triangle enters lies wholly inside
   the solid (its seed is inside and the interior is connected), so it is kept as it is, with no
   boolean. A conservative separating-plane test (the cell's face planes, then the triangle's
   plane) decides this, so a doubtful cell only costs a boolean. No cell lies wholly outside (each
   holds its seed), but parts of crossing cells do and are dropped by the boolean.
5. A crossing cell whose candidate triangles all lie on one plane (the wall's top, one window
   reveal) needs no boolean: every other face is certainly outside it, so the solid inside it is
   the half-space behind that plane, or the whole cell when the plane's faces miss the cell's
   section. Those cells are clipped exactly, all at once (``_clip_cells``).
6. The other crossing cells are intersected with the solid by manifold3d, one cell at a time
   (0.1-0.5 ms a boolean here; about 5% of the wall's cells at 1,000 cells), and split
   into islands (``Manifold.decompose``): a cell cut into two pieces by a non-convex mesh gives two
   shards. Where a Voronoi plane lies exactly on the surface with the solid beyond it (explicit
   seeds set symmetrically about a wall), manifold3d may leave a zero-volume flap; those pieces are
   cleaned (``as_original().simplify``) and their faces re-tagged by plane.

Why manifold3d: its booleans are exact in the sense that matters here (symbolic perturbation on
double-precision coordinates, guaranteed 2-manifold output for 2-manifold input, no epsilon
welding that eats volume), it carries a face id from each input triangle to every output
triangle (which tells cut faces from the original surface and which Voronoi plane a cut face
lies on), it is fast (C++, parallel) and it is one pip wheel for every platform Blender supports.
Blender's stock Cell Fracture builds shards from convex hulls plus Blender booleans: it crashes on
an L-shaped block and loses 1-3% of the volume; here the shard volumes add up to the mesh volume
within 1e-6 relative (checked on every run, ``FractureError`` otherwise).

Output: the same ``ShardSet`` as the box path. Whole cells keep their convex Voronoi polygons. Cut
pieces come back from manifold3d as triangles; triangles sharing a face id (one Voronoi plane, or
one input polygon) are merged back into one polygon when they form a single planar loop without
holes (the polygon may be non-convex), otherwise they stay triangles. ``face_interior`` is True on
faces lying on a Voronoi plane between two cells, False on the original surface (and on faces on the
bounding box, which are original surface too). ``convex`` flags non-convex pieces: the rigid-body
side must give those a MESH (or convex-decomposition) collision shape, not CONVEX_HULL.

The contact graph pairs shards sharing a face across a Voronoi plane. Where a plane is split on
both sides into several islands, the contact is the 2D overlap of the two islands' faces
(``manifold3d.CrossSection``), never the whole ridge. ``cross_element`` is always False here:
``fracture_meshes`` finds no contacts between separate meshes.

Several meshes (``fracture_meshes``) share the cell count by volume; ``element`` is the mesh's
index, 0 for ``fracture_mesh``.

Limits: the winding-number tests cost O(points x triangles) and each boolean follows the mesh's
triangle count, so dense meshes are slow (a 12,500-triangle mesh: 1 s to check, 4-5 s for 500
cells; a BVH for the point tests and a decimated proxy are the next steps); self-intersection is found by segment-triangle crossings
plus winding numbers just off the largest faces (see ``validate_solid_mesh``); meshes that only
touch themselves (coplanar overlaps, shells touching along a face) are not reported. When a
Voronoi plane lies exactly on the surface, a whole cell's face there stays flagged as cut even
where it is original surface (its contact area is still the true overlap). No ``gap`` yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import FractureError, MeshError, SpecError
from .fracture import check_seed_array
from .seeds import MAX_CELLS, FractureSpec, density, element_generators, sample_seeds
from .shards import ContactGraph, ShardSet
from .voronoi import RawCells, _cross, box_voronoi_cells, fan_triangles

_REL_TOL = 1e-9  # geometric tolerance, relative to the bounding-box diagonal
_VOLUME_TOL = 1e-6  # shard volumes must add up to the mesh volume within this (relative)
_PAIR_CHUNK = 400_000  # rows per vectorised block, to bound memory


# ----------------------------------------------------------------------------------------------
# Faces -> triangles
# ----------------------------------------------------------------------------------------------

def _face_loops(face) -> list[np.ndarray]:
    """A face as [outer loop, hole loops...]; a face is a loop or a list of loops."""
    if isinstance(face, np.ndarray):
        if face.ndim == 1:
            return [face.astype(np.int64)]
        return [np.asarray(loop, np.int64) for loop in face]
    face = list(face)
    if face and np.ndim(face[0]) == 1:
        return [np.asarray(loop, np.int64) for loop in face]
    return [np.asarray(face, np.int64)]


def _newell(points: np.ndarray) -> np.ndarray:
    """Area vector of a closed loop (exact for planar loops, any shape)."""
    return 0.5 * np.cross(points, np.roll(points, -1, axis=0)).sum(0)


def triangulate_polygon(vertices: np.ndarray, loops: list[np.ndarray]) -> np.ndarray:
    """Triangles (K, 3) of global vertex indices covering a polygon with optional holes.

    The polygon is projected onto the plane of its outer loop's area vector and triangulated by
    manifold3d's ear clipper (robust to collinear corners); triangles keep the outer loop's
    winding. A zero-area polygon gives no triangles.
    """
    import manifold3d

    outer = loops[0]
    normal = _newell(vertices[outer])
    norm = np.linalg.norm(normal)
    if norm <= 0 or not np.isfinite(norm):
        return np.zeros((0, 3), np.int64)
    n = normal / norm
    u = np.cross(n, [1.0, 0, 0] if abs(n[0]) < 0.9 else [0, 1.0, 0])
    u /= np.linalg.norm(u)
    v = np.cross(n, u)
    index_parts, polys = [], []
    for k, loop in enumerate(loops):
        p = vertices[loop]
        p2 = np.column_stack([p @ u, p @ v])
        area = 0.5 * (np.dot(p2[:, 0], np.roll(p2[:, 1], -1)) - np.dot(np.roll(p2[:, 0], -1), p2[:, 1]))
        if (k == 0) != (area > 0):  # outer counter-clockwise, holes clockwise
            loop, p2 = loop[::-1], p2[::-1]
        index_parts.append(loop)
        polys.append(np.ascontiguousarray(p2))
    tris = np.asarray(manifold3d.triangulate(polys), np.int64).reshape(-1, 3)
    return np.concatenate(index_parts)[tris]


def triangulate_faces(vertices: np.ndarray, faces, name: str = "mesh"):
    """Triangles of every face: ``(triangles (T, 3), tri_face (T,), face_area (F,))``.

    Convex single-loop faces are fanned (vectorised); others go through ``triangulate_polygon``.
    Raises MeshError for faces with missing vertices or fewer than 3 corners.
    """
    nv = len(vertices)
    if isinstance(faces, np.ndarray) and faces.ndim == 2:
        loops_per_face = [[row] for row in faces.astype(np.int64)]
    else:
        loops_per_face = [_face_loops(f) for f in faces]
    face_area = np.zeros(len(loops_per_face))
    simple_by_size: dict[int, list[int]] = {}
    tris, owners = [], []
    for fi, loops in enumerate(loops_per_face):
        for loop in loops:
            if len(loop) < 3:
                raise MeshError(name, f"face {fi} has {len(loop)} corners", "every face needs 3 or more")
            if loop.min() < 0 or loop.max() >= nv:
                raise MeshError(name, f"face {fi} refers to a vertex that does not exist",
                                "re-export the mesh")
        if len(loops) == 1:
            simple_by_size.setdefault(len(loops[0]), []).append(fi)
        else:
            t = triangulate_polygon(vertices, loops)
            face_area[fi] = sum(np.linalg.norm(_newell(vertices[lp])) * (1 if k == 0 else -1)
                                for k, lp in enumerate(loops))
            tris.append(t)
            owners.append(np.full(len(t), fi))
    for size, ids in simple_by_size.items():
        ids = np.asarray(ids)
        loops = np.stack([loops_per_face[i][0] for i in ids])  # (n, size)
        p = vertices[loops]
        nrm = 0.5 * np.cross(p, np.roll(p, -1, axis=1)).sum(1)
        face_area[ids] = np.linalg.norm(nrm, axis=1)
        if size == 3:
            tris.append(loops)
            owners.append(ids)
            continue
        edge = np.roll(p, -1, axis=1) - p
        turn = np.einsum("nkj,nj->nk", np.cross(edge, np.roll(edge, -1, axis=1)), nrm)
        # Strictly convex corners only: a fan over collinear corners makes zero-area triangles.
        convex = (turn > 1e-9 * np.abs(turn).max(1, initial=0)[:, None]).all(1)
        fan = np.stack([np.repeat(loops[convex, :1], size - 2, 1), loops[convex, 1:-1], loops[convex, 2:]], -1)
        tris.append(fan.reshape(-1, 3))
        owners.append(np.repeat(ids[convex], size - 2))
        for fi in ids[~convex]:
            t = triangulate_polygon(vertices, loops_per_face[fi])
            tris.append(t)
            owners.append(np.full(len(t), fi))
    if not tris:
        return np.zeros((0, 3), np.int64), np.zeros(0, np.int64), face_area
    return (np.concatenate(tris).astype(np.int64), np.concatenate(owners).astype(np.int64), face_area)


# ----------------------------------------------------------------------------------------------
# Geometry helpers
# ----------------------------------------------------------------------------------------------

def winding_numbers(points: np.ndarray, tri_points: np.ndarray) -> np.ndarray:
    """Generalised winding number of each point w.r.t. triangles (T, 3, 3) (Van Oosterom-Strackee).

    1 inside a closed outward solid, 0 outside, 0.5 on its surface; robust to any triangulation.
    Costs O(points x triangles), in blocks of plain component arrays (numpy is slow on length-3 axes).
    """
    points = np.atleast_2d(np.asarray(points, float))
    out = np.zeros(len(points))
    if len(tri_points) == 0 or len(points) == 0:
        return out
    step = max(1, 4096 // len(tri_points))
    corners = [[np.ascontiguousarray(tri_points[:, k, j])[None] for j in range(3)] for k in range(3)]
    for s in range(0, len(points), step):
        px, py, pz = (points[s:s + step, j, None] for j in range(3))
        (ax, ay, az), (bx, by, bz), (cx, cy, cz) = ((x - px, y - py, z - pz) for x, y, z in corners)
        la = np.sqrt(ax * ax + ay * ay + az * az)
        lb = np.sqrt(bx * bx + by * by + bz * bz)
        lc = np.sqrt(cx * cx + cy * cy + cz * cz)
        det = ax * (by * cz - bz * cy) + ay * (bz * cx - bx * cz) + az * (bx * cy - by * cx)
        div = (la * lb * lc + (ax * bx + ay * by + az * bz) * lc + (ax * cx + ay * cy + az * cz) * lb
               + (bx * cx + by * cy + bz * cz) * la)
        out[s:s + step] = np.arctan2(det, div).sum(1) / (2 * np.pi)
    return out


def _expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges ``starts[i] .. starts[i] + counts[i]``."""
    counts = np.asarray(counts, np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    offsets = np.repeat(np.asarray(starts, np.int64) - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return offsets + np.arange(total)


def _aabb_pairs(lo_a, hi_a, lo_b, hi_b, *, same: bool = False):
    """Index pairs (i in a, j in b) of overlapping boxes: sort and sweep along the longest axis.

    Two boxes overlap on the axis exactly when one's start lies within the other's extent, so two
    one-way sweeps (b starting within a, then a starting strictly within b) find every pair once,
    at a cost that follows the overlaps, not the widest box. ``same``: a and b are one set, and
    each unordered pair comes once as (i, j) with i < j.
    """
    if len(lo_a) == 0 or len(lo_b) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    ext = np.maximum(hi_a.max(0), hi_b.max(0)) - np.minimum(lo_a.min(0), lo_b.min(0))
    ax = int(np.argmax(ext))
    found_i, found_j = _sweep(lo_a, hi_a, lo_b, hi_b, ax, strict=False)
    if not same:
        back_j, back_i = _sweep(lo_b, hi_b, lo_a, hi_a, ax, strict=True)
        found_i, found_j = np.concatenate([found_i, back_i]), np.concatenate([found_j, back_j])
    else:
        keep = found_i != found_j
        i, j = found_i[keep], found_j[keep]
        found_i, found_j = np.minimum(i, j), np.maximum(i, j)
        # Boxes starting at the same place were found from both sides.
        key = np.unique(found_i * len(lo_a) + found_j)
        found_i, found_j = key // len(lo_a), key % len(lo_a)
    return found_i, found_j


def _sweep(lo_a, hi_a, lo_b, hi_b, ax, strict):
    """Pairs whose b box starts within the a box's extent on ``ax`` (after it, if ``strict``) and
    that overlap on every axis."""
    order = np.argsort(lo_b[:, ax], kind="stable")
    sorted_lo = lo_b[order, ax]
    left = np.searchsorted(sorted_lo, lo_a[:, ax], "right" if strict else "left")
    right = np.searchsorted(sorted_lo, hi_a[:, ax], "right")
    counts = np.maximum(right - left, 0)
    out_i, out_j = [], []
    block_starts = np.concatenate([[0], np.nonzero(np.diff(np.cumsum(counts) // _PAIR_CHUNK))[0] + 1,
                                   [len(counts)]])
    for s, e in zip(block_starts[:-1], block_starts[1:], strict=True):
        if e <= s:
            continue
        i = np.repeat(np.arange(s, e), counts[s:e])
        j = order[_expand(left[s:e], counts[s:e])]
        keep = ((lo_a[i] <= hi_b[j]) & (lo_b[j] <= hi_a[i])).all(1)
        out_i.append(i[keep])
        out_j.append(j[keep])
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(out_i), np.concatenate(out_j)


def _segments_cross_triangles(seg_tris: np.ndarray, tris: np.ndarray, tol: float) -> np.ndarray:
    """For each row: does an edge of ``seg_tris[r]`` cross ``tris[r]``'s plane strictly (ends beyond
    ``tol`` on both sides) at a point of the triangle (interior or boundary)?"""
    a, b, c = tris[:, 0], tris[:, 1], tris[:, 2]
    n = _cross(b - a, c - a)
    nn = np.sqrt((n * n).sum(1))
    edges = [(b - a), (c - b), (a - c)]
    starts = [a, b, c]
    lengths = [np.sqrt((e * e).sum(1)) for e in edges]
    valid = nn > tol * np.maximum.reduce(lengths)  # slivers thinner than tol have no reliable plane
    n = n / np.where(valid, nn, 1.0)[:, None]
    hit = np.zeros(len(tris), bool)
    for k in range(3):
        p, q = seg_tris[:, k], seg_tris[:, (k + 1) % 3]
        sp = ((p - a) * n).sum(1)
        sq = ((q - a) * n).sum(1)
        crosses = valid & (((sp > tol) & (sq < -tol)) | ((sp < -tol) & (sq > tol)))
        if not crosses.any():
            continue
        t = sp / np.where(crosses, sp - sq, 1.0)
        x = p + t[:, None] * (q - p)
        inside = crosses.copy()
        for e, s0, ln in zip(edges, starts, lengths, strict=True):
            dist = (_cross(e, x - s0) * n).sum(1) / np.maximum(ln, 1e-300)
            # On an edge counts: a valid mesh's edges meet only at shared corners.
            inside &= dist >= -tol
        hit |= inside
    return hit


def find_self_intersections(tri_points: np.ndarray, tol: float) -> np.ndarray:
    """Pairs of triangles (P, 2) where an edge of one passes through the other.

    The edge must cross the other triangle's plane strictly (both ends beyond ``tol``), so shared
    corners and edges of neighbouring triangles never count; a crossing point on the other
    triangle's edge does (edges of a valid mesh meet only at shared corners). Coplanar contact and
    a corner resting on a face are not reported.
    """
    lo = tri_points.min(1) - tol
    hi = tri_points.max(1) + tol
    i, j = _aabb_pairs(lo, hi, lo, hi, same=True)
    found = []
    for s in range(0, len(i), _PAIR_CHUNK):
        ii, jj = i[s:s + _PAIR_CHUNK], j[s:s + _PAIR_CHUNK]
        hit = (_segments_cross_triangles(tri_points[ii], tri_points[jj], tol)
               | _segments_cross_triangles(tri_points[jj], tri_points[ii], tol))
        found.append(np.stack([ii[hit], jj[hit]], 1))
    return np.concatenate(found) if found else np.zeros((0, 2), np.int64)


def _where(points: np.ndarray, k: int = 3) -> str:
    return ", ".join("(" + ", ".join(f"{x:.3g}" for x in p) + ")" for p in points[:k])


# ----------------------------------------------------------------------------------------------
# The checked solid
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SolidMesh:
    """A validated closed, outward, 2-manifold, non-self-intersecting mesh, triangulated."""

    name: str
    vertices: np.ndarray  # (V, 3)
    triangles: np.ndarray  # (T, 3) int64
    tri_face: np.ndarray  # (T,) index of the input face each triangle came from
    n_faces: int
    volume: float
    lo: np.ndarray
    hi: np.ndarray
    tolerance: float  # absolute length tolerance (1e-9 of the diagonal)
    shells: int
    manifold: object = field(repr=False)

    @property
    def tri_points(self) -> np.ndarray:
        return self.vertices[self.triangles]

    def contains(self, points: np.ndarray) -> np.ndarray:
        """True for points inside the solid (winding number above one half)."""
        points = np.atleast_2d(np.asarray(points, float))
        inside = ((points > self.lo) & (points < self.hi)).all(1)
        if inside.any():
            inside[inside] = winding_numbers(points[inside], self.tri_points) > 0.5
        return inside


def prepare_solid(vertices, faces, name: str = "mesh") -> SolidMesh:
    """Check the mesh (see ``validate_solid_mesh``) and return it triangulated, with its Manifold."""
    import manifold3d

    # A private, writable copy: the caller's array is never touched, and manifold3d refuses
    # read-only buffers (np.frombuffer, another library's memory).
    vertices = np.array(vertices, dtype=float) if vertices is not None else np.zeros((0, 3))
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) < 4 or faces is None or len(faces) < 4:
        raise MeshError(name, "is empty (a solid needs at least 4 vertices and 4 faces)",
                        "select a closed mesh object with volume")
    bad = np.nonzero(~np.isfinite(vertices).all(1))[0]
    if len(bad):
        raise MeshError(name, f"{len(bad)} vertices have NaN or infinite coordinates (first: vertex {bad[0]})",
                        "fix or delete those vertices")
    lo, hi = vertices.min(0), vertices.max(0)
    diag = float(np.linalg.norm(hi - lo))
    tol = _REL_TOL * diag
    if diag <= 0:
        raise MeshError(name, "is flat: all vertices coincide", "model a solid with volume")
    tris, tri_face, face_area = triangulate_faces(vertices, faces, name)
    degenerate = np.nonzero(face_area <= (1e-7 * diag) ** 2)[0]
    if len(degenerate):
        raise MeshError(name, f"{len(degenerate)} degenerate (zero-area) faces, e.g. face {degenerate[0]}",
                        "run repair_mesh (drops them) or Blender's Mesh > Clean Up > Degenerate Dissolve")
    _check_edges(vertices, tris, name)
    shell, n_shells = _shells(tris, len(vertices))
    centre = 0.5 * (lo + hi)
    p = vertices[tris] - centre
    tet = np.einsum("ij,ij->i", p[:, 0], _cross(p[:, 1], p[:, 2])) / 6.0
    shell_volume = np.bincount(shell, tet, n_shells)
    volume = float(shell_volume.sum())
    size = diag ** 3
    if abs(volume) <= 1e-9 * size or (hi - lo).min() <= 1e-6 * diag:
        raise MeshError(name, f"is flat (volume {volume:.3g} m^3, extents {np.round(hi - lo, 6).tolist()} m)",
                        "give the mesh thickness (Solidify modifier) before fracturing")
    if volume < 0:
        raise MeshError(name, "is inside out (its normals point inwards: negative volume)",
                        "run repair_mesh, or Blender's Mesh > Normals > Recalculate Outside")
    flat_shell = np.nonzero(np.abs(shell_volume) <= 1e-9 * size)[0]
    if len(flat_shell):
        where = vertices[tris[shell == flat_shell[0]][0]]
        raise MeshError(name, f"{len(flat_shell)} flat part(s) with no volume, e.g. near {_where(where, 1)}",
                        "delete the zero-thickness parts or give them thickness")
    tri_points = vertices[tris]
    crossing = find_self_intersections(tri_points, tol)
    if len(crossing):
        where = tri_points[crossing[:, 0]].mean(1)
        raise MeshError(name, f"self-intersects: {len(crossing)} pairs of crossing triangles, e.g. near {_where(where)}",
                        "join the overlapping parts with a Union boolean (Blender's 3D-Print "
                        "Toolbox, Checks > Intersections, shows where)")
    _check_winding(tri_points, shell, n_shells, diag, name)
    mesh = manifold3d.Mesh64(vert_properties=np.ascontiguousarray(vertices),
                             tri_verts=np.ascontiguousarray(tris, dtype=np.uint64),
                             face_id=np.ascontiguousarray(tri_face, dtype=np.uint64))
    solid = manifold3d.Manifold(mesh)
    status = solid.status()
    if status != manifold3d.Error.NoError:
        raise MeshError(name, f"manifold3d refuses it ({status.name})", "run repair_mesh and check it is closed")
    return SolidMesh(name, vertices, tris, tri_face, len(face_area), volume, lo, hi, tol, n_shells, solid)


def validate_solid_mesh(vertices, faces, name: str = "mesh") -> None:
    """Raise MeshError naming the problem and the fix unless the mesh is a fracturable solid.

    Faces are vertex loops (polygons, any size, may be non-convex) or lists of loops (an outer loop
    then holes). Checks, in order: empty; NaN/inf coordinates; faces with missing vertices or
    < 3 corners; degenerate (zero-area) faces; open edges (holes: how many and where); non-manifold
    edges (> 2 faces); inconsistent winding; flat or zero volume; inside out (negative volume);
    self-intersection. Several disjoint shells are fine (islands, or cavities wound inwards).

    Self-intersection is found in two ways: (1) triangle tests: an edge of one triangle crossing
    another triangle's plane strictly (both ends beyond 1e-9 of the mesh size) at a point of that
    triangle, for every pair with overlapping bounding boxes; two surfaces that cross always have
    such an edge; (2) winding numbers just off the largest faces of every shell must
    be 0 outside and 1 inside: this finds shells nested inside each other (a box inside a box) and
    inside-out shells, which cross no surface. Surfaces that only touch (coplanar overlap, shells
    sharing a face) are not reported.
    """
    prepare_solid(vertices, faces, name)


def _check_edges(vertices, tris, name):
    nv = len(vertices)
    src = tris.ravel()
    dst = tris[:, [1, 2, 0]].ravel()
    key = np.minimum(src, dst) * nv + np.maximum(src, dst)
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)

    def mids(mask):
        k = uniq[mask]
        return 0.5 * (vertices[k // nv] + vertices[k % nv])

    open_edges = counts == 1
    if open_edges.any():
        m = mids(open_edges)
        raise MeshError(name, f"is open: {int(open_edges.sum())} boundary edges (holes), e.g. at {_where(m)}; "
                        f"they span {_where(m.min(0)[None], 1)} to {_where(m.max(0)[None], 1)}",
                        "close the holes (Blender: Select > All by Trait > Non Manifold, then Face > Fill) "
                        "or run repair_mesh if they are duplicate vertices")
    many = counts > 2
    if many.any():
        raise MeshError(name, f"is non-manifold: {int(many.sum())} edges shared by more than two faces, "
                        f"e.g. at {_where(mids(many))}",
                        "separate the parts that meet at those edges (Blender: Select > All by Trait > Non Manifold)")
    forward = np.bincount(inverse, (src < dst).astype(float), len(uniq))
    flipped = forward != 1
    if flipped.any():
        raise MeshError(name, f"has inconsistent winding: {int(flipped.sum())} edges where neighbouring faces "
                        f"disagree, e.g. at {_where(mids(flipped))}",
                        "run repair_mesh or Blender's Mesh > Normals > Recalculate Outside")


def _shells(tris, nv):
    """Connected shells of a closed triangle mesh: (shell per triangle, count)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nt = len(tris)
    rows = np.repeat(np.arange(nt), 3)
    graph = coo_matrix((np.ones(3 * nt), (rows, tris.ravel() + nt)), shape=(nt + nv, nt + nv))
    n, labels = connected_components(graph, directed=False)
    tri_labels = labels[:nt]
    _, shell = np.unique(tri_labels, return_inverse=True)
    return shell, int(shell.max()) + 1


def _check_winding(tri_points, shell, n_shells, diag, name, per_shell: int = 8, total: int = 256):
    """Winding numbers just outside / inside the largest faces of each shell must be 0 / 1."""
    cr = _cross(tri_points[:, 1] - tri_points[:, 0], tri_points[:, 2] - tri_points[:, 0])
    area = 0.5 * np.sqrt((cr * cr).sum(1))
    order = np.lexsort((-area, shell))
    first = np.searchsorted(shell[order], np.arange(n_shells))
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.append(first, len(order))))
    pick = order[rank < per_shell]
    if len(pick) > total:
        pick = pick[np.argsort(-area[pick], kind="stable")[:total]]
    pick = pick[area[pick] > 0]
    normal = cr[pick] / (2 * area[pick])[:, None]
    centre = tri_points[pick].mean(1)
    delta = 1e-6 * diag
    w_out = winding_numbers(centre + delta * normal, tri_points)
    w_in = winding_numbers(centre - delta * normal, tri_points)
    bad = (np.abs(w_out) > 0.25) | (np.abs(w_in - 1) > 0.25)
    if bad.any():
        k = int(np.argmax(bad))
        raise MeshError(name, f"overlaps itself or has an inside-out part near {_where(centre[k:k + 1], 1)} "
                        f"(winding number {w_in[k]:.2f} inside, {w_out[k]:.2f} outside; expected 1 and 0)",
                        "join overlapping parts with a Union boolean and recalculate normals outside")


# ----------------------------------------------------------------------------------------------
# Repair
# ----------------------------------------------------------------------------------------------

@dataclass
class MeshRepair:
    """What ``repair_mesh`` did; ``vertices``/``faces`` are the repaired mesh."""

    vertices: np.ndarray
    faces: list
    merged_vertices: int = 0
    split_t_junctions: int = 0
    dropped_degenerate: int = 0
    dropped_duplicates: int = 0
    flipped_faces: int = 0
    notes: list = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.merged_vertices or self.split_t_junctions or self.dropped_degenerate
                    or self.dropped_duplicates or self.flipped_faces)


def repair_mesh(vertices, faces, *, merge_distance: float | None = None) -> MeshRepair:
    """Safe repairs an add-on can offer as a fix; never moves volume, never invents surface.

    1. Merge vertices closer than ``merge_distance`` (default 1e-6 of the bounding-box diagonal)
       onto the lowest-numbered one (Blender's Merge by Distance).
    2. Drop repeated corners, faces left with < 3 corners and zero-area faces (they hold no volume).
    3. Drop doubled faces: two faces on the same corners wound oppositely (an internal double wall)
       both go; wound alike, one goes.
    3b. Close T-junctions: where an open edge passes within ``merge_distance`` of another open
       edge's vertex (common in CityJSON, where a wall meets two neighbours), insert that vertex
       into the face. For CityJSON give ``merge_distance`` about the file's ``transform.scale``
       (coordinates are rounded to it).
    4. Make the winding consistent across each shell (breadth-first over shared edges), then wind
       each shell outwards, or inwards when it is a cavity nested in an odd number of other shells.

    Holes are not filled and self-intersections are not resolved: ``validate_solid_mesh`` still
    reports those. NaN coordinates raise MeshError.
    """
    v = np.asarray(vertices, float)
    if v.ndim != 2 or v.shape[1] != 3 or not np.isfinite(v).all():
        raise MeshError("mesh", "cannot repair vertices that are not finite (x, y, z) rows",
                        "delete the NaN vertices first")
    diag = float(np.linalg.norm(v.max(0) - v.min(0))) if len(v) else 0.0
    dist = 1e-6 * diag if merge_distance is None else float(merge_distance)
    result = MeshRepair(v, [])
    remap = np.arange(len(v))
    if dist > 0 and len(v) > 1:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components
        from scipy.spatial import cKDTree

        pairs = cKDTree(v).query_pairs(dist, output_type="ndarray")
        if len(pairs):
            g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(v), len(v)))
            _, label = connected_components(g, directed=False)
            rep = np.full(label.max() + 1, len(v))
            np.minimum.at(rep, label, np.arange(len(v)))
            remap = rep[label]
            result.merged_vertices = int((remap != np.arange(len(v))).sum())
    keep_v = np.unique(remap)
    compact = np.full(len(v), -1, np.int64)
    compact[keep_v] = np.arange(len(keep_v))
    remap = compact[remap]
    v = v[keep_v]
    loops_all = []
    for face in faces:
        loops = []
        for k, loop in enumerate(_face_loops(face)):
            loop = remap[loop]
            loop = loop[loop != np.roll(loop, -1)]  # repeated corners
            if len(np.unique(loop)) < 3 or np.linalg.norm(_newell(v[loop])) <= (1e-7 * diag) ** 2:
                if k == 0:
                    loops = []
                    break
                continue
            loops.append(loop)
        if loops:
            loops_all.append(loops)
        else:
            result.dropped_degenerate += 1
    # Doubled faces.
    seen: dict[tuple, list[int]] = {}
    for i, loops in enumerate(loops_all):
        seen.setdefault(tuple(sorted(loops[0].tolist())), []).append(i)
    drop = set()
    for ids in seen.values():
        if len(ids) < 2:
            continue
        remaining = list(ids)
        while len(remaining) >= 2:
            a = remaining.pop(0)
            partner = next((b for b in remaining if not _same_cycle(loops_all[a][0], loops_all[b][0])), None)
            if partner is not None:
                drop.update((a, partner))
                remaining.remove(partner)
            else:
                drop.add(remaining.pop(0))
    loops_all = [lp for i, lp in enumerate(loops_all) if i not in drop]
    result.dropped_duplicates = len(drop)
    loops_all, result.split_t_junctions = _split_t_junctions(v, loops_all, max(dist, 1e-12 * diag))
    flips = _consistent_winding(v, loops_all, result.notes)
    loops_all = [[lp[::-1].copy() for lp in loops] if f else loops for loops, f in zip(loops_all, flips, strict=True)]
    result.flipped_faces = int(np.sum(flips))
    result.vertices = v
    result.faces = [loops[0] if len(loops) == 1 else loops for loops in loops_all]
    if result.merged_vertices:
        result.notes.append(f"merged {result.merged_vertices} vertices closer than {dist:.3g} m")
    if result.split_t_junctions:
        result.notes.append(f"inserted {result.split_t_junctions} corners where a vertex lay on a "
                            "neighbouring face's edge (T-junctions)")
    if result.dropped_degenerate:
        result.notes.append(f"dropped {result.dropped_degenerate} degenerate faces")
    if result.dropped_duplicates:
        result.notes.append(f"dropped {result.dropped_duplicates} doubled faces")
    if result.flipped_faces:
        result.notes.append(f"flipped {result.flipped_faces} faces to wind outwards")
    return result


def _split_t_junctions(v, loops_all, tol, passes: int = 3):
    """Insert open-edge vertices lying on other open edges into those edges' loops."""
    inserted = 0
    for _ in range(passes):
        src, dst, where = [], [], []
        for fi, loops in enumerate(loops_all):
            for li, lp in enumerate(loops):
                src.append(lp)
                dst.append(np.roll(lp, -1))
                where.extend((fi, li, k) for k in range(len(lp)))
        if not src:
            break
        src, dst = np.concatenate(src), np.concatenate(dst)
        nv = len(v)
        key = src * nv + dst
        open_edge = ~np.isin(key, dst * nv + src)
        if not open_edge.any():
            break
        e = np.nonzero(open_edge)[0]
        pts = np.unique(np.concatenate([src[e], dst[e]]))
        a, b = v[src[e]], v[dst[e]]
        ei, pj = _aabb_pairs(np.minimum(a, b) - tol, np.maximum(a, b) + tol, v[pts] - tol, v[pts] + tol)
        p = pts[pj]
        ok = (p != src[e[ei]]) & (p != dst[e[ei]])
        ei, p = ei[ok], p[ok]
        ab = b[ei] - a[ei]
        t = np.einsum("ij,ij->i", v[p] - a[ei], ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-300)
        off = np.linalg.norm(a[ei] + t[:, None] * ab - v[p], axis=1)
        ok = (t > 0) & (t < 1) & (off <= tol)
        if not ok.any():
            break
        ei, p, t = ei[ok], p[ok], t[ok]
        order = np.lexsort((t, ei))
        add: dict[tuple, list] = {}
        for k in order:
            fi, li, pos = where[e[ei[k]]]
            add.setdefault((fi, li), []).append((pos, float(t[k]), int(p[k])))
        for (fi, li), items in add.items():
            lp = loops_all[fi][li].tolist()
            # Insert from the loop's end backwards, and along each edge from its far end, so
            # earlier positions stay valid and the new corners run in order along the edge.
            for pos, _, vert in sorted(items, key=lambda x: (-x[0], -x[1])):
                lp.insert(pos + 1, vert)
            loops_all[fi][li] = np.array(lp, np.int64)
            inserted += len(items)
    return loops_all, inserted


def _same_cycle(a: np.ndarray, b: np.ndarray) -> bool:
    k = int(np.nonzero(b == a[0])[0][0])
    return bool(np.array_equal(np.roll(b, -k), a))


def _consistent_winding(v, loops_all, notes) -> np.ndarray:
    """Flip flags making each shell's winding consistent and outward (cavities inward)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import breadth_first_order, connected_components

    nf = len(loops_all)
    flips = np.zeros(nf, bool)
    if nf == 0:
        return flips
    nv = len(v)
    src, dst, owner = [], [], []
    for i, loops in enumerate(loops_all):
        for lp in loops:
            src.append(lp)
            dst.append(np.roll(lp, -1))
            owner.append(np.full(len(lp), i))
    src, dst, owner = np.concatenate(src), np.concatenate(dst), np.concatenate(owner)
    key = np.minimum(src, dst) * nv + np.maximum(src, dst)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    pair = np.nonzero((ks[1:] == ks[:-1]) & ((np.r_[ks[2:], -1] != ks[1:]) & (np.r_[-2, ks[:-2]] != ks[:-1])))[0]
    e1, e2 = order[pair], order[pair + 1]
    f1, f2 = owner[e1], owner[e2]
    same_dir = (src[e1] == src[e2])  # both faces run the edge the same way: one must flip
    ok = f1 != f2
    f1, f2, same_dir = f1[ok], f2[ok], same_dir[ok]
    g = coo_matrix((same_dir + 1.0, (f1, f2)), shape=(nf, nf)).tocsr()
    g = g.maximum(g.T).tocsr()
    n_comp, comp = connected_components(g, directed=False)
    for c in range(n_comp):
        root = int(np.nonzero(comp == c)[0][0])
        order_c, pred = breadth_first_order(g, root, directed=False, return_predecessors=True)
        for f in order_c[1:]:
            p = pred[f]
            flips[f] = flips[p] ^ (g[f, p] == 2.0)
    # Faces still disagreeing after the sweep: the surface is not orientable.
    conflicts = int(((flips[f1] ^ flips[f2]) != same_dir).sum())
    if conflicts:
        notes.append(f"{conflicts} edges still disagree (the surface is not orientable)")
    # Orient each shell: outward unless nested in an odd number of other shells.
    shell_vol = np.zeros(n_comp)
    shell_tris = []
    for c in range(n_comp):
        ids = np.nonzero(comp == c)[0]
        tris = []
        for i in ids:
            for lp in loops_all[i][:1]:
                lp = lp[::-1] if flips[i] else lp
                tris.append(np.stack([np.repeat(lp[0], len(lp) - 2), lp[1:-1], lp[2:]], 1))
        t = np.concatenate(tris)
        p = v[t]
        shell_vol[c] = np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0
        shell_tris.append(p if shell_vol[c] >= 0 else p[:, ::-1])
    depth = np.zeros(n_comp, int)
    if 1 < n_comp <= 200:
        for c in range(n_comp):
            probe = shell_tris[c][0].mean(0)[None]
            for d in range(n_comp):
                if d != c and abs(winding_numbers(probe, shell_tris[d])[0]) > 0.5:
                    depth[c] += 1
    elif n_comp > 200:
        notes.append("more than 200 shells: nesting not checked, every shell wound outwards")
    want_positive = depth % 2 == 0
    flip_shell = (shell_vol >= 0) != want_positive
    flips ^= flip_shell[comp]
    return flips


# ----------------------------------------------------------------------------------------------
# Seeds
# ----------------------------------------------------------------------------------------------

def _mean_density(spec: FractureSpec, solid: SolidMesh) -> float:
    """The pattern's mean seed density inside the solid (on a 5 x 5 x 5 grid of its box)."""
    if spec.pattern == "uniform":
        return 1.0
    t = (np.arange(5) + 0.5) / 5
    grid = solid.lo + np.stack(np.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3) * (solid.hi - solid.lo)
    inside = grid[solid.contains(grid)]
    return float(density(spec, inside if len(inside) else grid).mean())


def mesh_cell_count(spec: FractureSpec, solid: SolidMesh) -> int:
    """Cells for the solid: ``cell_count``, or its volume over ``shard_size`` cubed (weighted by
    the pattern's mean density inside the solid)."""
    if spec.shard_size is None:
        return max(int(spec.cell_count), spec.min_cells_per_element)
    total = int(round(solid.volume / spec.shard_size ** 3 * _mean_density(spec, solid)))
    if total > MAX_CELLS:
        raise SpecError("shard_size", f"{spec.shard_size} m gives {total} cells, over {MAX_CELLS}",
                        f"use at least {(solid.volume / MAX_CELLS) ** (1 / 3):.3g} m")
    return max(total, spec.min_cells_per_element)


def sample_mesh_seeds(spec: FractureSpec, solid: SolidMesh, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` seeds inside the solid, from the pattern's density (rejection in the bounding box)."""
    fill = solid.volume / float(np.prod(solid.hi - solid.lo))
    chosen, have = [], 0
    while have < count:
        batch = min(int(math.ceil((count - have) / max(fill, 1e-6) * 1.1)) + 16, 100_000)
        cand = sample_seeds(spec, solid.lo, solid.hi, batch, rng)
        keep = cand[solid.contains(cand)]
        chosen.append(keep)
        have += len(keep)
    return np.concatenate(chosen)[:count]


def validate_mesh_seeds(seeds, solid: SolidMesh, field_name: str = "seeds") -> np.ndarray:
    """Seeds as an (N, 3) array, or SpecError naming ``field_name``: finite, unique, inside."""
    seeds = np.asarray(seeds, float)
    check_seed_array(seeds, field_name)
    outside = np.nonzero(~solid.contains(seeds))[0]
    if len(outside):
        raise SpecError(field_name, f"seed {int(outside[0])} at {seeds[outside[0]].tolist()} is outside the "
                        f"solid '{solid.name}' ({len(outside)} of {len(seeds)} are)",
                        "move seeds inside the mesh or drop them")
    return seeds


# ----------------------------------------------------------------------------------------------
# Fracture
# ----------------------------------------------------------------------------------------------

def fracture_mesh(vertices, faces, spec: FractureSpec | None = None, *, name: str = "mesh",
                  seeds=None, backend: str | None = None, solid: SolidMesh | None = None) -> ShardSet:
    """Fracture a closed mesh (convex or not) into Voronoi shards with their contact graph.

    ``faces``: polygons (vertex loops, outward winding) or an (F, 3) triangle array. Seeds come
    from ``spec`` (count or shard size, pattern, seed) unless given. Every shard has ``element`` 0.
    Raises MeshError for an unusable mesh, SpecError for bad settings or seeds, FractureError if
    the shards fail to add up to the mesh's volume (never silent).
    ``solid`` may pass a ``prepare_solid`` result to skip re-checking the same mesh.
    """
    spec = spec or FractureSpec()
    _check_gap(spec)
    solid = solid or prepare_solid(vertices, faces, name)
    if seeds is None:
        rng = element_generators(spec.seed, 1)[0]
        seeds = sample_mesh_seeds(spec, solid, mesh_cell_count(spec, solid), rng)
        return _without_slivers(solid, seeds, spec, backend)
    else:
        seeds = validate_mesh_seeds(seeds, solid)
    return _fracture_solid(solid, seeds, backend)


def _without_slivers(solid, seeds, spec, backend) -> ShardSet:
    """Fracture, then drop the seeds of cells under ``spec.min_shard_volume`` (core/slivers.py)."""
    from .slivers import without_slivers

    def fracture(seed_list):
        return _fracture_solid(solid, seed_list[0], backend)

    return without_slivers(fracture, [seeds], fracture([seeds]), spec.min_shard_volume,
                           element=None)[0]


def fracture_meshes(meshes, spec: FractureSpec | None = None, *, names=None,
                    backend: str | None = None) -> ShardSet:
    """Fracture several closed meshes (e.g. the houses of a CityJSON file) into one ShardSet.

    ``meshes``: ``[(vertices, faces), ...]``; shard ``element`` is the mesh's index. ``cell_count``
    is shared by volume times the pattern's mean density (at least ``min_cells_per_element`` each);
    ``shard_size`` applies to each mesh. Each mesh draws its seeds from its own child of
    ``spec.seed``, so mesh 0 alone gives the same shards as ``fracture_mesh``. Contacts are found
    within each mesh only: meshes that touch (terraced houses) get no contacts between them.
    """
    spec = spec or FractureSpec()
    _check_gap(spec)
    names = list(names) if names is not None else [f"mesh {i}" for i in range(len(meshes))]
    if len(meshes) == 0 or len(names) != len(meshes):
        raise SpecError("meshes", f"needs one or more meshes and one name each, got {len(meshes)} / {len(names)}",
                        "pass [(vertices, faces), ...]")
    solids = [prepare_solid(v, f, n) for (v, f), n in zip(meshes, names, strict=True)]
    if spec.shard_size is not None:
        counts = [mesh_cell_count(spec, s) for s in solids]
    else:
        weight = np.array([s.volume * _mean_density(spec, s) for s in solids])
        share = weight / weight.sum() * max(spec.cell_count, spec.min_cells_per_element * len(solids))
        counts = np.floor(share).astype(np.int64)
        extra = int(round(share.sum())) - int(counts.sum())
        counts[np.argsort(-(share - counts), kind="stable")[:extra]] += 1
        counts = np.maximum(counts, spec.min_cells_per_element)
    rngs = element_generators(spec.seed, len(solids))
    parts = [_without_slivers(s, sample_mesh_seeds(spec, s, int(n), rng), spec, backend)
             for s, n, rng in zip(solids, counts, rngs, strict=True)]
    return join_shard_sets(parts)


def join_shard_sets(parts: list[ShardSet]) -> ShardSet:
    """One ShardSet from several; ``element`` becomes the index of the part each shard came from."""
    v_off = np.cumsum([0] + [len(p.vertices) for p in parts])
    f_off = np.cumsum([0] + [len(p.face_sizes) for p in parts])
    s_off = np.cumsum([0] + [p.count for p in parts])
    cat = np.concatenate
    contacts = ContactGraph(cat([p.contacts.pairs + s_off[i] for i, p in enumerate(parts)]).reshape(-1, 2),
                            cat([p.contacts.area for p in parts]),
                            cat([p.contacts.centroid for p in parts]).reshape(-1, 3),
                            cat([p.contacts.normal for p in parts]).reshape(-1, 3),
                            cat([p.contacts.cross_element for p in parts]))
    return ShardSet(
        vertices=cat([p.vertices for p in parts]),
        vertex_start=cat([p.vertex_start[:-1] + v_off[i] for i, p in enumerate(parts)] + [[v_off[-1]]]),
        face_sizes=cat([p.face_sizes for p in parts]),
        face_start=cat([p.face_start[:-1] + f_off[i] for i, p in enumerate(parts)] + [[f_off[-1]]]),
        loops=cat([p.loops + v_off[i] for i, p in enumerate(parts)]),
        face_interior=cat([p.face_interior for p in parts]),
        volume=cat([p.volume for p in parts]), centroid=cat([p.centroid for p in parts]),
        surface_area=cat([p.surface_area for p in parts]),
        element=cat([np.full(p.count, i, np.int64) for i, p in enumerate(parts)]),
        contacts=contacts,
        convex=cat([p.convex if p.convex is not None else np.ones(p.count, bool) for p in parts]))


def _check_gap(spec: FractureSpec) -> None:
    if spec.gap:
        raise SpecError("gap", "is not supported for fracturing a mesh yet", "use gap = 0")


def _fracture_solid(solid: SolidMesh, seeds: np.ndarray, backend) -> ShardSet:
    cells = box_voronoi_cells(seeds, solid.lo, solid.hi, backend)
    crossing, facing, plane_tri, single_pairs = _classify_cells(cells, solid)
    clip = plane_tri >= 0
    pieces = _cut_cells(cells, np.nonzero(crossing & ~clip)[0], solid, facing)
    clipped, whole_after_all = _clip_cells(cells, np.nonzero(clip)[0], plane_tri[clip], single_pairs, solid)
    crossing[whole_after_all] = False
    shards = _assemble(cells, crossing, pieces, solid, clipped)
    total = float(shards.volume.sum())
    if abs(total - solid.volume) > _VOLUME_TOL * solid.volume:
        raise FractureError(f"mesh '{solid.name}': shards hold {total:.9g} m^3 of {solid.volume:.9g} m^3; "
                            "please report this mesh")
    return shards


def crossing_cells(cells: RawCells, solid: SolidMesh) -> np.ndarray:
    """True for cells whose interior some mesh triangle may enter (conservative: never misses one)."""
    return _classify_cells(cells, solid)[0]


def _classify_cells(cells: RawCells, solid: SolidMesh):
    """``crossing`` (see ``crossing_cells``); ``facing``: cells with a face lying on the mesh's
    surface where the solid is on the far side (a Voronoi plane exactly on a wall, from seeds placed
    symmetrically about it), where manifold3d can leave a zero-volume flap, so those pieces get
    cleaned; ``plane_tri``: for crossing cells whose candidate triangles all lie on one plane, one of
    those triangles (else -1): such a cell is clipped by that plane without a boolean (see
    ``_clip_cells``); ``single_pairs``: (triangle, cell) candidates of those cells."""
    tol = solid.tolerance
    vs = cells.vertex_start
    cell_lo = np.minimum.reduceat(cells.vertices, vs[:-1], axis=0)
    cell_hi = np.maximum.reduceat(cells.vertices, vs[:-1], axis=0)
    tp = solid.tri_points
    tri, cell = _aabb_pairs(tp.min(1) - tol, tp.max(1) + tol, cell_lo, cell_hi)
    crossing = np.zeros(cells.count, bool)
    facing = np.zeros(cells.count, bool)
    plane_tri = np.full(cells.count, -1, np.int64)
    if len(tri) == 0:
        return crossing, facing, plane_tri, (tri, cell)
    av = cells.area_vectors
    fn = av / np.maximum(np.linalg.norm(av, axis=1), 1e-300)[:, None]
    fd = np.einsum("ij,ij->i", fn, cells.vertices[cells.loops[cells.loop_start]])
    tcr = _cross(tp[:, 1] - tp[:, 0], tp[:, 2] - tp[:, 0])
    tn = tcr / np.maximum(np.linalg.norm(tcr, axis=1), 1e-300)[:, None]
    td = np.einsum("ij,ij->i", tn, tp[:, 0])
    nfaces = np.diff(cells.face_start)
    nverts = np.diff(vs)
    step = max(1, _PAIR_CHUNK // 16)
    hits_t, hits_c = [], []
    for s in range(0, len(tri), step):
        t, c = tri[s:s + step], cell[s:s + step]
        # (a) the triangle lies outside one of the cell's face planes
        cnt = nfaces[c]
        rows = _expand(cells.face_start[c], cnt)
        rt = np.repeat(t, cnt)
        dots = np.einsum("rkj,rj->rk", tp[rt], fn[rows]) - fd[rows][:, None]
        on_plane = (np.abs(dots) <= tol).all(1) & (np.einsum("rj,rj->r", tn[rt], fn[rows]) < 0)
        facing[np.repeat(c, cnt)[on_plane]] = True
        starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        sep = np.maximum.reduceat(dots.min(1), starts) >= -tol
        t, c = t[~sep], c[~sep]
        if len(t) == 0:
            continue
        # (b) the cell lies on one side of the triangle's plane
        cnt = nverts[c]
        rows = _expand(vs[c], cnt)
        rt = np.repeat(t, cnt)
        side = np.einsum("rj,rj->r", cells.vertices[rows], tn[rt]) - td[rt]
        starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        sep = (np.maximum.reduceat(side, starts) <= tol) | (np.minimum.reduceat(side, starts) >= -tol)
        crossing[c[~sep]] = True
        hits_t.append(t[~sep])
        hits_c.append(c[~sep])
    # Cells entered by triangles of one plane only: the solid there is the half-space behind it
    # (the plane's faces must cover the cell's section, or another face would enter the cell).
    t = np.concatenate(hits_t) if hits_t else np.zeros(0, np.int64)
    c = np.concatenate(hits_c) if hits_c else np.zeros(0, np.int64)
    if len(t):
        order = np.argsort(c, kind="stable")
        t, c = t[order], c[order]
        first = np.unique(c, return_index=True)[1]
        ref = np.repeat(t[first], np.diff(np.append(first, len(t))))
        same = (np.einsum("ij,ij->i", tn[t], tn[ref]) > 1 - 1e-12) & (np.abs(td[t] - td[ref]) <= tol)
        single = np.logical_and.reduceat(same, first)
        chosen = single & ~facing[c[first]]
        plane_tri[c[first][chosen]] = t[first][chosen]
        in_single = np.repeat(chosen, np.diff(np.append(first, len(t))))
        single_pairs = (t[in_single], c[in_single])
    else:
        single_pairs = (t, c)
    return crossing, facing, plane_tri, single_pairs


@dataclass
class _Pieces:
    vertices: np.ndarray
    vertex_start: np.ndarray  # per piece
    triangles: np.ndarray  # global
    tri_start: np.ndarray
    face_id: np.ndarray  # per triangle: < n_faces input face, else n_faces + raw cell face
    cell: np.ndarray  # per piece


def _cut_cells(cells: RawCells, ids: np.ndarray, solid: SolidMesh, facing=None) -> _Pieces:
    """Intersect the crossing cells with the solid (manifold3d) and split them into islands.

    One boolean per cell: batching disjoint cells into one mesh was measured no faster here (the
    boolean's cost follows the triangle count, and large inputs switch manifold3d to threads).
    """
    import manifold3d

    ids = np.asarray(ids, np.int64)
    nf_in = solid.n_faces
    face_cell = np.repeat(np.arange(cells.count), np.diff(cells.face_start))
    nfaces = np.diff(cells.face_start)
    nverts = np.diff(cells.vertex_start)
    # Fan triangles of every crossing cell's (convex) faces, tagged with their Voronoi face.
    fsel = _expand(cells.face_start[ids], nfaces[ids])
    ntri = cells.face_sizes[fsel] - 2
    first = np.repeat(cells.loop_start[fsel], ntri)
    within = np.arange(int(ntri.sum())) - np.repeat(np.cumsum(ntri) - ntri, ntri)
    tri_global = np.stack([cells.loops[first], cells.loops[first + within + 1],
                           cells.loops[first + within + 2]], 1)
    tri_face = np.repeat(fsel, ntri)
    tri_cell = face_cell[tri_face]
    tri_bounds = np.searchsorted(tri_cell, ids)  # triangles are grouped by cell, in ids order
    tri_bounds = np.append(tri_bounds, len(tri_cell))
    found = []
    for k, c in enumerate(ids.tolist()):
        v0 = cells.vertex_start[c]
        tsel = slice(tri_bounds[k], tri_bounds[k + 1])
        cell_m = manifold3d.Manifold(manifold3d.Mesh64(
            vert_properties=np.ascontiguousarray(cells.vertices[v0:v0 + nverts[c]]),
            tri_verts=np.ascontiguousarray(tri_global[tsel] - v0, dtype=np.uint64),
            face_id=np.ascontiguousarray(tri_face[tsel] + nf_in, dtype=np.uint64)))
        if cell_m.status() != manifold3d.Error.NoError:
            raise FractureError(f"Voronoi cell {c} is not a valid solid ({cell_m.status().name})")
        cut = solid.manifold ^ cell_m
        if cut.is_empty():
            continue
        clean = facing is not None and facing[c]
        for part in cut.decompose():
            if clean:
                part = part.as_original().simplify(solid.tolerance)
                if part.is_empty():
                    continue
            m = part.to_mesh64()
            pv = np.asarray(m.vert_properties)[:, :3]
            pt = np.asarray(m.tri_verts, np.int64)
            pf = _face_ids_by_plane(pv, pt, cells, c, solid) if clean else np.asarray(m.face_id, np.int64)
            found.append((c, tuple(pv.mean(0)), pv, pt, pf))
    found.sort(key=lambda item: (item[0], item[1]))  # cell order, islands in a fixed order
    if not found:
        z = np.zeros(1, np.int64)
        return _Pieces(np.zeros((0, 3)), z, np.zeros((0, 3), np.int64), z, np.zeros(0, np.int64), z[:0])
    vcounts = [len(item[2]) for item in found]
    tcounts = [len(item[3]) for item in found]
    vertex_start = np.concatenate([[0], np.cumsum(vcounts)])
    tri_start = np.concatenate([[0], np.cumsum(tcounts)])
    tri_offset = np.repeat(vertex_start[:-1], tcounts)
    return _Pieces(np.concatenate([item[2] for item in found]), vertex_start,
                   np.concatenate([item[3] for item in found]) + tri_offset[:, None], tri_start,
                   np.concatenate([item[4] for item in found]),
                   np.array([item[0] for item in found], np.int64))


def _face_ids_by_plane(pv, pt, cells: RawCells, c: int, solid: SolidMesh) -> np.ndarray:
    """Face ids of a cleaned piece's triangles, found by plane: the cell's faces first (a plane on
    both the cell and the surface counts as a cut, and the contact graph keeps only the overlap),
    then the mesh's triangles."""
    p = pv[pt]
    cr = _cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    n = cr / np.maximum(np.linalg.norm(cr, axis=1), 1e-300)[:, None]
    d = np.einsum("ij,ij->i", n, p[:, 0])
    tol = 10 * solid.tolerance
    out = np.full(len(pt), -1, np.int64)
    faces = np.arange(cells.face_start[c], cells.face_start[c + 1])
    av = cells.area_vectors[faces]
    fn = av / np.linalg.norm(av, axis=1)[:, None]
    fd = np.einsum("ij,ij->i", fn, cells.vertices[cells.loops[cells.loop_start[faces]]])
    match = (n @ fn.T > 1 - 1e-9) & (np.abs(d[:, None] - fd[None]) <= tol)
    hit = match.any(1)
    out[hit] = solid.n_faces + faces[match[hit].argmax(1)]
    tp = solid.tri_points
    tcr = _cross(tp[:, 1] - tp[:, 0], tp[:, 2] - tp[:, 0])
    tn = tcr / np.maximum(np.linalg.norm(tcr, axis=1), 1e-300)[:, None]
    td = np.einsum("ij,ij->i", tn, tp[:, 0])
    rest = np.nonzero(~hit)[0]
    match = (n[rest] @ tn.T > 1 - 1e-9) & (np.abs(d[rest, None] - td[None]) <= tol)
    if not match.any(1).all():
        raise FractureError(f"mesh '{solid.name}': a cleaned piece of cell {c} has a face on no known plane")
    out[rest] = solid.tri_face[match.argmax(1)]
    return out


def _merge_faces(vertices, tris, tri_group, rev, group_check_planar, tol):
    """Merge each group's triangles into one polygon when they form one planar loop.

    ``rev[e]`` is the directed edge opposite edge ``e`` (edge ``3 t + k`` runs from corner k of
    triangle t to corner k + 1). Returns (face_sizes, loops, face_group) in group order; groups
    that are not a single simple loop (holes, several parts, pinched corners) or not planar keep
    their triangles.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nv = len(vertices)
    n_groups = int(tri_group.max()) + 1 if len(tri_group) else 0
    src = tris.ravel()
    dst = tris[:, [1, 2, 0]].ravel()
    eg = np.repeat(tri_group, 3)
    boundary = np.nonzero(eg != eg[rev])[0]
    bsrc, bdst, bg = src[boundary], dst[boundary], eg[boundary]
    start_key = bg * nv + bsrc
    sorder = np.argsort(start_key)
    sk = start_key[sorder]
    pinched = np.zeros(n_groups, bool)
    dup = sk[1:] == sk[:-1]
    pinched[(sk[1:][dup]) // nv] = True
    nxt_pos = np.minimum(np.searchsorted(sk, bg * nv + bdst), len(sk) - 1)
    succ = sorder[nxt_pos]
    nb = len(boundary)
    g = coo_matrix((np.ones(nb), (np.arange(nb), succ)), shape=(nb, nb))
    _, label = connected_components(g, directed=True, connection="weak")
    cycles = np.bincount(np.unique(bg * (label.max() + 1) + label) // (label.max() + 1), minlength=n_groups)
    single = (cycles == 1) & ~pinched
    # Planarity of groups from the original surface (input polygons may be slightly warped).
    check = single & group_check_planar
    if check.any():
        p = vertices[tris]
        av = _cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
        gav = np.stack([np.bincount(tri_group, av[:, k], n_groups) for k in range(3)], 1)
        gn = gav / np.maximum(np.linalg.norm(gav, axis=1), 1e-300)[:, None]
        anchor = np.full(n_groups, -1, np.int64)
        anchor[bg[::-1]] = bsrc[::-1]
        d = np.abs(np.einsum("ij,ij->i", vertices[bsrc] - vertices[anchor[bg]], gn[bg]))
        warped = np.zeros(n_groups, bool)
        warped[bg[d > tol]] = True
        single &= ~(check & warped)
    # Order each single group's boundary edges along its loop (list ranking by pointer jumping).
    in_single = single[bg]
    e = np.nonzero(in_single)[0]
    loops_single = np.zeros(0, np.int64)
    sizes_single = np.zeros(n_groups, np.int64)
    if len(e):
        local = np.full(nb, -1, np.int64)
        local[e] = np.arange(len(e))
        nxt = local[succ[e]]
        grp = bg[e]
        head = np.zeros(n_groups, np.int64)
        first_of, at = np.unique(grp, return_index=True)  # one loop per group: its first edge
        head[first_of] = at
        is_last = nxt == head[grp]
        dist = np.where(is_last, 0, 1).astype(np.int64)
        nxt = np.where(is_last, np.arange(len(e)), nxt)
        for _ in range(int(np.ceil(np.log2(len(e) + 1))) + 1):
            dist = dist + dist[nxt]
            nxt = nxt[nxt]
        order_e = np.lexsort((-dist, grp))
        loops_single = bsrc[e][order_e]
        sizes_single = np.bincount(grp, minlength=n_groups)
    # Emit faces in group order: one polygon per single group, triangles for the others.
    tri_keep = ~single[tri_group]
    kept = np.nonzero(tri_keep)[0]
    face_group = np.concatenate([np.nonzero(single)[0], tri_group[kept]])
    face_sizes = np.concatenate([sizes_single[single], np.full(len(kept), 3)])
    pieces_loops = [loops_single, tris[kept].ravel()]
    face_order = np.argsort(face_group, kind="stable")
    loop_start = np.concatenate([[0], np.cumsum(face_sizes)[:-1]])
    all_loops = np.concatenate(pieces_loops)
    sel = _expand(loop_start[face_order], face_sizes[face_order])
    return face_sizes[face_order], all_loops[sel], face_group[face_order]


@dataclass
class _Flat:
    """Shards as flat arrays before their properties are computed."""

    vertices: np.ndarray
    vertex_start: np.ndarray
    face_sizes: np.ndarray
    face_start: np.ndarray
    loops: np.ndarray
    face_cell_face: np.ndarray  # raw Voronoi face each face lies on, -1 for the original surface
    shard_cell: np.ndarray
    convex: np.ndarray

    @property
    def loop_start(self):
        return np.concatenate([[0], np.cumsum(self.face_sizes)[:-1]]).astype(np.int64)


def _take(flat: _Flat, idx: np.ndarray) -> _Flat:
    """Shards ``idx`` of ``flat``, in that order, with re-based indices."""
    vcount = np.diff(flat.vertex_start)[idx]
    fcount = np.diff(flat.face_start)[idx]
    vsel = _expand(flat.vertex_start[idx], vcount)
    fsel = _expand(flat.face_start[idx], fcount)
    sizes = flat.face_sizes[fsel]
    lsel = _expand(flat.loop_start[fsel], sizes)
    new_index = np.full(len(flat.vertices), -1, np.int64)
    new_index[vsel] = np.arange(len(vsel))
    return _Flat(flat.vertices[vsel], np.concatenate([[0], np.cumsum(vcount)]), sizes,
                 np.concatenate([[0], np.cumsum(fcount)]), new_index[flat.loops[lsel]],
                 flat.face_cell_face[fsel], flat.shard_cell[idx], flat.convex[idx])


def _concat(a: _Flat, b: _Flat) -> _Flat:
    nv = len(a.vertices)
    return _Flat(np.concatenate([a.vertices, b.vertices]),
                 np.concatenate([a.vertex_start, b.vertex_start[1:] + nv]),
                 np.concatenate([a.face_sizes, b.face_sizes]),
                 np.concatenate([a.face_start, b.face_start[1:] + a.face_start[-1]]),
                 np.concatenate([a.loops, b.loops + nv]),
                 np.concatenate([a.face_cell_face, b.face_cell_face]),
                 np.concatenate([a.shard_cell, b.shard_cell]), np.concatenate([a.convex, b.convex]))


def _pieces_flat(p: _Pieces, solid: SolidMesh) -> _Flat:
    """Cut pieces as polygons (merged triangles), with convexity and cell-face tags."""
    n_pieces = len(p.cell)
    if n_pieces == 0:
        z = np.zeros(1, np.int64)
        e = np.zeros(0, np.int64)
        return _Flat(np.zeros((0, 3)), z, e, z, e, e, e, np.zeros(0, bool))
    tcount = np.diff(p.tri_start)
    tri_piece = np.repeat(np.arange(n_pieces), tcount)
    nf_in = solid.n_faces
    cell_face = np.where(p.face_id >= nf_in, p.face_id - nf_in, -1)
    # Groups: (piece, face id), numbered in piece order.
    gkey = tri_piece * (int(p.face_id.max()) + 1) + p.face_id
    ukey, tri_group = np.unique(gkey, return_inverse=True)
    group_cell_face = np.full(len(ukey), -1, np.int64)
    group_cell_face[tri_group] = cell_face
    group_piece = np.zeros(len(ukey), np.int64)
    group_piece[tri_group] = tri_piece
    t = p.triangles
    nv = len(p.vertices)
    src, dst = t.ravel(), t[:, [1, 2, 0]].ravel()
    key = src * nv + dst
    order = np.argsort(key)
    rev = order[np.minimum(np.searchsorted(key[order], dst * nv + src), len(key) - 1)]
    if not np.array_equal(key[rev], dst * nv + src):
        raise FractureError(f"mesh '{solid.name}': a cut piece came back open from manifold3d")
    sizes, loops, face_group = _merge_faces(p.vertices, t, tri_group, rev, group_cell_face < 0,
                                            solid.tolerance)
    # Convexity: at every edge the neighbouring triangle's far corner must not rise above the plane.
    pts = p.vertices[t]
    cr = _cross(pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 0])
    ln = np.sqrt(np.einsum("ij,ij->i", cr, cr))
    n = cr / np.maximum(ln, 1e-300)[:, None]
    apex = t.ravel()[(rev // 3) * 3 + (rev % 3 + 2) % 3]
    rise = np.einsum("ij,ij->i", p.vertices[apex] - p.vertices[src], np.repeat(n, 3, axis=0))
    concave = (rise > solid.tolerance) & np.repeat(ln > 0, 3)
    convex = np.bincount(np.repeat(tri_piece, 3), concave, n_pieces) == 0
    # Faces per piece, then drop vertices no face uses any more (inside merged polygons).
    face_piece = group_piece[face_group]
    fcount = np.bincount(face_piece, minlength=n_pieces)
    used = np.zeros(nv, bool)
    used[loops] = True
    new_index = np.cumsum(used) - 1
    vert_piece = np.repeat(np.arange(n_pieces), np.diff(p.vertex_start))
    vcount = np.bincount(vert_piece[used], minlength=n_pieces)
    return _Flat(p.vertices[used], np.concatenate([[0], np.cumsum(vcount)]), sizes,
                 np.concatenate([[0], np.cumsum(fcount)]), new_index[loops], group_cell_face[face_group],
                 p.cell, convex)


def _clip_cells(cells: RawCells, ids: np.ndarray, plane_tri: np.ndarray, pairs, solid: SolidMesh):
    """Cells ``ids`` whose candidate triangles (``pairs``: triangle, cell) all lie on one plane.

    Every other triangle is certainly outside such a cell, so the surface inside it lies on that
    plane, and either covers the cell's whole section by the plane (the cap) or none of it: a
    region of the plane ending inside the cap would need another face to carry on into the cell.
    The cap's centre decides. Covered cells are clipped by the plane (an exact convex clip, all
    cells at once; the cap is original surface); the others lie wholly inside the solid and are
    returned as ``whole`` cell ids.
    """
    if len(ids) == 0:
        z = np.zeros(1, np.int64)
        e = np.zeros(0, np.int64)
        return _Flat(np.zeros((0, 3)), z, e, z, e, e, e, np.zeros(0, bool)), e
    tp = solid.tri_points[plane_tri]
    n = _cross(tp[:, 1] - tp[:, 0], tp[:, 2] - tp[:, 0])
    n /= np.linalg.norm(n, axis=1)[:, None]
    d = np.einsum("ij,ij->i", n, tp[:, 0])
    tol = solid.tolerance
    nv_all = len(cells.vertices)
    nverts = np.diff(cells.vertex_start)[ids]
    nfaces = np.diff(cells.face_start)[ids]
    vsel = _expand(cells.vertex_start[ids], nverts)
    v_cell = np.repeat(np.arange(len(ids)), nverts)  # index into ids
    dist = np.full(nv_all, np.nan)
    dist[vsel] = np.einsum("ij,ij->i", cells.vertices[vsel], n[v_cell]) - d[v_cell]
    dist[np.abs(dist) <= tol] = 0.0  # on the plane: a corner of the cap
    fsel = _expand(cells.face_start[ids], nfaces)
    f_cell = np.repeat(np.arange(len(ids)), nfaces)
    sizes = cells.face_sizes[fsel]
    lsel = _expand(cells.loop_start[fsel], sizes)
    pos_in_face = np.arange(len(lsel)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    nxt = lsel + np.where(pos_in_face == np.repeat(sizes, sizes) - 1, 1 - np.repeat(sizes, sizes), 1)
    a, b = cells.loops[lsel], cells.loops[nxt]
    sa, sb = dist[a], dist[b]
    keep = sa <= 0
    cut = ((sa < 0) & (sb > 0)) | ((sa > 0) & (sb < 0))
    # One new corner per cut edge, shared by the two faces along it.
    lo_v, hi_v = np.minimum(a[cut], b[cut]), np.maximum(a[cut], b[cut])
    ukey, new_index = np.unique(lo_v * nv_all + hi_v, return_inverse=True)
    ua, ub = ukey // nv_all, ukey % nv_all
    t = dist[ua] / (dist[ua] - dist[ub])
    new_points = cells.vertices[ua] + t[:, None] * (cells.vertices[ub] - cells.vertices[ua])
    # Each loop position emits its corner (if kept) then the edge's new corner (if cut).
    emit = keep.astype(np.int64) + cut
    out = np.empty(int(emit.sum()), np.int64)
    start = np.cumsum(emit) - emit
    out[start[keep]] = a[keep]
    out[start[cut] + keep[cut]] = nv_all + new_index
    loop_face = np.repeat(np.arange(len(fsel)), sizes)
    new_sizes = np.bincount(loop_face, emit, len(fsel)).astype(np.int64)
    face_ok = new_sizes >= 3
    out = out[np.repeat(face_ok, new_sizes)]
    # The cap: the cell's corners on the plane and its new corners, in order around the plane.
    cap_pts = np.concatenate([np.nonzero(dist[vsel] == 0)[0], len(vsel) + np.arange(len(ukey))])
    cap_ids = np.concatenate([vsel, nv_all + np.arange(len(ukey))])[cap_pts]
    cap_cell = np.concatenate([v_cell, v_cell[np.searchsorted(vsel, ua)] if len(ua) else v_cell[:0]])[cap_pts]
    points = np.concatenate([cells.vertices, new_points])
    cap_count = np.bincount(cap_cell, minlength=len(ids))
    if (cap_count < 3).any():
        raise FractureError(f"mesh '{solid.name}': a plane-clipped cell has no cap")
    centre = np.stack([np.bincount(cap_cell, points[cap_ids][:, k], len(ids)) for k in range(3)], 1)
    centre /= cap_count[:, None]
    ref = np.where(np.abs(n[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    u = _cross(n, ref)
    u /= np.linalg.norm(u, axis=1)[:, None]
    w = _cross(n, u)
    rel = points[cap_ids] - centre[cap_cell]
    angle = np.arctan2(np.einsum("ij,ij->i", rel, w[cap_cell]), np.einsum("ij,ij->i", rel, u[cap_cell]))
    cap_order = np.lexsort((angle, cap_cell))  # counter-clockwise about +n: outward
    cap_loops = cap_ids[cap_order]
    # Assemble per cell: clipped faces then the cap; vertices are the corners the faces use.
    f_cell_ok = f_cell[face_ok]
    face_cell_all = np.concatenate([f_cell_ok, np.arange(len(ids))])
    face_sizes_all = np.concatenate([new_sizes[face_ok], cap_count])
    face_tag_all = np.concatenate([fsel[face_ok], np.full(len(ids), -1)])
    loops_all = np.concatenate([out, cap_loops])
    face_order = np.argsort(face_cell_all, kind="stable")
    loop_start = np.concatenate([[0], np.cumsum(face_sizes_all)[:-1]])
    loops_all = loops_all[_expand(loop_start[face_order], face_sizes_all[face_order])]
    face_sizes_all = face_sizes_all[face_order]
    face_tag_all = face_tag_all[face_order]
    face_cell_all = face_cell_all[face_order]
    loop_cell = np.repeat(face_cell_all, face_sizes_all)
    key = loop_cell * (len(points) + 1) + loops_all
    uvkey, local = np.unique(key, return_inverse=True)
    vert_ids = uvkey % (len(points) + 1)
    vert_cell = uvkey // (len(points) + 1)
    flat = _Flat(points[vert_ids], np.concatenate([[0], np.cumsum(np.bincount(vert_cell, minlength=len(ids)))]),
                 face_sizes_all, np.concatenate([[0], np.cumsum(np.bincount(face_cell_all, minlength=len(ids)))]),
                 local.astype(np.int64), face_tag_all, np.asarray(ids, np.int64), np.ones(len(ids), bool))
    # Is the cap's centre on one of the cell's triangles (edges included, within tol)?
    pair_t, pair_c = pairs
    slot = np.full(cells.count, -1, np.int64)
    slot[ids] = np.arange(len(ids))
    k = slot[pair_c]
    x = centre[k]
    tri = solid.tri_points[pair_t]
    tn = _cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    tn /= np.maximum(np.linalg.norm(tn, axis=1), 1e-300)[:, None]
    inside = np.ones(len(k), bool)
    for j in range(3):
        a, b = tri[:, j], tri[:, (j + 1) % 3]
        e = b - a
        inside &= (np.einsum("ij,ij->i", _cross(e, x - a), tn) / np.maximum(np.linalg.norm(e, axis=1), 1e-300)
                   >= -tol)
    covered = np.zeros(len(ids), bool)
    covered[k[inside]] = True
    return _take(flat, np.nonzero(covered)[0]), np.asarray(ids)[~covered]


def _assemble(cells: RawCells, crossing: np.ndarray, pieces: _Pieces, solid: SolidMesh,
              clipped: _Flat | None = None) -> ShardSet:
    raw = _Flat(cells.vertices, cells.vertex_start, cells.face_sizes, cells.face_start, cells.loops,
                np.arange(len(cells.face_sizes)), np.arange(cells.count), np.ones(cells.count, bool))
    whole = _take(raw, np.nonzero(~crossing)[0])
    flat = _concat(whole, _pieces_flat(pieces, solid))
    if clipped is not None:
        flat = _concat(flat, clipped)
    order = np.argsort(flat.shard_cell, kind="stable")  # shards in cell order, islands in order
    flat = _take(flat, order)
    return _shard_set(flat, cells, solid)


def _face_properties(vertices, loops, face_sizes):
    """Area vectors and area centroids of planar faces (any shape) from signed fan triangles."""
    tri_face, a, b, c = fan_triangles(vertices, loops, face_sizes)
    cr = _cross(b - a, c - a)
    nf = len(face_sizes)
    av = 0.5 * np.stack([np.bincount(tri_face, cr[:, k], nf) for k in range(3)], 1)
    area = np.linalg.norm(av, axis=1)
    unit = av / np.maximum(area, 1e-300)[:, None]
    w = 0.5 * np.einsum("ij,ij->i", cr, unit[tri_face])  # signed: non-convex faces stay exact
    g = (a + b + c) / 3
    cen = np.stack([np.bincount(tri_face, w * g[:, k], nf) for k in range(3)], 1)
    cen /= np.where(area > 0, area, 1.0)[:, None]
    return av, area, cen, (tri_face, a, b, c)


def _shard_set(flat: _Flat, cells: RawCells, solid: SolidMesh) -> ShardSet:
    n = len(flat.shard_cell)
    face_shard = np.repeat(np.arange(n), np.diff(flat.face_start))
    av, area, fcen, (tri_face, a, b, c) = _face_properties(flat.vertices, flat.loops, flat.face_sizes)
    tri_shard = face_shard[tri_face]
    ref = flat.vertices[flat.vertex_start[:-1]][tri_shard]
    a, b, c = a - ref, b - ref, c - ref
    tet = np.einsum("ij,ij->i", a, _cross(b, c)) / 6.0
    volume = np.bincount(tri_shard, tet, n)
    if (volume <= 0).any():
        bad = int(np.argmin(volume))
        raise FractureError(f"mesh '{solid.name}': shard {bad} has non-positive volume {volume[bad]:g}")
    tc = ref + (a + b + c) / 4.0
    centroid = np.stack([np.bincount(tri_shard, tet * tc[:, k], n) for k in range(3)], 1) / volume[:, None]
    surface = np.bincount(face_shard, area, n)
    neighbor = np.where(flat.face_cell_face >= 0, cells.face_neighbor[np.maximum(flat.face_cell_face, 0)], -1)
    interior = neighbor >= 0
    graph, lone_faces = _contacts(flat, cells, face_shard, interior, area, fcen, solid)
    interior[lone_faces] = False
    return ShardSet(vertices=flat.vertices, vertex_start=flat.vertex_start, face_sizes=flat.face_sizes,
                    face_start=flat.face_start, loops=flat.loops, face_interior=interior, volume=volume,
                    centroid=centroid, surface_area=surface, element=np.zeros(n, np.int64),
                    contacts=graph, convex=flat.convex.copy())


def _contacts(flat, cells, face_shard, interior, area, fcen, solid):
    """Shard pairs sharing a face across a Voronoi plane: area, centroid, normal first -> second.

    Returns the graph and the faces that turned out to have nothing across their plane (only when
    a Voronoi plane lies exactly on the mesh's surface: such a face is original surface).
    """
    faces = np.nonzero(interior)[0]
    empty = ContactGraph(np.zeros((0, 2), np.int64), np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)),
                         np.zeros(0, bool))
    if len(faces) == 0:
        return empty, faces
    # Groups: one per (shard, Voronoi face).
    rf = flat.face_cell_face[faces]
    gkey = face_shard[faces] * (len(cells.face_sizes) + 1) + rf
    ukey, ginv = np.unique(gkey, return_inverse=True)
    ng = len(ukey)
    g_area = np.bincount(ginv, area[faces], ng)
    g_cen = np.stack([np.bincount(ginv, area[faces] * fcen[faces, k], ng) for k in range(3)], 1)
    g_cen /= np.maximum(g_area, 1e-300)[:, None]
    g_shard = ukey // (len(cells.face_sizes) + 1)
    g_face = ukey % (len(cells.face_sizes) + 1)
    g_cell = flat.shard_cell[g_shard]
    g_other = cells.face_neighbor[g_face]
    lo_cell = np.minimum(g_cell, g_other)
    hi_cell = np.maximum(g_cell, g_other)
    on_lo = g_cell == lo_cell
    av = cells.area_vectors
    unit = av / np.maximum(np.linalg.norm(av, axis=1), 1e-300)[:, None]
    g_normal = np.where(on_lo[:, None], unit[g_face], -unit[g_face])  # from the lower cell to the higher
    ridge = lo_cell * (cells.count + 1) + hi_cell
    ur, rinv = np.unique(ridge, return_inverse=True)
    n_lo = np.bincount(rinv, on_lo, len(ur)).astype(np.int64)
    n_hi = np.bincount(rinv, ~on_lo, len(ur)).astype(np.int64)
    lone = (n_lo[rinv] == 0) | (n_hi[rinv] == 0)
    lone_faces = faces[lone[ginv]]
    # Both sides of a plane cover the same section of the solid, so their areas agree; they differ
    # only where the plane lies on the mesh's own surface, and then the overlap is computed.
    a_lo = np.bincount(rinv, g_area * on_lo, len(ur))
    a_hi = np.bincount(rinv, g_area * ~on_lo, len(ur))
    scale2 = float((solid.hi - solid.lo).max()) ** 2
    differ = np.abs(a_lo - a_hi) > 1e-8 * np.maximum(a_lo, a_hi) + 1e-12 * scale2
    general = (n_lo >= 1) & (n_hi >= 1) & (((n_lo >= 2) & (n_hi >= 2)) | differ)
    rows = []
    # One group on one side: each group of the other side is its contact, whole.
    single_lo = (n_lo[rinv] == 1) & (n_hi[rinv] >= 1) & ~general[rinv]
    single_hi = (n_hi[rinv] == 1) & (n_lo[rinv] >= 2) & ~general[rinv]
    lo_group = np.full(len(ur), -1, np.int64)
    lo_group[rinv[on_lo]] = np.nonzero(on_lo)[0]
    hi_group = np.full(len(ur), -1, np.int64)
    hi_group[rinv[~on_lo]] = np.nonzero(~on_lo)[0]
    m = single_lo & ~on_lo
    rows.append((g_shard[lo_group[rinv[m]]], g_shard[m], g_area[m], g_cen[m], g_normal[m]))
    m = single_hi & on_lo
    rows.append((g_shard[m], g_shard[hi_group[rinv[m]]], g_area[m], g_cen[m], g_normal[m]))
    # Several islands on both sides (or sides that differ): the 2D overlap of their faces.
    multi = np.nonzero(general)[0]
    if len(multi):
        rows.append(_overlap_contacts(flat, multi, rinv, on_lo, g_shard, g_normal, faces, ginv))
    sa = np.concatenate([r[0] for r in rows]).astype(np.int64)
    sb = np.concatenate([r[1] for r in rows]).astype(np.int64)
    ar = np.concatenate([r[2] for r in rows])
    ce = np.concatenate([r[3] for r in rows]).reshape(-1, 3)
    no = np.concatenate([r[4] for r in rows]).reshape(-1, 3)
    swap = sa > sb
    sa, sb = np.where(swap, sb, sa), np.where(swap, sa, sb)
    no = np.where(swap[:, None], -no, no)
    keep = ar > 1e-12 * max(1.0, scale2)
    sa, sb, ar, ce, no = sa[keep], sb[keep], ar[keep], ce[keep], no[keep]
    order = np.lexsort((sb, sa))
    return ContactGraph(np.stack([sa, sb], 1)[order], ar[order], ce[order], no[order],
                        np.zeros(len(order), bool)), lone_faces


def _overlap_contacts(flat, multi, rinv, on_lo, g_shard, g_normal, faces, ginv):
    """Contacts on planes split into islands on both sides, by 2D polygon overlap."""
    import manifold3d

    out_a, out_b, out_area, out_cen, out_n = [], [], [], [], []
    loop_start = flat.loop_start
    by_ridge = np.argsort(rinv, kind="stable")
    bounds = np.searchsorted(rinv[by_ridge], np.arange(rinv.max() + 2))
    by_group = np.argsort(ginv, kind="stable")
    group_bounds = np.searchsorted(ginv[by_group], np.arange(ginv.max() + 2))
    for r in multi:
        groups = by_ridge[bounds[r]:bounds[r + 1]]
        normal = g_normal[groups[0]]
        u = np.cross(normal, [1.0, 0, 0] if abs(normal[0]) < 0.9 else [0, 1.0, 0])
        u /= np.linalg.norm(u)
        v = np.cross(normal, u)
        origin = None
        sections = {}
        for gi in groups:
            fsel = faces[by_group[group_bounds[gi]:group_bounds[gi + 1]]]
            polys = []
            for f in fsel:
                p = flat.vertices[flat.loops[loop_start[f]:loop_start[f] + flat.face_sizes[f]]]
                origin = p[0] if origin is None else origin
                q = np.column_stack([(p - origin) @ u, (p - origin) @ v])
                polys.append(np.ascontiguousarray(q if on_lo[gi] else q[::-1]))
            sections[gi] = manifold3d.CrossSection(polys, manifold3d.FillRule.Positive)
        for ga in groups[on_lo[groups]]:
            for gb in groups[~on_lo[groups]]:
                inter = sections[ga] ^ sections[gb]
                a = inter.area()
                if a <= 0:
                    continue
                cx = cy = 0.0
                for poly in inter.to_polygons():
                    x, y = poly[:, 0], poly[:, 1]
                    xn, yn = np.roll(x, -1), np.roll(y, -1)
                    crs = x * yn - xn * y
                    cx += ((x + xn) * crs).sum() / 6
                    cy += ((y + yn) * crs).sum() / 6
                out_a.append(g_shard[ga])
                out_b.append(g_shard[gb])
                out_area.append(a)
                out_cen.append(origin + (cx / a) * u + (cy / a) * v)
                out_n.append(normal)
    return (np.array(out_a, np.int64), np.array(out_b, np.int64), np.array(out_area),
            np.array(out_cen).reshape(-1, 3), np.array(out_n).reshape(-1, 3))
