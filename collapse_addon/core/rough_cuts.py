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


def roughen(shards: ShardSet | Surfaces, rms: float, seed: int, *, rings: int = 3,
            wavelength: float = 0.35, factor: np.ndarray | None = None) -> RoughShards:
    """Split every cut face into rings of triangles and offset its inner points (see module doc).

    ``rms`` (m): RMS of offset / factor over the inner points of shards whose ``factor`` > 0; ``factor``
    (S,) scales each shard's offsets (by material, ``ROUGHNESS``; both sides of a cut are in the
    same element, so they share it). 0 gives the same surfaces, subdivided.
    """
    verts_out, sizes_out, loops_out, interior_out = [], [], [], []
    inner_out, normal_out = [], []
    vstart, fstart = [0], [0]
    starts = shards.loop_start
    nv = 0
    for s in range(shards.count):
        v0, v1 = shards.vertex_start[s], shards.vertex_start[s + 1]
        base = shards.vertices[v0:v1]
        local = [base]
        inner_flags = [np.zeros(len(base), bool)]
        normals = [np.zeros((len(base), 3))]
        weights = []
        count = len(base)
        for f in range(shards.face_start[s], shards.face_start[s + 1]):
            ring0 = shards.loops[starts[f]:starts[f] + shards.face_sizes[f]] - v0
            corners = base[ring0]
            normal = _face_normal(corners) if shards.face_interior[f] else None
            if normal is None or not _is_convex(corners, normal):
                sizes_out.append(len(ring0))
                loops_out.append(ring0 + nv)
                interior_out.append(bool(shards.face_interior[f]))
                continue
            centre = corners.mean(0)
            normal = _canonical(normal)
            m = len(ring0)
            # ring k (k = rings: the corners, 0: the centre) at fraction k / rings of the way out
            ids = [ring0]
            for k in range(rings - 1, 0, -1):
                t = k / rings
                local.append(centre + (corners - centre) * t)
                weights.append(np.full(m, 1.0 - t * t))
                ids.append(np.arange(count, count + m))
                count += m
            local.append(centre[None])
            weights.append(np.ones(1))
            centre_id = count
            count += 1
            # each quad between two rings is fanned from its own centre: a diagonal split would
            # depend on the corner order, which differs on the two sides of the cut
            tris = []
            for r, (outer, inner) in enumerate(zip(ids[:-1], ids[1:], strict=True)):
                t_out, t_in = (rings - r) / rings, (rings - r - 1) / rings
                quad = 0.5 * ((centre + (corners - centre) * (t_out + t_in) / 2)
                              + (centre + (np.roll(corners, -1, 0) - centre) * (t_out + t_in) / 2))
                local.append(quad)
                weights.append(np.full(m, 1.0 - ((t_out + t_in) / 2) ** 2))
                mid = np.arange(count, count + m)
                count += m
                for i in range(m):
                    j = (i + 1) % m
                    tris += [(outer[i], outer[j], mid[i]), (outer[j], inner[j], mid[i]),
                             (inner[j], inner[i], mid[i]), (inner[i], outer[i], mid[i])]
            for pts in local[len(inner_flags):]:
                inner_flags.append(np.ones(len(pts), bool))
                normals.append(np.tile(normal, (len(pts), 1)))
            last = ids[-1]
            tris += [(last[i], last[(i + 1) % m], centre_id) for i in range(m)]
            tris = np.asarray(tris, np.int64)
            sizes_out.extend([3] * len(tris))
            loops_out.append(tris.ravel() + nv)
            interior_out.extend([True] * len(tris))
        pts = np.concatenate(local)
        verts_out.append(pts)
        inner_out.append(np.concatenate(inner_flags))
        w = np.concatenate([np.zeros(len(base))] + weights) if weights else np.zeros(len(base))
        normal_out.append(np.concatenate(normals) * w[:, None])
        nv += len(pts)
        vstart.append(nv)
        fstart.append(len(sizes_out))
    vertices = np.concatenate(verts_out)
    inner = np.concatenate(inner_out)
    direction = np.concatenate(normal_out)  # normal x taper weight
    field = noise_field(vertices, seed, wavelength)
    offset = direction * field[:, None]
    scale = np.ones(len(vertices))
    if factor is not None:
        owner = np.repeat(np.arange(shards.count), np.diff(vstart))
        scale = np.asarray(factor, float)[owner]
    counted = inner & (scale > 0)  # rms holds over the shards of factor 1 (RMS of offset / factor)
    magnitude = np.linalg.norm(offset[counted], axis=1)
    current = float(np.sqrt(np.mean(magnitude**2))) if counted.any() else 0.0
    offset *= ((rms / current) if current > 0 else 0.0) * scale[:, None]
    rough = dataclasses.replace(
        shards, vertices=vertices, vertex_start=np.asarray(vstart, np.int64),
        face_sizes=np.asarray(sizes_out, np.int64), face_start=np.asarray(fstart, np.int64),
        loops=np.concatenate(loops_out).astype(np.int64),
        face_interior=np.asarray(interior_out, bool))
    return RoughShards(rough, offset, inner)


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
