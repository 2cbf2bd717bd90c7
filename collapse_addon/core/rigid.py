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
        owner = np.repeat(np.arange(n), counts)
        local = shards.vertices - shards.centroid[owner]
        rank = np.arange(len(owner)) - np.repeat(shards.vertex_start[:-1], counts)
        fits = counts[owner] <= vmax
        verts[owner[fits], rank[fits]] = local[fits]
        vmask[owner[fits], rank[fits]] = True
        for s in np.flatnonzero(counts > vmax):  # keep an even spread of a many-cornered shard's
            v0 = shards.vertex_start[s]
            pick = np.linspace(0, counts[s] - 1, vmax).round().astype(int)
            verts[s] = local[v0 + pick]
            vmask[s] = True
        planes = np.zeros((n, fmax, 4))
        planes[:, :, 3] = 1e9
        sizes = shards.face_sizes
        if len(sizes):
            # each face's normal from its ring about its mean (robust to slightly non-planar
            # rings), its offset the farthest corner along it; all faces at once
            face_owner = np.repeat(np.arange(n), fcounts)
            starts = shards.loop_start
            loop_face = np.repeat(np.arange(len(sizes)), sizes)
            ring = shards.vertices[shards.loops] - shards.centroid[face_owner[loop_face]]
            mean = np.add.reduceat(ring, starts, axis=0) / sizes[:, None]
            following = np.arange(len(ring)) + 1
            following[starts + sizes - 1] = starts
            rel = ring - mean[loop_face]
            nrm = np.add.reduceat(np.cross(rel, rel[following]), starts, axis=0)
            length = np.linalg.norm(nrm, axis=1)
            good = length >= 1e-12
            nrm[good] /= length[good, None]
            offset = np.maximum.reduceat(np.einsum("lk,lk->l", ring, nrm[loop_face]), starts)
            slot = np.arange(len(sizes)) - np.repeat(shards.face_start[:-1], fcounts)
            planes[face_owner[good], slot[good], :3] = nrm[good]
            planes[face_owner[good], slot[good], 3] = offset[good]
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
