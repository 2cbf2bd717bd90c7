"""Contacts between the shards of different mesh elements: where a wall stands on a slab, a beam
rests on a column, a window sits in its wall. The mesh fracture finds the shared faces inside
each element only (``mesh_parts.fracture_parts``); an IFC building needs the joints between its elements too,
or every element is a loose body and the building cannot stand.

Two original-surface faces of shards of different elements touch when they lie on one plane
(within ``tol``) facing each other; the contact is the overlap of the two polygons (manifold3d's
``CrossSection``, exact for non-convex faces), merged per shard pair (area-weighted centroid and
normal). Pure numpy/scipy plus manifold3d; never imports bpy.
"""

from __future__ import annotations

import numpy as np

from .shards import ContactGraph, ShardSet
from .voronoi import face_area_vectors

_NORMAL_TOL = 1e-3  # faces whose unit normals differ by less than this are parallel


def cross_element_contacts(shards: ShardSet, tol: float | None = None) -> ContactGraph:
    """Contacts between shards of different elements (``cross_element`` True), one row per pair.

    ``tol``: plane distance (m) within which two facing faces touch (default 1e-5 of the shard
    set's bounding-box diagonal, at least 1e-6 m: booleans between IFC elements know their
    planes to about that). Pairs touching over less than (1e-3 of the diagonal)^2 are left out.
    """
    from scipy.spatial import cKDTree

    empty = ContactGraph(np.zeros((0, 2), np.int64), np.zeros(0), np.zeros((0, 3)),
                         np.zeros((0, 3)), np.zeros(0, bool))
    v = shards.vertices
    if shards.count < 2 or len(np.unique(shards.element)) < 2:
        return empty
    diag = float(np.linalg.norm(v.max(0) - v.min(0)))
    if tol is None:
        tol = max(1e-5 * diag, 1e-6)
    min_area = (1e-3 * diag) ** 2  # 2 x 2 cm for a 20 m building: a touch, not a joint
    sizes = shards.face_sizes
    starts = shards.loop_start
    shard_of = np.repeat(np.arange(shards.count), np.diff(shards.face_start))
    area_vec = face_area_vectors(v, shards.loops, sizes)[0]
    area = np.linalg.norm(area_vec, axis=1)
    faces = np.nonzero(~shards.face_interior & (area > tol * tol))[0]
    if len(faces) < 2:
        return empty
    normal = area_vec[faces] / area[faces, None]
    corner = v[shards.loops[starts[faces]]]
    offset = np.einsum("ij,ij->i", normal, corner)
    # One orientation per plane: the largest component positive; ``side`` remembers the facing.
    big = np.abs(normal).argmax(1)
    side = np.sign(normal[np.arange(len(faces)), big])
    key = np.column_stack([normal * side[:, None] / _NORMAL_TOL, offset * side / tol])
    pairs = cKDTree(key).query_pairs(1.0, output_type="ndarray")
    if len(pairs) == 0:
        return empty
    i, j = pairs.T
    element = shards.element[shard_of[faces]]
    keep = (side[i] != side[j]) & (element[i] != element[j])
    i, j = i[keep], j[keep]
    lo, hi = _face_boxes(v, shards.loops, starts[faces], sizes[faces])
    keep = np.all((lo[i] <= hi[j] + tol) & (lo[j] <= hi[i] + tol), axis=1)
    i, j = i[keep], j[keep]
    rows: dict[tuple[int, int], list] = {}
    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        overlap = _overlap(v, shards.loops, starts, sizes, faces[a], faces[b], normal[a] * side[a])
        if overlap is None:
            continue
        size, centre = overlap
        sa, sb = int(shard_of[faces[a]]), int(shard_of[faces[b]])
        n = normal[a] if sa < sb else normal[b]  # outward from the first shard of the pair
        row = rows.setdefault((min(sa, sb), max(sa, sb)), [0.0, np.zeros(3), np.zeros(3), 0.0, n])
        row[0] += size
        row[1] += size * centre
        row[2] += size * n
        if size > row[3]:
            row[3], row[4] = size, n
    return _contact_rows(rows, min_area)


def _contact_rows(rows: dict, min_area: float) -> ContactGraph:
    """One contact per shard pair from its summed pieces; a pair touching on opposite sides
    (a pane between two sashes) takes its largest piece's normal; below ``min_area`` m^2 left out."""
    rows = {k: r for k, r in rows.items() if r[0] >= min_area}
    if not rows:
        return ContactGraph(np.zeros((0, 2), np.int64), np.zeros(0), np.zeros((0, 3)),
                            np.zeros((0, 3)), np.zeros(0, bool))
    keys = np.array(list(rows), np.int64)
    total = np.array([r[0] for r in rows.values()])
    centroid = np.array([r[1] for r in rows.values()]) / total[:, None]
    direction = np.array([r[2] for r in rows.values()])
    length = np.linalg.norm(direction, axis=1)
    largest = np.array([r[4] for r in rows.values()])
    direction = np.where((length >= 0.5 * total)[:, None], direction / np.maximum(length, 1e-300)[:, None],
                         largest)
    return ContactGraph(keys, total, centroid, direction, np.ones(len(keys), bool))


def seated_contacts(shards: ShardSet, loose, gap: float, min_area: float = 0.0) -> ContactGraph:
    """Contacts for the ``loose`` shards (indices: those of an element that touches no other
    element face to face, or a shard touching nothing): an element seated in a curved hole (a
    round window in its wall) whose facets were tessellated apart from the hole's, a step of a
    stair standing clear of the next. A surface face of such a shard whose corners all lie within
    ``gap`` of other elements' shards bonds with its area to the one nearest its centre (a seat,
    not an exact overlap)."""
    from .solidify import unsigned_distance

    v, sizes, starts = shards.vertices, shards.face_sizes, shards.loop_start
    shard_lo = np.minimum.reduceat(v, shards.vertex_start[:-1])
    shard_hi = np.maximum.reduceat(v, shards.vertex_start[:-1])
    area_vec = face_area_vectors(v, shards.loops, sizes)[0]
    rows: dict[tuple[int, int], list] = {}
    is_loose = np.zeros(shards.count, bool)
    is_loose[np.asarray(loose, np.int64)] = True
    for sa in np.asarray(loose, np.int64).tolist():
        near = np.nonzero((shards.element != shards.element[sa])
                          & np.all((shard_lo <= shard_hi[sa] + gap) & (shard_lo[sa] <= shard_hi + gap), 1))[0]
        f0, f1 = shards.face_start[sa], shards.face_start[sa + 1]
        own = np.arange(f0, f1)[~shards.face_interior[f0:f1]]
        if len(own) == 0:
            continue
        idx = np.concatenate([shards.loops[starts[f]:starts[f] + sizes[f]] for f in own.tolist()])
        first = np.concatenate([[0], np.cumsum(sizes[own])[:-1]])
        corners = v[idx]
        if len(near) == 0:
            continue
        # A face is seated when each of its corners lies within ``gap`` of some other element's
        # shard; it bonds to the shard nearest its centre.
        fans = [_fan(v, shards.loops, starts[shards.face_start[sb]:shards.face_start[sb + 1]],
                     sizes[shards.face_start[sb]:shards.face_start[sb + 1]]) for sb in near.tolist()]
        close = np.maximum.reduceat(unsigned_distance(corners, np.concatenate(fans), 2 * gap), first) <= gap
        if not close.any():
            continue
        f = own[close]
        centre = np.add.reduceat(corners, first)[close] / sizes[f][:, None]
        nearest = np.argmin([unsigned_distance(centre, t, np.inf) for t in fans], axis=0)
        a = np.linalg.norm(area_vec[f], axis=1)
        for k in np.unique(nearest).tolist():
            sb, pick = int(near[k]), nearest == k
            key = (min(sa, sb), max(sa, sb))
            if key in rows or (is_loose[sb] and shards.element[sb] < shards.element[sa]):
                continue  # between two loose elements, the seat is counted from the lower one
            sign = 1.0 if sa < sb else -1.0  # outward from the first shard of the pair
            ak, fk = a[pick], f[pick]
            rows[key] = [float(ak.sum()), (ak[:, None] * centre[pick]).sum(0), sign * area_vec[fk].sum(0),
                         float(ak.max()), sign * area_vec[fk[ak.argmax()]] / ak.max()]
    return _contact_rows(rows, min_area)


def _fan(v, loops, starts, sizes) -> np.ndarray:
    """Fan triangles (T, 3, 3) of the faces given by their loop starts and sizes."""
    out = [v[loops[[s, s + k, s + k + 1]]] for s, n in zip(starts.tolist(), sizes.tolist(), strict=True)
           for k in range(1, n - 1)]
    return np.array(out).reshape(-1, 3, 3)


def with_cross_element_contacts(shards: ShardSet, tol: float | None = None, *,
                                gap: float = 0.01, log=None) -> ShardSet:
    """``shards`` with the contacts between its elements added to its contact graph: facing
    coplanar faces (``cross_element_contacts``), then, for an element left with none, faces
    within ``gap`` metres of another element (``seated_contacts``)."""
    from dataclasses import replace

    extra = cross_element_contacts(shards, tol)
    joined = np.zeros(int(shards.element.max()) + 1, bool)
    joined[shards.element[extra.pairs].ravel()] = True
    touching = np.zeros(shards.count, bool)
    touching[np.concatenate([shards.contacts.pairs.ravel(), extra.pairs.ravel()])] = True
    lone = np.nonzero(~joined[shards.element] | ~touching)[0]
    if len(lone) and gap > 0:
        diag = float(np.linalg.norm(shards.vertices.max(0) - shards.vertices.min(0)))
        seated = seated_contacts(shards, lone, gap, (1e-3 * diag) ** 2)
        if log is not None:
            found = len(set(seated.pairs.ravel().tolist()) & set(lone.tolist()))
            log(f"{len(lone)} shards touch no other element face to face; {found} of them seated "
                f"within {gap:g} m of another element")
        extra = ContactGraph(*(np.concatenate([getattr(extra, k), getattr(seated, k)])
                               for k in ("pairs", "area", "centroid", "normal", "cross_element")))
    if extra.count == 0:
        return shards
    c = shards.contacts
    graph = ContactGraph(np.concatenate([c.pairs.reshape(-1, 2), extra.pairs]),
                         np.concatenate([c.area, extra.area]),
                         np.concatenate([c.centroid.reshape(-1, 3), extra.centroid]),
                         np.concatenate([c.normal.reshape(-1, 3), extra.normal]),
                         np.concatenate([c.cross_element.astype(bool), extra.cross_element]))
    return replace(shards, contacts=graph)


def _face_boxes(v, loops, starts, sizes):
    width = int(sizes.max())
    slots = np.arange(width)[None, :]
    valid = slots < sizes[:, None]
    idx = loops[starts[:, None] + np.minimum(slots, sizes[:, None] - 1)]
    corners = v[idx]
    return (np.where(valid[..., None], corners, np.inf).min(1),
            np.where(valid[..., None], corners, -np.inf).max(1))


def _overlap(v, loops, starts, sizes, fa: int, fb: int, n: np.ndarray):
    """Area and centroid of the overlap of two facing coplanar faces, or None."""
    import manifold3d

    u = np.cross(n, [1.0, 0.0, 0.0] if abs(n[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    w = np.cross(n, u)
    pa = v[loops[starts[fa]:starts[fa] + sizes[fa]]]
    pb = v[loops[starts[fb]:starts[fb] + sizes[fb]]]
    origin = pa[0]
    polys = []
    for p in (pa, pb):
        q = np.column_stack([(p - origin) @ u, (p - origin) @ w])
        signed = 0.5 * np.sum(q[:, 0] * np.roll(q[:, 1], -1) - np.roll(q[:, 0], -1) * q[:, 1])
        polys.append(manifold3d.CrossSection([q if signed > 0 else q[::-1]]))
    common = polys[0] ^ polys[1]
    size = float(common.area())
    if not size > 0:
        return None
    moment, total = np.zeros(2), 0.0
    for ring in common.to_polygons():
        x, y = ring[:, 0], ring[:, 1]
        x1, y1 = np.roll(x, -1), np.roll(y, -1)
        cr = x * y1 - x1 * y
        total += cr.sum() / 2
        moment += [((x + x1) * cr).sum() / 6, ((y + y1) * cr).sum() / 6]
    c2 = moment / total if abs(total) > 0 else np.zeros(2)
    plane = np.dot(n, origin)
    centre = origin + c2[0] * u + c2[1] * w
    return size, centre + (plane - np.dot(n, centre)) * n
