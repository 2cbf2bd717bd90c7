"""Repairs an add-on can offer for a mesh that is not quite a solid: merge by distance, drop
degenerate and doubled faces, close T-junctions, make the winding consistent and outward.

Pure numpy/scipy; never imports bpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import MeshError
from .mesh_geometry import _aabb_pairs, _face_loops, _newell, winding_numbers


@dataclass(frozen=True)
class MeshDefects:
    """Counts of what keeps a mesh from being a solid (``repair_mesh`` never makes them worse)."""

    open_edges: int  # edges of one face (holes)
    nonmanifold_edges: int  # edges of three or more faces
    disagreeing_edges: int  # edges whose two faces run them the same way (inconsistent winding)
    degenerate_faces: int  # faces with fewer than 3 distinct corners or no area

    @property
    def bad_edges(self) -> int:
        return self.open_edges + self.nonmanifold_edges + self.disagreeing_edges

    def worse_than(self, other: MeshDefects) -> bool:
        """More bad edges in all, as many but more of them open (a hole is the worst defect), or
        more degenerate faces. Welding may trade open edges for a few doubled ones that a later
        step removes, so the kinds are not compared one by one."""
        return (self.bad_edges > other.bad_edges or self.degenerate_faces > other.degenerate_faces
                or (self.bad_edges == other.bad_edges and self.open_edges > other.open_edges))

    @property
    def clean(self) -> bool:
        return not any(getattr(self, k) for k in self.__dataclass_fields__)

    def describe(self) -> str:
        parts = [f"{n} {label}" for n, label in ((self.open_edges, "open edges"),
                                                 (self.nonmanifold_edges, "non-manifold edges"),
                                                 (self.disagreeing_edges, "edges wound inconsistently"),
                                                 (self.degenerate_faces, "degenerate faces")) if n]
        return ", ".join(parts) or "no open, non-manifold or inconsistently wound edges"


def mesh_defects(vertices, faces, diag: float | None = None) -> MeshDefects:
    """Count the mesh's open, non-manifold and inconsistently wound edges and degenerate faces."""
    v = np.asarray(vertices, float)
    loops_all = [_face_loops(f) for f in faces]
    return _defects(v, loops_all, _diag(v) if diag is None else diag)


def _diag(v: np.ndarray) -> float:
    return float(np.linalg.norm(v.max(0) - v.min(0))) if len(v) else 0.0


def _directed_edges(loops_all):
    loops = [lp for face in loops_all for lp in face]
    if not loops:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    src = np.concatenate(loops).astype(np.int64)
    sizes = np.array([len(lp) for lp in loops])
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    following = np.arange(len(src)) + 1
    following[start + sizes - 1] = start
    return src, src[following]


def _defects(v, loops_all, diag) -> MeshDefects:
    outer = [loops[0] for loops in loops_all]
    degenerate = 0
    if outer:
        sizes = np.array([len(lp) for lp in outer])
        corner = np.concatenate(outer)
        start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        following = np.arange(len(corner)) + 1
        following[start + sizes - 1] = start
        area = np.add.reduceat(np.cross(v[corner], v[corner[following]]), start, axis=0)
        degenerate = int((0.5 * np.linalg.norm(area, axis=1) <= (1e-7 * diag) ** 2).sum())
    src, dst = _directed_edges(loops_all)
    if len(src) == 0:
        return MeshDefects(0, 0, 0, degenerate)
    nv = len(v)
    key = np.minimum(src, dst) * nv + np.maximum(src, dst)
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    forward = np.bincount(inverse, (src < dst).astype(float), len(counts))
    return MeshDefects(int((counts == 1).sum()), int((counts > 2).sum()),
                       int(((counts == 2) & (forward != 1)).sum()), degenerate)


def _signed_volume(v, loops_all) -> float:
    tris = [np.stack([np.repeat(lp[0], len(lp) - 2), lp[1:-1], lp[2:]], 1) for loops in loops_all
            for lp in loops[:1] if len(lp) >= 3]
    if not tris:
        return 0.0
    p = v[np.concatenate(tris)]
    p = p - p.reshape(-1, 3).mean(0)
    return float(np.einsum("ij,ij->i", p[:, 0], np.cross(p[:, 1], p[:, 2])).sum() / 6.0)


@dataclass
class MeshRepair:
    """What ``repair_mesh`` did; ``vertices``/``faces`` are the repaired mesh.

    ``before``/``after`` count the defects; ``reverted`` names the steps that were undone because
    they made the mesh worse (see ``repair_mesh``).
    """

    vertices: np.ndarray
    faces: list
    merged_vertices: int = 0
    split_t_junctions: int = 0
    dropped_degenerate: int = 0
    dropped_duplicates: int = 0
    filled_holes: int = 0
    flipped_faces: int = 0
    notes: list = field(default_factory=list)
    reverted: list = field(default_factory=list)
    before: MeshDefects | None = None
    after: MeshDefects | None = None

    @property
    def changed(self) -> bool:
        return bool(self.merged_vertices or self.split_t_junctions or self.dropped_degenerate
                    or self.dropped_duplicates or self.filled_holes or self.flipped_faces)

    def summary(self) -> str:
        """One line for a report: what was done and what is left."""
        done = "; ".join(self.notes) if self.notes else "nothing to repair"
        left = self.after.describe() if self.after is not None else ""
        return f"{done} (now: {left})" if left else done


def repair_mesh(vertices, faces, *, merge_distance: float | None = None,
                fill_holes: bool = True) -> MeshRepair:
    """Repairs an add-on can offer as a fix, each checked: a step that leaves more bad edges (open,
    non-manifold and inconsistently wound, together) or more degenerate faces than before, or
    changes the volume of a mesh that was closed, is undone and named in ``reverted``.

    1. Merge vertices closer than ``merge_distance`` (default 1e-6 of the bounding-box diagonal)
       onto the lowest-numbered one (Blender's Merge by Distance).
    2. Drop repeated corners, faces left with < 3 corners and zero-area faces (they hold no volume).
    3. Drop doubled faces: two faces on the same corners wound oppositely (an internal double wall)
       both go; wound alike, one goes.
    4. Close T-junctions: where an open edge passes within ``merge_distance`` of another open
       edge's vertex (common in CityJSON, where a wall meets two neighbours), insert that vertex
       into the face. For CityJSON give ``merge_distance`` about the file's ``transform.scale``.
    5. ``fill_holes``: close each hole whose boundary is one simple loop lying in a plane (within
       1e-3 of the bounding-box diagonal) with one polygon: the missing floor of a CityJSON
       building, a wall left out where two buildings touch.
    6. Make the winding consistent across each shell (breadth-first over shared edges), then wind
       each shell outwards, or inwards when it is a cavity nested in an odd number of other shells.

    Self-intersections and non-planar holes are not resolved: ``solidify_mesh`` handles those.
    NaN coordinates raise MeshError.
    """
    v = np.asarray(vertices, float)
    if v.ndim != 2 or v.shape[1] != 3 or not np.isfinite(v).all():
        raise MeshError("mesh", "cannot repair vertices that are not finite (x, y, z) rows",
                        "delete the NaN vertices first")
    diag = _diag(v)
    dist = 1e-6 * diag if merge_distance is None else float(merge_distance)
    result = MeshRepair(v, [])
    loops_all = [_face_loops(f) for f in faces]
    state = _Checked(v, loops_all, diag, result)
    result.before = state.defects
    merged = _merge_vertices(v, loops_all, dist)
    if merged is not None:
        # Welding can collapse slivers: drop them in the same step.
        kept, dropped = _drop_degenerate(merged[0], merged[1], diag)
        if state.try_step("merge by distance", merged[0], kept):
            result.merged_vertices = merged[2]
            result.notes.append(f"merged {merged[2]} vertices closer than {dist:.3g} m")
            if dropped:
                result.dropped_degenerate = dropped
                result.notes.append(f"dropped {dropped} degenerate faces")
    kept, dropped = _drop_degenerate(state.v, state.loops, diag)
    if dropped and state.try_step("drop degenerate faces", state.v, kept):
        result.dropped_degenerate += dropped
        result.notes.append(f"dropped {dropped} degenerate faces")
    for keep_one in (False, True):
        # Oppositely wound pairs go together (an internal double wall); if that opens the mesh,
        # one face of each pair goes (a face pasted twice, once the wrong way round).
        kept, dropped = _drop_doubled(state.loops, keep_one=keep_one)
        name = "drop doubled faces" + (", one of each pair" if keep_one else "")
        if dropped and state.try_step(name, state.v, kept):
            result.dropped_duplicates = dropped
            result.notes.append(f"dropped {dropped} doubled faces")
            break
    split, inserted = _split_t_junctions(state.v, [list(lp) for lp in state.loops], max(dist, 1e-12 * diag))
    if inserted and state.try_step("close T-junctions", state.v, split):
        result.split_t_junctions = inserted
        result.notes.append(f"inserted {inserted} corners where a vertex lay on a neighbouring "
                            "face's edge (T-junctions)")
    if fill_holes:
        filled, count = _fill_planar_holes(state.v, state.loops, 1e-3 * diag)
        if count and state.try_step("fill planar holes", state.v, filled):
            result.filled_holes = count
            result.notes.append(f"filled {count} planar holes with one face each")
    flips = _consistent_winding(state.v, state.loops, result.notes)
    if flips.any():
        flipped = [[lp[::-1].copy() for lp in loops] if f else loops
                   for loops, f in zip(state.loops, flips, strict=True)]
        if state.try_step("make the winding consistent and outward", state.v, flipped,
                          keeps_volume=False):
            result.flipped_faces = int(np.sum(flips))
            result.notes.append(f"flipped {result.flipped_faces} faces to wind outwards")
    result.vertices = state.v
    result.faces = [loops[0] if len(loops) == 1 else loops for loops in state.loops]
    result.after = state.defects
    for step in result.reverted:
        result.notes.append(f"undid '{step}': it made the mesh worse")
    return result


class _Checked:
    """The mesh being repaired, and its defect counts: a step is kept only if none grows."""

    def __init__(self, v, loops, diag, result: MeshRepair):
        self.v, self.loops, self.diag, self.result = v, loops, diag, result
        self.defects = _defects(v, loops, diag)
        self.volume = _signed_volume(v, loops)

    def try_step(self, name: str, v, loops, *, keeps_volume: bool = True) -> bool:
        defects = _defects(v, loops, self.diag)
        volume = _signed_volume(v, loops)
        closed = self.defects.bad_edges == 0 and defects.bad_edges == 0  # volume means something
        moved = (keeps_volume and closed
                 and abs(volume - self.volume) > 1e-6 * max(abs(self.volume), self.diag ** 3 * 1e-9))
        if defects.worse_than(self.defects) or moved:
            self.result.reverted.append(name)
            return False
        self.v, self.loops, self.defects, self.volume = v, loops, defects, volume
        return True


def _merge_vertices(v, loops_all, dist):
    """Loops with vertices closer than ``dist`` welded: (vertices, loops, merged count) or None."""
    if dist <= 0 or len(v) < 2:
        return None
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    pairs = cKDTree(v).query_pairs(dist, output_type="ndarray")
    if not len(pairs):
        return None
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(v), len(v)))
    _, label = connected_components(g, directed=False)
    rep = np.full(label.max() + 1, len(v))
    np.minimum.at(rep, label, np.arange(len(v)))
    remap = rep[label]
    merged = int((remap != np.arange(len(v))).sum())
    keep_v = np.unique(remap)
    compact = np.full(len(v), -1, np.int64)
    compact[keep_v] = np.arange(len(keep_v))
    remap = compact[remap]
    return v[keep_v], [[remap[lp] for lp in loops] for loops in loops_all], merged


def _drop_degenerate(v, loops_all, diag):
    src, dst = _directed_edges(loops_all)
    if (all(len(face) == 1 for face in loops_all) and not (src == dst).any()
            and _defects(v, loops_all, diag).degenerate_faces == 0):
        return loops_all, 0  # the common case (no hole loops), checked in bulk
    kept, dropped = [], 0
    for face in loops_all:
        loops = []
        for k, loop in enumerate(face):
            loop = loop[loop != np.roll(loop, -1)]  # repeated corners
            if len(np.unique(loop)) < 3 or np.linalg.norm(_newell(v[loop])) <= (1e-7 * diag) ** 2:
                if k == 0:
                    loops = []
                    break
                continue
            loops.append(loop)
        if loops:
            kept.append(loops)
        else:
            dropped += 1
    return kept, dropped


def _drop_doubled(loops_all, keep_one: bool = False):
    seen: dict[tuple, list[int]] = {}
    for i, loops in enumerate(loops_all):
        seen.setdefault(tuple(sorted(loops[0].tolist())), []).append(i)
    drop = set()
    for ids in seen.values():
        remaining = list(ids)
        while len(remaining) >= 2:
            a = remaining.pop(0)
            partner = next((b for b in remaining if not _same_cycle(loops_all[a][0], loops_all[b][0])), None)
            if partner is not None:
                drop.update((partner,) if keep_one else (a, partner))
                remaining.remove(partner)
            else:
                drop.add(remaining.pop(0))
    return [lp for i, lp in enumerate(loops_all) if i not in drop], len(drop)


def _fill_planar_holes(v, loops_all, tol):
    """Add one face per hole whose boundary is a simple loop within ``tol`` of a plane."""
    src, dst = _directed_edges(loops_all)
    if len(src) == 0:
        return loops_all, 0
    nv = len(v)
    key = np.minimum(src, dst) * nv + np.maximum(src, dst)
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    open_edge = counts[inverse] == 1
    # The filling face runs each open edge backwards.
    a, b = dst[open_edge], src[open_edge]
    out_degree = np.bincount(a, minlength=nv)
    in_degree = np.bincount(b, minlength=nv)
    simple = (out_degree[a] == 1) & (in_degree[b] == 1) & (out_degree[b] == 1)
    nxt = dict(zip(a[simple].tolist(), b[simple].tolist(), strict=True))
    added, done = [], set()
    for start in list(nxt):
        if start in done:
            continue
        cycle, x = [start], nxt[start]
        while x != start and x in nxt and x not in done and len(cycle) <= len(nxt):
            cycle.append(x)
            x = nxt[x]
        done.update(cycle)
        if x != start or len(cycle) < 3:
            continue
        loop = np.array(cycle, np.int64)
        p = v[loop]
        n = _newell(p)
        norm = np.linalg.norm(n)
        if norm <= 0:
            continue
        off = (p - p.mean(0)) @ (n / norm)
        if np.abs(off).max() <= tol:
            added.append([loop])
    return loops_all + added, len(added)


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
    src, dst = _directed_edges(loops_all)
    owner = np.repeat(np.arange(nf), [sum(len(lp) for lp in loops) for loops in loops_all])
    key = np.minimum(src, dst) * nv + np.maximum(src, dst)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    pair = np.nonzero((ks[1:] == ks[:-1]) & ((np.r_[ks[2:], -1] != ks[1:]) & (np.r_[-2, ks[:-2]] != ks[:-1])))[0]
    e1, e2 = order[pair], order[pair + 1]
    f1, f2 = owner[e1], owner[e2]
    same_dir = (src[e1] == src[e2])  # both faces run the edge the same way: one must flip
    ok = f1 != f2
    f1, f2, same_dir = f1[ok], f2[ok], same_dir[ok]
    # One value per face pair: faces sharing two or more edges would otherwise be summed by
    # ``tocsr`` (two agreeing edges, 1 + 1, read as one disagreeing edge, 2).
    _, first = np.unique(np.minimum(f1, f2) * nf + np.maximum(f1, f2), return_index=True)
    g = coo_matrix((same_dir[first] + 1.0, (f1[first], f2[first])), shape=(nf, nf)).tocsr()
    g = g.maximum(g.T).tocsr()
    n_comp, comp = connected_components(g, directed=False)
    pair_key = np.minimum(f1[first], f2[first]) * nf + np.maximum(f1[first], f2[first])
    pair_flip = same_dir[first]
    key_order = np.argsort(pair_key)
    pair_key, pair_flip = pair_key[key_order], pair_flip[key_order]
    roots = np.unique(comp, return_index=True)[1]
    for root in roots.tolist():
        order_c, pred = breadth_first_order(g, root, directed=False, return_predecessors=True)
        child = order_c[1:]
        parent = pred[child]
        # Whether each face flips relative to its parent, then down the tree in BFS order.
        rel = pair_flip[np.searchsorted(pair_key, np.minimum(child, parent) * nf + np.maximum(child, parent))]
        flip_list = flips.tolist()
        for f, p, r in zip(child.tolist(), parent.tolist(), rel.tolist(), strict=True):
            flip_list[f] = flip_list[p] ^ r
        flips = np.array(flip_list, bool)
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
            # Nested only if wholly inside: every corner (up to 64) inside the other shell; two
            # shells that cross each other (self-intersection) are both wound outwards.
            corners = np.unique(shell_tris[c].reshape(-1, 3), axis=0)
            probe = corners[:: max(1, len(corners) // 64)]
            for d in range(n_comp):
                if d != c and (np.abs(winding_numbers(probe, shell_tris[d])) > 0.5).all():
                    depth[c] += 1
    elif n_comp > 200:
        notes.append("more than 200 shells: nesting not checked, every shell wound outwards")
    want_positive = depth % 2 == 0
    flip_shell = (shell_vol >= 0) != want_positive
    flips ^= flip_shell[comp]
    return flips
