"""Rough breaks: cut faces made non-planar by one world-space noise field (pure numpy, never bpy).

Every cut face (``face_interior``) is replaced by ``rings`` concentric rings of triangles around
its centroid; its corners and edges stay where they are (no T-junctions with the faces around it).
Each new inner point gets an offset along the face's plane normal: a world-space noise field at
that point, tapered to zero at the face's edges. The two sides of a cut are the same polygon, so
they get the same points, the same (canonically signed) normal and the same offsets: neighbours
still meet with no gap or overlap, and the shard volumes still add up to the building's.

The offsets are returned beside the undisplaced mesh: the bpy side (``blender/rough.py``) builds
render twins of the shards from them after the bake, so physics only ever sees the exact cells.
``rms`` sets the root mean square of offset / material factor over the cut faces' inner points.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .shards import ShardSet

#: How rough each material breaks, relative to ``rms`` (steel and glass break clean).
ROUGHNESS = {"reinforced_concrete": 1.0, "concrete": 1.0, "masonry": 0.8, "timber": 0.5,
             "steel": 0.0, "glass": 0.0}


def noise_field(points: np.ndarray, seed: int, wavelength: float = 0.35, waves: int = 12) -> np.ndarray:
    """A smooth, seeded scalar field in world space: a sum of ``waves`` plane waves with
    wavelengths around ``wavelength`` metres (mean about 0, unit RMS over space)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 4151]))
    directions = rng.normal(size=(waves, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    k = 2 * np.pi / (wavelength * rng.uniform(0.5, 2.0, waves))
    phase = rng.uniform(0, 2 * np.pi, waves)
    amp = rng.uniform(0.5, 1.0, waves)
    amp *= np.sqrt(2.0 / np.sum(amp**2))  # unit RMS
    return np.sin(np.asarray(points, float) @ (directions * k[:, None]).T + phase) @ amp


def _canonical(normal: np.ndarray) -> np.ndarray:
    """The normal with a sign fixed by its largest component (the same for both sides of a cut)."""
    axis = np.argmax(np.abs(normal))
    return normal if normal[axis] > 0 else -normal


def _face_normal(points: np.ndarray) -> np.ndarray:
    centre = points.mean(0)
    n = np.cross(points - centre, np.roll(points, -1, axis=0) - centre).sum(0)
    return n / max(np.linalg.norm(n), 1e-30)


@dataclasses.dataclass(frozen=True)
class Surfaces:
    """Closed shard surfaces alone (what ``roughen`` reads of a ShardSet): the meshes read back from
    Blender (``blender/rough.py``) come in this form."""

    vertices: np.ndarray  # (V, 3) world rest positions
    vertex_start: np.ndarray  # (S+1,)
    face_sizes: np.ndarray  # (F,)
    face_start: np.ndarray  # (S+1,)
    loops: np.ndarray  # (L,) global vertex indices
    face_interior: np.ndarray  # (F,) bool

    @property
    def count(self) -> int:
        return len(self.vertex_start) - 1

    @property
    def loop_start(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.face_sizes)[:-1]]).astype(np.int64)


def _is_convex(corners: np.ndarray, normal: np.ndarray) -> bool:
    """True when the planar polygon turns the same way at every corner (rings around the centroid
    would fold over in a non-convex cut face, as the mesh path can make: those stay flat)."""
    edges = np.roll(corners, -1, 0) - corners
    turn = np.cross(edges, np.roll(edges, -1, 0)) @ normal
    scale = float(np.max(np.linalg.norm(edges, axis=1))) ** 2
    return bool(np.all(turn > -1e-9 * scale) or np.all(turn < 1e-9 * scale))


@dataclasses.dataclass(frozen=True)
class RoughShards:
    """The subdivided (undisplaced) shards, and the offset of every vertex (zero off the cuts)."""

    shards: ShardSet | Surfaces
    offset: np.ndarray  # (V, 3)
    inner: np.ndarray  # (V,) bool: points inside cut faces (where offsets are non-zero)

    def displaced_vertices(self) -> np.ndarray:
        return self.shards.vertices + self.offset


def _row_sum(x: np.ndarray) -> np.ndarray:
    """``x`` (n, m, 3) summed over m one row after another, as numpy sums one (m, 3) block over
    axis 0 (a reduction over axis 1 may sum pairwise: other last bits)."""
    out = x[:, 0].copy()
    for i in range(1, x.shape[1]):
        out += x[:, i]
    return out


def _centre_normal(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centres (n, 3) and unit normals (n, 3) of n faces of m corners (n, m, 3), bit for bit what
    ``corners.mean(0)`` and ``_face_normal`` give one face at a time."""
    m = corners.shape[1]
    centre = _row_sum(corners) / m
    n = _row_sum(np.cross(corners - centre[:, None], np.roll(corners, -1, 1) - centre[:, None]))
    return centre, n / np.array([max(np.linalg.norm(v), 1e-30) for v in n])[:, None]


def face_frames(surfaces, shards=None) -> tuple[np.ndarray, np.ndarray]:
    """Centre (the corners' mean) and unit normal (F, 3) of every face of ``surfaces`` (of the
    ``shards`` given; NaN elsewhere)."""
    sizes = np.asarray(surfaces.face_sizes)
    starts = surfaces.loop_start
    centres, normals = np.full((len(sizes), 3), np.nan), np.full((len(sizes), 3), np.nan)
    wanted = np.ones(len(sizes), bool)
    if shards is not None:
        owner = np.repeat(np.arange(surfaces.count), np.diff(surfaces.face_start))
        wanted = np.isin(owner, np.asarray(shards, np.int64))
    for m in np.unique(sizes[wanted]):
        ids = np.flatnonzero(wanted & (sizes == m))
        corners = surfaces.vertices[surfaces.loops[starts[ids][:, None] + np.arange(m)]]
        centres[ids], normals[ids] = _centre_normal(corners)
    return centres, normals


def _cut_frames(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centres (n, 3), unit normals (n, 3) and convexity (n,) of n cut faces of m corners
    (n, m, 3), each value bit for bit what the one-face formulas above give."""
    centre, normal = _centre_normal(corners)
    edges = np.roll(corners, -1, 1) - corners
    turns = np.cross(edges, np.roll(edges, -1, 1))
    longest = np.sqrt(np.add.reduce(edges * edges, axis=2)).max(axis=1)
    convex = np.empty(len(corners), bool)
    for f, (turn, nrm, edge) in enumerate(zip(turns, normal, longest, strict=True)):
        turn = turn @ nrm
        scale = float(edge) ** 2
        convex[f] = bool(np.all(turn > -1e-9 * scale) or np.all(turn < 1e-9 * scale))
    return centre, normal, convex


def _ring_template(m: int, rings: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One cut face of m corners split into rings: the triangles (T, 3) as codes (< m: corner i;
    m + j: the face's new point j), the new points' ring fractions (N,: t > 0 a ring's point, 0 the
    centre, -(t_out + t_in) a quad's centre between two rings) and taper weights (N,)."""
    ids = [np.arange(m)]
    fractions, weights = [], []
    count = m
    for k in range(rings - 1, 0, -1):  # ring k (k = rings: the corners, 0: the centre)
        t = k / rings
        fractions.append(np.full(m, t))
        weights.append(np.full(m, 1.0 - t * t))
        ids.append(np.arange(count, count + m))
        count += m
    fractions.append(np.zeros(1))
    weights.append(np.ones(1))
    centre_id = count
    count += 1
    tris = []
    for r, (outer, inner) in enumerate(zip(ids[:-1], ids[1:], strict=True)):
        t_out, t_in = (rings - r) / rings, (rings - r - 1) / rings
        fractions.append(np.full(m, -(t_out + t_in)))  # negative: the sum of the two fractions
        weights.append(np.full(m, 1.0 - ((t_out + t_in) / 2) ** 2))
        mid = np.arange(count, count + m)
        count += m
        for i in range(m):
            j = (i + 1) % m
            tris += [(outer[i], outer[j], mid[i]), (outer[j], inner[j], mid[i]),
                     (inner[j], inner[i], mid[i]), (inner[i], outer[i], mid[i])]
    last = ids[-1]
    tris += [(last[i], last[(i + 1) % m], centre_id) for i in range(m)]
    return np.asarray(tris, np.int64), np.concatenate(fractions), np.concatenate(weights)


def _ring_points(corners: np.ndarray, centre: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """The new points (n, N, 3) of n faces by ``_ring_template``'s fractions."""
    m = corners.shape[1]
    c = centre[:, None]
    blocks, k = [], 0
    while k < len(fractions):
        t = float(fractions[k])
        if t > 0:  # a ring
            blocks.append(c + (corners - c) * t)
            k += m
        elif t == 0:  # the centre
            blocks.append(c)
            k += 1
        else:  # mid-points of a quad between two rings: each quad is fanned from its own centre
            both = -t
            blocks.append(0.5 * ((c + (corners - c) * both / 2)
                                 + (c + (np.roll(corners, -1, 1) - c) * both / 2)))
            k += m
    return np.concatenate(blocks, axis=1)


def roughen(shards: ShardSet | Surfaces, rms: float, seed: int, *, rings: int = 3,
            wavelength: float = 0.35, factor: np.ndarray | None = None) -> RoughShards:
    """Split every cut face into rings of triangles and offset its inner points (see module doc).

    ``rms`` (m): RMS of offset / factor over the inner points of shards whose ``factor`` > 0; ``factor``
    (S,) scales each shard's offsets (by material, ``ROUGHNESS``; both sides of a cut are in the
    same element, so they share it). 0 gives the same surfaces, subdivided.

    Every shard keeps its vertices, then the new points of its split faces (face by face); every
    face is kept, or replaced in place by its triangles. The work runs by face size, all faces of
    one size at once.
    """
    sizes = np.asarray(shards.face_sizes, np.int64)
    starts = shards.loop_start
    count, faces = shards.count, len(sizes)
    face_owner = np.repeat(np.arange(count), np.diff(shards.face_start))
    vertex_owner = np.repeat(np.arange(count), np.diff(shards.vertex_start))
    split = np.zeros(faces, bool)
    frames = {}  # face size -> (faces, corners, centres, canonical normals)
    for m in np.unique(sizes[shards.face_interior]):
        ids = np.flatnonzero(shards.face_interior & (sizes == m))
        corners = shards.vertices[shards.loops[starts[ids][:, None] + np.arange(m)]]
        centre, normal, convex = _cut_frames(corners)
        axis = np.argmax(np.abs(normal), axis=1)
        normal = np.where((normal[np.arange(len(ids)), axis] > 0)[:, None], normal, -normal)
        split[ids[convex]] = True
        frames[int(m)] = (ids[convex], corners[convex], centre[convex], normal[convex])
    templates = {m: _ring_template(m, rings) for m in frames}
    new_points = np.zeros(faces, np.int64)
    new_tris = np.ones(faces, np.int64)  # polygons out per face
    for m, (tris, fractions, _w) in templates.items():
        ids = frames[m][0]
        new_points[ids] = len(fractions)
        new_tris[ids] = len(tris)
    # where everything goes: shard s keeps its vertices first, then its faces' new points
    base = np.diff(shards.vertex_start)
    grown = np.bincount(face_owner, new_points, minlength=count).astype(np.int64)
    vstart = np.concatenate([[0], np.cumsum(base + grown)])
    before = np.concatenate([[0], np.cumsum(new_points)])  # new points before each face
    first_new = before[:-1] - before[shards.face_start[:-1]][face_owner] \
        + vstart[face_owner] + base[face_owner]  # counted within its shard, after its vertices
    moved_to = vstart[vertex_owner] + np.arange(len(shards.vertices)) - shards.vertex_start[vertex_owner]
    total = int(vstart[-1])
    vertices = np.empty((total, 3))
    vertices[moved_to] = shards.vertices
    inner = np.zeros(total, bool)
    direction = np.zeros((total, 3))  # normal x taper weight
    # faces out: a kept face as it was, a split one as its triangles, in the order of the faces
    fstart = np.concatenate([[0], np.cumsum(new_tris)])[shards.face_start]
    face_sizes = np.repeat(np.where(split, 3, sizes), new_tris)
    face_interior = np.repeat(np.where(split, True, shards.face_interior), new_tris)
    loop_counts = np.where(split, 3 * new_tris, sizes)
    out_loops = np.cumsum(loop_counts) - loop_counts
    loops = np.empty(int(loop_counts.sum()), np.int64)
    kept = ~split
    kept_loops = np.repeat(starts[kept], sizes[kept]) + _ranks(sizes[kept])
    loops[np.repeat(out_loops[kept], sizes[kept]) + _ranks(sizes[kept])] = moved_to[shards.loops[kept_loops]]
    for m, (ids, corners, centre, normal) in frames.items():
        tris, fractions, weights = templates[m]
        points = _ring_points(corners, centre, fractions)  # (n, N, 3)
        at = first_new[ids][:, None] + np.arange(len(fractions))
        vertices[at] = points
        inner[at] = True
        direction[at] = normal[:, None] * weights[None, :, None]
        corner_ids = moved_to[shards.loops[starts[ids][:, None] + np.arange(m)]]  # (n, m)
        codes = tris.ravel()
        ends = np.where(codes < m, corner_ids[:, np.minimum(codes, m - 1)],
                        first_new[ids][:, None] + codes - m)
        loops[out_loops[ids][:, None] + np.arange(len(codes))] = ends
    field = noise_field(vertices, seed, wavelength)
    offset = direction * field[:, None]
    scale = np.ones(len(vertices))
    if factor is not None:
        owner = np.repeat(np.arange(count), np.diff(vstart))
        scale = np.asarray(factor, float)[owner]
    counted = inner & (scale > 0)  # rms holds over the shards of factor 1 (RMS of offset / factor)
    magnitude = np.linalg.norm(offset[counted], axis=1)
    current = float(np.sqrt(np.mean(magnitude**2))) if counted.any() else 0.0
    offset *= ((rms / current) if current > 0 else 0.0) * scale[:, None]
    rough = dataclasses.replace(
        shards, vertices=vertices, vertex_start=vstart.astype(np.int64),
        face_sizes=face_sizes.astype(np.int64), face_start=fstart.astype(np.int64),
        loops=loops, face_interior=face_interior.astype(bool))
    return RoughShards(rough, offset, inner)


def _ranks(sizes: np.ndarray) -> np.ndarray:
    """0..n-1 for every n in ``sizes``, concatenated."""
    ends = np.cumsum(sizes)
    return np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - sizes, sizes)


def shard_volumes(vertices: np.ndarray, shards: ShardSet) -> np.ndarray:
    """Signed volume of every shard's closed surface (divergence theorem over fanned faces)."""
    out = np.zeros(shards.count)
    starts = shards.loop_start
    face_owner = np.repeat(np.arange(shards.count), np.diff(shards.face_start))
    for f in range(len(shards.face_sizes)):
        ring = vertices[shards.loops[starts[f]:starts[f] + shards.face_sizes[f]]]
        a, b, c = ring[0], ring[1:-1], ring[2:]
        out[face_owner[f]] += np.einsum("j,ij->", a, np.cross(b, c)) / 6.0
    return out
