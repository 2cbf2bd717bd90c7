"""Repairs an add-on can offer for a mesh that is not quite a solid: merge by distance, drop
degenerate and doubled faces, close T-junctions, make the winding consistent and outward.

Pure numpy/scipy; never imports bpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import MeshError
from .mesh_geometry import _aabb_pairs, _face_loops, _newell, winding_numbers


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
