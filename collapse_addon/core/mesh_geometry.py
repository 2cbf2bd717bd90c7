"""Polygon and triangle maths of the mesh path: triangulating faces (with holes), generalised
winding numbers, bounding-box pair search and self-intersection tests.

Pure numpy (plus manifold3d's ear clipper); never imports bpy.
"""

from __future__ import annotations

import numpy as np

from .errors import MeshError
from .voronoi import _cross

_PAIR_CHUNK = 400_000  # rows per vectorised block, to bound memory


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


def aabb_pairs(lo_a, hi_a, lo_b, hi_b, *, same: bool = False):
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


_aabb_pairs = aabb_pairs  # the name the mesh path has always used


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
