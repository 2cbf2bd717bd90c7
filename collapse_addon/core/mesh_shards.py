"""Shards of the mesh fracture as flat arrays: exact plane clipping of single-plane cells, the
assembly into a ``ShardSet`` and the contact graph between shards. Part of ``mesh_fracture``.

Pure numpy/scipy plus manifold3d; never imports bpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FractureError
from .mesh_cut import _merge_faces, _Pieces
from .mesh_geometry import _expand
from .mesh_solid import SolidMesh
from .shards import ContactGraph, ShardSet
from .voronoi import RawCells, _cross, fan_triangles


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
