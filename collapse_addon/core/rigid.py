"""A small rigid-body integrator for actors (compounds of convex shards): pure numpy, no bpy.

Why our own and not Bullet/MuJoCo: the actor solver keeps the intact, supported building static
(the stress solver judges it), so only the few bodies that lost support move; they split often,
and an engine that recompiles its model on every split (MuJoCo: ~2 s for 3,000 meshes) or that
has no wheel for every Python we ship (pybullet: no cp313) costs more than it gives here. See
``docs/actors.md`` for the measured comparison.

Contacts are vertex-in-convex-hull tests (every shard is convex, or stands for its hull): a vertex
of one shard inside another shard's hull, or below the ground plane, gets a penalty force along
the face of least penetration with viscous damping and Coulomb friction. The stiffness is scaled
to the lighter body's mass and shared among that body's contacts, so a heavy compound landing on
hundreds of vertices is as stable as a single shard (penetration under its weight ~ g / omega^2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .collapse_report import quaternion_matrices


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of (..., 4) quaternions in (w, x, y, z) order."""
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz,
                     aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx,
                     aw * bz + ax * by - ay * bx + az * bw], -1)


def quat_matrix(q: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices of unit quaternions (..., 4), (w, x, y, z)."""
    return quaternion_matrices(q)


@dataclass(frozen=True)
class ShardShapes:
    """Every shard's hull around its centroid, padded to one width for vectorised tests.

    ``vertices`` (S, V, 3) with ``vertex_mask`` (S, V); ``planes`` (S, F, 4): outward unit normal
    and offset, a point p (shard-local) is inside when ``n . p <= d`` for every face (padded faces
    never bind); ``radius`` (S,) the farthest corner.
    """

    vertices: np.ndarray
    vertex_mask: np.ndarray
    planes: np.ndarray
    radius: np.ndarray

    @classmethod
    def from_shards(cls, shards, max_vertices: int = 48) -> ShardShapes:
        n = shards.count
        counts = np.diff(shards.vertex_start)
        fcounts = np.diff(shards.face_start)
        vmax = int(min(counts.max(initial=1), max_vertices))
        fmax = int(fcounts.max(initial=1))
        verts = np.zeros((n, vmax, 3))
        vmask = np.zeros((n, vmax), bool)
        planes = np.zeros((n, fmax, 4))
        planes[:, :, 3] = 1e9
        starts = shards.loop_start
        for s in range(n):
            v0, v1 = shards.vertex_start[s], shards.vertex_start[s + 1]
            local = shards.vertices[v0:v1] - shards.centroid[s]
            if len(local) > vmax:  # keep an even spread of corners of a many-cornered shard
                local = local[np.linspace(0, len(local) - 1, vmax).round().astype(int)]
            verts[s, :len(local)] = local
            vmask[s, :len(local)] = True
        # the face planes, all faces of one size at once (each value bit for bit what one face's
        # ring.mean(0), cross(...).sum(0) and norm give: the sums run row after row)
        sizes = np.asarray(shards.face_sizes)
        owner = np.repeat(np.arange(n), fcounts)
        slot = np.arange(len(sizes)) - np.asarray(shards.face_start)[owner]
        for m in np.unique(sizes):
            ids = np.flatnonzero(sizes == m)
            rings = shards.vertices[shards.loops[starts[ids][:, None] + np.arange(m)]]
            rings = rings - shards.centroid[owner[ids]][:, None]
            mean = rings[:, 0].copy()
            for i in range(1, m):
                mean += rings[:, i]
            mean = mean / m
            cross = np.cross(rings - mean[:, None], np.roll(rings, -1, 1) - mean[:, None])
            nrms = cross[:, 0].copy()
            for i in range(1, m):
                nrms += cross[:, i]
            for f, ring, nrm in zip(ids, rings, nrms, strict=True):
                length = np.linalg.norm(nrm)
                if length < 1e-12:
                    continue
                nrm = nrm / length
                planes[owner[f], slot[f], :3] = nrm
                planes[owner[f], slot[f], 3] = float(np.max(ring @ nrm))
        radius = np.linalg.norm(verts, axis=2).max(1)
        return cls(verts, vmask, planes, radius)


@dataclass
class ContactModel:
    """Penalty contact settings (``omega``: contact frequency, rad/s)."""

    omega: float
    damping_ratio: float = 0.7
    friction: float = 0.6


def penalty_forces(depth, normal, rel_velocity, mass_eff, count, model: ContactModel):
    """Contact force on the body owning the point (normal + friction), per contact.

    ``depth`` (C,) > 0, ``normal`` (C, 3) pointing out of the other body (towards this one),
    ``rel_velocity`` (C, 3) this point's velocity minus the other's, ``mass_eff`` (C,) kg,
    ``count`` (C,) contacts sharing that mass.
    """
    k = mass_eff * model.omega ** 2 / np.maximum(count, 1)
    c = 2.0 * model.damping_ratio * mass_eff * model.omega / np.maximum(count, 1)
    vn = np.einsum("ck,ck->c", rel_velocity, normal)
    fn = np.maximum(k * depth - c * vn, 0.0)
    vt = rel_velocity - vn[:, None] * normal
    speed_t = np.linalg.norm(vt, axis=1)
    ft = np.minimum(model.friction * fn, c * speed_t)
    tangent = vt / np.maximum(speed_t, 1e-9)[:, None]
    return fn[:, None] * normal - ft[:, None] * tangent
