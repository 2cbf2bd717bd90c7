"""Cutting crossing Voronoi cells with the solid (manifold3d booleans) and merging the cut
triangles back into polygons. Part of the mesh fracture (see ``mesh_fracture``).

Pure numpy plus manifold3d; never imports bpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import FractureError
from .mesh_geometry import _expand
from .mesh_solid import SolidMesh
from .voronoi import RawCells, _cross


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
            if part.volume() <= 1e-12 * solid.volume:
                continue  # dust of a boolean between nearly parallel faces: no shard
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
        # Slivers left by booleans (a solid cut from overlapping IFC elements) have planes known
        # only to about 1e-5 of the size: match those more loosely before giving up.
        loose = (n[rest] @ tn.T > 1 - 1e-5) & (np.abs(d[rest, None] - td[None]) <= 1e4 * tol)
        match = np.where(match.any(1)[:, None], match, loose)
    found = match.any(1)
    out[rest[found]] = solid.tri_face[match[found].argmax(1)]
    lost = rest[~found]
    if len(lost):
        # What is left are slivers (area ~1e-10) whose normals mean nothing: each takes the
        # surface plane nearest to it; a real face that matches nothing is still an error.
        p_lost = p[lost]
        area = 0.5 * np.linalg.norm(cr[lost], axis=1)
        if (area > (1e-4 * np.linalg.norm(solid.hi - solid.lo)) ** 2).any():
            raise FractureError(f"mesh '{solid.name}': a cleaned piece of cell {c} has a face on no known plane")
        gap = np.abs(np.einsum("kij,tj->kti", p_lost, tn) - td[None, :, None]).max(2)
        out[lost] = solid.tri_face[gap.argmin(1)]
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


def _whole_pieces(solid: SolidMesh) -> _Pieces:
    """The solid itself as the pieces of one cell (cell 0), one piece per island: a single seed
    needs no boolean (and none of the cleaning a cell face lying on the surface would need)."""
    found = []
    for part in solid.manifold.decompose():
        if part.volume() <= 1e-12 * solid.volume:
            continue
        m = part.to_mesh64()
        pv = np.asarray(m.vert_properties)[:, :3]
        found.append((tuple(pv.mean(0)), pv, np.asarray(m.tri_verts, np.int64),
                      np.asarray(m.face_id, np.int64)))
    found.sort(key=lambda item: item[0])
    vertex_start = np.concatenate([[0], np.cumsum([len(f[1]) for f in found])])
    tri_start = np.concatenate([[0], np.cumsum([len(f[2]) for f in found])])
    offset = np.repeat(vertex_start[:-1], np.diff(tri_start))
    return _Pieces(np.concatenate([f[1] for f in found]), vertex_start,
                   np.concatenate([f[2] for f in found]) + offset[:, None], tri_start,
                   np.concatenate([f[3] for f in found]), np.zeros(len(found), np.int64))
