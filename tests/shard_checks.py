"""Independent geometric checks on shard sets, shared by the fracture tests."""

from __future__ import annotations

import numpy as np


def shard_faces(shards, s):
    """Faces of shard ``s`` as lists of global vertex indices."""
    starts = shards.loop_start
    return [shards.loops[starts[f]:starts[f] + shards.face_sizes[f]]
            for f in range(shards.face_start[s], shards.face_start[s + 1])]


def assert_closed_outward(shards, s, tol=1e-9):
    """Every directed edge of shard ``s`` appears once and its reverse once; volume > 0."""
    faces = shard_faces(shards, s)
    edges = {}
    for loop in faces:
        for a, b in zip(loop, np.roll(loop, -1), strict=True):
            key = (int(a), int(b))
            assert key not in edges, f"shard {s}: edge {key} used twice in one direction"
            edges[key] = True
    for a, b in edges:
        assert (b, a) in edges, f"shard {s}: edge {(a, b)} is open"
    # Divergence theorem from the origin: positive only when normals point outwards.
    v = shards.vertices
    vol = 0.0
    for loop in faces:
        p = v[loop]
        for k in range(1, len(p) - 1):
            vol += np.dot(p[0], np.cross(p[k], p[k + 1])) / 6
    assert vol > 0, f"shard {s}: volume {vol} (inward normals?)"
    assert abs(vol - shards.volume[s]) <= 1e-9 * max(1.0, abs(vol)) + tol


def shard_planes(shards, s):
    """Outward unit normals and offsets of shard ``s``'s faces."""
    v = shards.vertices
    normals, offsets = [], []
    for loop in shard_faces(shards, s):
        p = v[loop]
        n = np.zeros(3)
        for k in range(1, len(p) - 1):
            n += np.cross(p[k] - p[0], p[k + 1] - p[0])
        n /= np.linalg.norm(n)
        normals.append(n)
        offsets.append(n @ p.mean(0))
    return np.array(normals), np.array(offsets)


def convex_overlap(shards, a, b, tol=1e-9) -> bool:
    """Separating-axis test: True when convex shards ``a`` and ``b`` overlap by more than ``tol``."""
    va = shards.vertices[shards.vertex_start[a]:shards.vertex_start[a + 1]]
    vb = shards.vertices[shards.vertex_start[b]:shards.vertex_start[b + 1]]
    na, _ = shard_planes(shards, a)
    nb, _ = shard_planes(shards, b)
    axes = [na, nb]
    ea = np.concatenate([shards.vertices[np.roll(f, -1)] - shards.vertices[f] for f in shard_faces(shards, a)])
    eb = np.concatenate([shards.vertices[np.roll(f, -1)] - shards.vertices[f] for f in shard_faces(shards, b)])
    cross = np.cross(ea[:, None, :], eb[None, :, :]).reshape(-1, 3)
    norms = np.linalg.norm(cross, axis=1)
    axes.append(cross[norms > 1e-9] / norms[norms > 1e-9, None])
    for ax in np.concatenate(axes):
        pa, pb = va @ ax, vb @ ax
        if pa.max() <= pb.min() + tol or pb.max() <= pa.min() + tol:
            return False
    return True


def overlapping_pairs(lo_hi_boxes):
    """Pairs of boxes (rows of (lo, hi)) whose interiors overlap in all three axes."""
    lo, hi = lo_hi_boxes
    n = len(lo)
    i, j = np.triu_indices(n, 1)
    ov = (np.minimum(hi[i], hi[j]) - np.maximum(lo[i], lo[j]) > 1e-9).all(1)
    return list(zip(i[ov], j[ov], strict=True))


def shard_bounds(shards):
    lo = np.array([shards.vertices[shards.vertex_start[s]:shards.vertex_start[s + 1]].min(0) for s in range(shards.count)])
    hi = np.array([shards.vertices[shards.vertex_start[s]:shards.vertex_start[s + 1]].max(0) for s in range(shards.count)])
    return lo, hi
