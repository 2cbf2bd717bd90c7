"""Rebar ends where bonds between reinforced-concrete shards broke (pure numpy, never bpy).

Each break event between two reinforced-concrete shards gets a few short bars through its contact
face: every bar stays in one of the two shards (embedded ``EMBED`` behind the face) and sticks out
of the face into the other one by 3 to 25 cm (shortened until its end is inside the other shard).
While the two shards touch, the stub lies inside the neighbour and cannot be seen; once they part
it shows. Bars are render geometry only (``blender/rough.py`` adds them to the
shards' render twins), so physics never sees them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rough_cuts import face_frames

RC = "reinforced_concrete"
EMBED = 0.05  # m behind the face, inside the shard that keeps the bar
SPACING = 0.12  # m between bars of one face (a 2 x 2 pattern around the break point)
MARGIN = 0.03  # m from the face's edges
RADIUS = 0.008  # m: a 16 mm bar
MARGIN_END = 0.015  # m: a bar's ends inside their shards' other faces (plus the rough RMS)


@dataclass(frozen=True)
class Bars:
    """N straight bars in world rest coordinates, each owned by one shard."""

    start: np.ndarray  # (N, 3) embedded end
    end: np.ndarray  # (N, 3) broken end, outside the owner's face
    shard: np.ndarray  # (N,) owner
    event: np.ndarray  # (N,) index of the break event

    @property
    def count(self) -> int:
        return len(self.shard)


def _basis(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    helper = np.array([1.0, 0.0, 0.0]) if abs(n[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(n, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(n, u)


def _inside(point: np.ndarray, corners: np.ndarray, normal: np.ndarray, margin: float) -> bool:
    """``point`` (on the plane) at least ``margin`` inside the convex polygon ``corners``."""
    edges = np.roll(corners, -1, 0) - corners
    inward = np.cross(normal, edges)
    sign = 1.0 if np.cross(edges[0], edges[1]) @ normal >= 0 else -1.0
    inward = sign * inward / np.maximum(np.linalg.norm(inward, axis=1, keepdims=True), 1e-12)
    return bool(np.all(np.einsum("ij,ij->i", point - corners, inward) >= margin))


def contact_face(surfaces, shard: int, point: np.ndarray, tol: float = 2e-3, frames=None):
    """Corners of ``shard``'s cut face through ``point`` (world rest), or None. ``frames``: the
    faces' ``rough_cuts.face_frames``, when the caller has them."""
    centres, normals = frames if frames is not None else face_frames(surfaces)
    starts = surfaces.loop_start
    best, best_d = None, tol
    for f in range(surfaces.face_start[shard], surfaces.face_start[shard + 1]):
        if not surfaces.face_interior[f]:
            continue
        n = normals[f]
        d = abs((point - centres[f]) @ n)
        if d < best_d:
            corners = surfaces.vertices[surfaces.loops[starts[f]:starts[f] + surfaces.face_sizes[f]]]
            if _inside(point - d * n, corners, n, 0.0):
                best, best_d = corners, d
    return best


def _planes(frames, surfaces, shard: int):
    """Outward unit normals and centres of ``shard``'s faces (from ``face_frames``)."""
    f0, f1 = surfaces.face_start[shard], surfaces.face_start[shard + 1]
    return frames[1][f0:f1], frames[0][f0:f1]


def _hidden(planes, point, contact_normal, margin: float) -> bool:
    """``point`` behind every face plane of a shard: by ``margin`` from all but the contact face
    (the half-spaces' intersection lies inside the shard, convex or not)."""
    normals, centres = planes
    depth = np.einsum("ij,ij->i", point - centres, normals)
    coplanar = np.abs(normals @ contact_normal) > 0.999
    return bool(np.all(np.where(coplanar, depth < 0.0, depth < -margin)))


def rebar_bars(surfaces, origins: np.ndarray, materials, shard_a, shard_b, points, normals,
               seed: int, *, margin: float = MARGIN_END) -> Bars:
    """Bars for the events (``points``/``normals``: positions on the contact face and the normal
    from a to b, both at rest) between two ``RC`` shards; ``origins`` (S, 3) the shards' rest
    centroids, ``materials`` (S,) their material names. Each bar is shortened (or dropped) until
    both ends are at least ``margin`` inside their shards' other faces (give more when those faces
    are rough). Deterministic for ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1992]))
    frames = face_frames(surfaces, np.union1d(shard_a, shard_b))  # the faces it may read
    out_start, out_end, out_shard, out_event = [], [], [], []
    for k, (a, b) in enumerate(zip(shard_a, shard_b, strict=True)):
        a, b = int(a), int(b)
        if materials[a] != RC or materials[b] != RC:
            continue
        p, n = np.asarray(points[k], float), np.asarray(normals[k], float)
        n = n / max(np.linalg.norm(n), 1e-12)
        corners = contact_face(surfaces, a, p, frames=frames)
        if corners is None:
            continue
        planes = {a: _planes(frames, surfaces, a), b: _planes(frames, surfaces, b)}
        u, v = _basis(n)
        angle = rng.uniform(0.0, 2 * np.pi)
        c, s = np.cos(angle), np.sin(angle)
        u, v = c * u + s * v, -s * u + c * v
        offsets = 0.5 * SPACING * np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], float)
        keep_a = rng.random(4) < 0.5
        lengths = rng.uniform(0.05, 0.25, 4)
        tilt = rng.normal(0.0, 0.12, (4, 2))
        for i, (x, y) in enumerate(offsets):
            q = p + x * u + y * v
            if not _inside(q, corners, n, MARGIN):
                continue
            owner, other, into = (a, b, n) if keep_a[i] else (b, a, -n)
            start = q - EMBED * into
            if not _hidden(planes[owner], start, n, margin):
                continue
            direction = into + tilt[i, 0] * u + tilt[i, 1] * v
            direction /= np.linalg.norm(direction)
            reach = lengths[i]
            while reach >= 0.03 and not _hidden(planes[other], q + direction * reach, n, margin):
                reach *= 0.6
            if reach < 0.03:
                continue
            out_start.append(start)
            out_end.append(q + direction * reach)
            out_shard.append(owner)
            out_event.append(k)
    if not out_shard:
        return Bars(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0, np.int64), np.zeros(0, np.int64))
    return Bars(np.array(out_start), np.array(out_end), np.array(out_shard, np.int64),
                np.array(out_event, np.int64))


def bar_mesh(start: np.ndarray, end: np.ndarray, radius: float = RADIUS):
    """Square-section prisms along the bars: vertices (8N, 3) and quads (5N, 4) (four sides and
    the broken end; the embedded end needs no cap)."""
    n = len(start)
    axis = end - start
    axis = axis / np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-12)
    helper = np.where(np.abs(axis[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    v = np.cross(axis, u)
    ring = np.stack([u + v, -u + v, -u - v, u - v], 1) * radius  # (N, 4, 3)
    verts = np.concatenate([start[:, None] + ring, end[:, None] + ring], 1).reshape(-1, 3)
    base = (np.arange(n) * 8)[:, None]
    sides = np.array([[0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7], [4, 5, 6, 7]])
    quads = (base[:, None, :] + sides[None]).reshape(-1, 4)
    return verts, quads
