"""The moving part of the actor solver: rigid actors (compounds of shards) and their contacts.

Pure numpy/scipy (never bpy). Shards belong to the static building (owner -1: it does not move,
or moves with the ground in an earthquake), or to an actor. Actors that come to rest fall asleep
and become obstacles like the static building until something heavy hits them.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from .contact_mass import turning_mass, world_inverse_inertia
from .rigid import ContactModel, ShardShapes, penalty_forces, quat_matrix, quat_mul

STATIC = -1
SLEEP_SPEED = 0.05  # m/s
SLEEP_SPIN = 0.1  # rad/s
SLEEP_STEPS = 30
#: Moving actors of more shards than this are paired with others by a cross query (no own pairs).
BIG_ACTOR = 32
MAX_SPIN = 30.0  # rad/s: a clamp on penalty-contact spikes, far above what debris shows
#: The broad phase's pair list: each shard's sphere grown by what it covers in this many steps
PAIR_STEPS = 5
MIN_SKIN = 0.05  # m, plus that: a shard at rest may start to move


class ActorWorld:
    """Actors of shards, stepped with penalty contacts against each other, the building and the ground."""

    def __init__(self, shapes: ShardShapes, rest_centroid, mass, inertia, *, ground_z: float,
                 gravity: float, contact: ContactModel):
        self.shapes = shapes
        self.rest = np.asarray(rest_centroid, float)
        self.mass = np.asarray(mass, float)
        self.inertia = np.asarray(inertia, float)
        self.ground_z = float(ground_z)
        self.gravity = float(gravity)
        self.contact = contact
        n = len(self.mass)
        self.owner = np.full(n, STATIC, np.int64)
        self.offset = np.zeros((n, 3))  # shard centroid in its actor's body frame
        self.shard_q = np.tile([1.0, 0, 0, 0], (n, 1))  # shard rotation in its actor's body frame
        self.com = np.zeros((0, 3))
        self.q = np.zeros((0, 4))
        self.v = np.zeros((0, 3))
        self.w = np.zeros((0, 3))
        self.body_mass = np.zeros(0)
        self.body_inertia = np.zeros((0, 3, 3))
        self.awake = np.zeros(0, bool)
        self.ghost = np.zeros(0, bool)  # collides with the ground only (cut supports)
        self.alive = np.zeros(0, bool)
        self.still = np.zeros(0, np.int64)
        self.ground_offset = np.zeros(3)
        self.ground_velocity = np.zeros(3)
        self.shard_force = np.zeros((n, 3))  # contact force on each shard, last step
        self.pushed = np.zeros((n, 3))  # external forces on shards for the next step (the ball)
        self.pushed_at = np.zeros((n, 3))
        self._obstacles = None
        self._structure = 0  # bumped whenever actors are made (shards change owner)
        # (key, awake actors, listed pairs, positions, ground offset, skins, ground skin)
        self._pair_cache = None
        # corners of each shard (its hull's real vertices are the first of its padded row)
        self._corners = shapes.vertex_mask.sum(1)
        self._size_split = float(np.percentile(shapes.radius, 75))  # for the broad phase's classes
        if not (shapes.vertex_mask == (np.arange(shapes.vertex_mask.shape[1]) < self._corners[:, None])).all():
            raise ValueError("ShardShapes.vertex_mask must mark each row's first vertices")
        self._poses = None  # (pos, quat, ground offset) of the last shard_poses call
        self._moved = np.zeros(0, bool)  # actors whose pose changed since then

    def push(self, shards, points, forces) -> None:
        """Apply ``forces`` at ``points`` on ``shards`` during the next step."""
        np.add.at(self.pushed, shards, forces)
        self.pushed_at[shards] = points

    # ---------------------------------------------------------------------------------- poses

    @property
    def count(self) -> int:
        return len(self.body_mass)

    def shard_poses(self) -> tuple[np.ndarray, np.ndarray]:
        """World centroid (S, 3) and rotation quaternion (S, 4) of every shard (read-only arrays).

        Cached: only the shards of actors that moved since the last call (and the static ones
        when the ground moved) are recomputed, so a step costs what moves, not the building.
        """
        cache = self._poses
        if cache is None or not np.array_equal(cache[2], self.ground_offset):
            pos, quat = self._all_poses()
        else:
            pos, quat = cache[0], cache[1]
            moved = self.owner >= 0
            moved[moved] = self._moved[self.owner[moved]]
            if moved.any():
                pos, quat = pos.copy(), quat.copy()
                a = self.owner[moved]
                rot = quat_matrix(self.q[a])
                pos[moved] = self.com[a] + np.einsum("sij,sj->si", rot, self.offset[moved])
                quat[moved] = quat_mul(self.q[a], self.shard_q[moved])
        self._moved[:] = False
        pos.setflags(write=False)
        quat.setflags(write=False)
        self._poses = (pos, quat, self.ground_offset.copy())
        return pos, quat

    def _all_poses(self) -> tuple[np.ndarray, np.ndarray]:
        pos = self.rest + self.ground_offset
        quat = np.tile([1.0, 0, 0, 0], (len(self.mass), 1))
        moved = self.owner >= 0
        if moved.any():
            a = self.owner[moved]
            rot = quat_matrix(self.q[a])
            pos = pos.copy()
            pos[moved] = self.com[a] + np.einsum("sij,sj->si", rot, self.offset[moved])
            quat[moved] = quat_mul(self.q[a], self.shard_q[moved])
        return pos, quat

    def shard_velocity(self, shards: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Velocity of ``points`` (P, 3) carried by ``shards`` (P,)."""
        out = np.tile(self.ground_velocity, (len(shards), 1))
        moved = self.owner[shards] >= 0
        a = self.owner[shards][moved]
        out[moved] = self.v[a] + _cross(self.w[a], points[moved] - self.com[a])
        return out

    # ------------------------------------------------------------------------------- creation

    def make_actor(self, shards: np.ndarray, velocity_at=None, *, ghost: bool = False,
                   velocity=None) -> int:
        """Make ``shards`` (currently static or in other actors) one new, awake actor.

        Its velocity: ``velocity_at(points)`` (linear velocity field, e.g. the parent's
        ``v + w x r``) at its centroid, with the parent's spin, or ``velocity`` (3,).
        """
        shards = np.asarray(shards, np.int64)
        pos, quat = self.shard_poses()
        parents = self.owner[shards]
        m = self.mass[shards]
        total = float(m.sum())
        com = (pos[shards] * m[:, None]).sum(0) / total
        rot = quat_matrix(quat[shards])
        inertia = np.einsum("sij,sjk,slk->il", rot, self.inertia[shards], rot)
        r = pos[shards] - com
        inertia += np.einsum("s,sij->ij", m, (r * r).sum(1)[:, None, None] * np.eye(3)
                             - r[:, :, None] * r[:, None, :])
        v = np.zeros(3) if velocity is None else np.asarray(velocity, float)
        w = np.zeros(3)
        parent = parents[np.argmax(m)]
        if parent >= 0:
            v = self.v[parent] + np.cross(self.w[parent], com - self.com[parent])
            w = self.w[parent].copy()
        elif velocity is None:
            v = self.ground_velocity.copy()
        idx = self.count
        self.com = np.vstack([self.com, com])
        self.q = np.vstack([self.q, [1.0, 0, 0, 0]])
        self.v = np.vstack([self.v, v])
        self.w = np.vstack([self.w, w])
        self.body_mass = np.append(self.body_mass, total)
        self.body_inertia = np.concatenate([self.body_inertia, inertia[None]])
        self.awake = np.append(self.awake, True)
        self.ghost = np.append(self.ghost, ghost)
        self.alive = np.append(self.alive, True)
        self.still = np.append(self.still, 0)
        self._moved = np.append(self._moved, True)
        self.owner[shards] = idx
        self._structure += 1
        self.offset[shards] = r
        self.shard_q[shards] = quat[shards]
        for p in np.unique(parents[parents >= 0]):
            if not (self.owner == p).any():
                self.alive[p] = False
                self.awake[p] = False
        self._obstacles = None
        return idx

    def actor_shards(self, actor: int) -> np.ndarray:
        return np.nonzero(self.owner == actor)[0]

    def live_actors(self) -> np.ndarray:
        return np.nonzero(self.alive)[0]

    # ----------------------------------------------------------------------------------- step

    def _obstacle_tree(self, pos):
        """KD-tree of the shards that do not move this step (static, asleep), rebuilt on change."""
        owner = self.owner
        still = (owner == STATIC) | ~self.awake[np.maximum(owner, 0)] & (owner >= 0)
        still &= ~((owner >= 0) & self.ghost[np.maximum(owner, 0)])
        key = still.tobytes()
        if self._obstacles is None or self._obstacles[0] != key:
            idx = np.nonzero(still)[0]
            # static shards move only with the ground: index them at rest, query shifted points
            self._obstacles = (key, idx, cKDTree(pos[idx] - self.ground_offset) if len(idx) else None)
        return self._obstacles[1], self._obstacles[2]

    def _pairs(self, pos, moving, dt):
        """Shard pairs whose bounding spheres overlap: moving vs still, and across moving actors,
        in one canonical (sorted) order.

        A Verlet list: each shard's sphere is grown by a skin, what it would cover in
        ``PAIR_STEPS`` steps at its speed now (the static building's: the ground's), the pairs
        whose grown spheres overlap are listed once and kept while every shard stays within its
        skin of where it was then and no actor was made, woke, fell asleep or was cut loose; each
        step only tests the listed pairs: exactly the pairs a fresh search would find.
        """
        radius = self.shapes.radius
        key = (self._structure, self.ghost.tobytes())
        cache = self._pair_cache
        # an actor falling asleep keeps the list (its pairs with still shards drop out below);
        # one waking up, or a new actor, needs its pairs with what does not move
        valid = cache is not None and cache[0] == key and not np.any(self.awake & ~cache[1])
        if valid:
            _, _, listed, then, ground_then, skin, ground_skin = cache
            gap = pos[moving] - then[moving]
            valid = bool(np.all(np.einsum("ij,ij->i", gap, gap) < skin[moving] ** 2))
            valid &= float(np.linalg.norm(self.ground_offset - ground_then)) < ground_skin
        if not valid:
            horizon = dt * PAIR_STEPS
            ground_skin = MIN_SKIN + 2.0 * horizon * float(np.linalg.norm(self.ground_velocity))
            skin = np.zeros(len(self.mass))
            skin[self.owner == STATIC] = ground_skin
            skin[moving] = MIN_SKIN + 2.0 * horizon * self._shard_speed(moving)
            listed = self._pairs_within(pos, moving, radius + skin)
            self._pair_cache = (key, self.awake.copy(), listed, pos, self.ground_offset.copy(),
                                skin, ground_skin)
        else:
            listed = cache[2]
            if len(listed) and not np.array_equal(self.awake, cache[1]):
                going = np.zeros(len(self.mass), bool)
                going[moving] = True
                listed = listed[going[listed[:, 0]] | going[listed[:, 1]]]
        a, b = listed.T
        gap = pos[a] - pos[b]
        reach = radius[a] + radius[b]
        return listed[np.einsum("ij,ij->i", gap, gap) < reach * reach]

    def _shard_speed(self, shards) -> np.ndarray:
        """Bound on the speed of ``shards``' centroids (moving ones): |v| + |w| |offset|."""
        a = self.owner[shards]
        arm = np.linalg.norm(self.offset[shards], axis=1)
        return np.linalg.norm(self.v[a], axis=1) + np.linalg.norm(self.w[a], axis=1) * arm

    def _pairs_within(self, pos, moving, grown) -> np.ndarray:
        """Pairs whose spheres of radius ``grown`` (S,) overlap, sorted by (first, second)."""
        pairs = []
        obstacles, tree = self._obstacle_tree(pos)
        solid = moving[~self.ghost[self.owner[moving]]]
        if len(solid) and tree is not None:
            reach = float(grown[solid].max() + grown[obstacles].max())
            query = pos[solid] - self.ground_offset
            # only shards with a still shard within reach (the front of a falling block)
            dist, _ = tree.query(query, k=1, distance_upper_bound=reach)
            near = np.isfinite(dist)
            if near.any():
                mtree = cKDTree(query[near])
                hits = mtree.sparse_distance_matrix(tree, reach, output_type="ndarray")
                a, b = solid[near][hits["i"]], obstacles[hits["j"]]
                # their own spheres overlap (``reach`` is the largest ones')
                pairs.append(np.column_stack([a, b])[hits["v"] < grown[a] + grown[b]])
        if len(solid) > 1:
            own = self._actor_pairs(pos, solid, grown)  # tested the same way
            if len(own):
                pairs.append(own)
        if not pairs:
            return np.zeros((0, 2), np.int64)
        pairs = np.concatenate(pairs)
        return pairs[np.argsort(pairs[:, 0] * len(self.mass) + pairs[:, 1], kind="stable")]

    def _actor_pairs(self, pos, solid, radius=None) -> np.ndarray:
        """Candidate pairs of moving shards of different actors whose boxes overlap, as
        (lower, higher) index rows in sorted order. A big actor is queried against the others'
        shards only: pairs within one actor (thousands in a falling block) are never listed."""
        radius = self.shapes.radius if radius is None else radius
        actor = self.owner[solid]
        ids, local = np.unique(actor, return_inverse=True)
        if len(ids) < 2:
            return np.zeros((0, 2), np.int64)
        lo = np.full((len(ids), 3), np.inf)
        hi = np.full((len(ids), 3), -np.inf)
        np.minimum.at(lo, local, pos[solid] - radius[solid, None])
        np.maximum.at(hi, local, pos[solid] + radius[solid, None])
        overlap = np.all((lo[:, None] <= hi[None]) & (lo[None] <= hi[:, None]), axis=2)
        np.fill_diagonal(overlap, False)
        has = overlap.any(1)
        big = has & (np.bincount(local, minlength=len(ids)) > BIG_ACTOR)
        out = []
        small = solid[(has & ~big)[local]]
        if len(small) > 1:
            out += self._sphere_pairs(pos, radius, small)
        later = np.arange(len(ids))
        for g in np.nonzero(big)[0]:
            theirs = solid[(overlap[g] & (~big | (later > g)))[local]]
            if len(theirs):
                out += self._sphere_pairs(pos, radius, solid[local == g], theirs)
        if not out:
            return np.zeros((0, 2), np.int64)
        pairs = np.concatenate(out)
        pairs = pairs[self.owner[pairs[:, 0]] != self.owner[pairs[:, 1]]]
        low, high = pairs.min(1), pairs.max(1)
        order = np.argsort(low * len(self.mass) + high, kind="stable")
        return np.column_stack([low[order], high[order]])

    def _sphere_pairs(self, pos, radius, mine, theirs=None) -> list[np.ndarray]:
        """Pairs of shards, ``mine`` x ``theirs`` (or within ``mine``), whose spheres of
        ``radius`` (S,) overlap. Queried by size class: one reach set by the biggest shards lists
        ~5x more candidates than overlap (17x for a falling block against the debris below it)."""

        def classes(shards):  # (shards, their KD-tree) of the small and of the big ones
            return [(c, cKDTree(pos[c])) for c in (shards[radius[shards] <= self._size_split],
                                                    shards[radius[shards] > self._size_split]) if len(c)]

        own = classes(mine)
        if theirs is None:
            groups = [(m, None) for m in own] + ([(own[0], own[1])] if len(own) == 2 else [])
        else:
            groups = [(m, t) for m in own for t in classes(theirs)]
        out = []
        for (m, tree), other in groups:
            if other is None:
                if len(m) < 2:
                    continue
                found = tree.query_pairs(2 * float(radius[m].max()), output_type="ndarray")
                a, b = m[found[:, 0]], m[found[:, 1]]
                gap = pos[a] - pos[b]
                dist = np.sqrt(np.einsum("ij,ij->i", gap, gap))
            else:
                t, their_tree = other
                reach = float(radius[m].max() + radius[t].max())
                hits = tree.sparse_distance_matrix(their_tree, reach, output_type="ndarray")
                a, b, dist = m[hits["i"]], t[hits["j"]], hits["v"]
            out.append(np.column_stack([a, b])[dist < radius[a] + radius[b]])
        return out

    def step(self, dt: float) -> None:
        """Advance every awake actor by ``dt`` seconds."""
        n_act = self.count
        self.shard_force[:] = self.pushed
        pushed = np.nonzero(np.any(self.pushed != 0, axis=1))[0]
        force = np.zeros((n_act, 3))
        torque = np.zeros((n_act, 3))
        for s in pushed:
            a = self.owner[s]
            if a >= 0:
                self.awake[a] = True
                force[a] += self.pushed[s]
                torque[a] += np.cross(self.pushed_at[s] - self.com[a], self.pushed[s])
        self.pushed[:] = 0.0
        if n_act == 0 or not self.awake.any():
            return
        pos, quat = self.shard_poses()
        moving = np.nonzero((self.owner >= 0) & self.awake[np.maximum(self.owner, 0)])[0]
        shapes = self.shapes
        # contact points: (shard owning the point, shard whose hull it is in, point, depth, normal)
        owners, others, points, depths, normals = [], [], [], [], []
        pairs = self._pairs(pos, moving, dt)
        if len(pairs):
            found = self._hull_contacts(pos, quat, pairs)
            for out, part in zip((owners, others, points, depths, normals), found, strict=True):
                out.append(part)
        # the ground: corners of moving shards below its top
        low = moving[pos[moving, 2] - shapes.radius[moving] < self.ground_z + self.ground_offset[2]]
        if len(low):
            world = np.einsum("pij,pvj->pvi", quat_matrix(quat[low]), shapes.vertices[low]) + pos[low][:, None]
            depth = self.ground_z + self.ground_offset[2] - world[..., 2]
            pi, vi = np.nonzero((depth > 0) & shapes.vertex_mask[low])
            owners.append(low[pi])
            others.append(np.full(len(pi), -2, np.int64))
            points.append(world[pi, vi])
            depths.append(depth[pi, vi])
            normals.append(np.tile([0.0, 0.0, 1.0], (len(pi), 1)))
        if owners:
            self._apply_contacts(np.concatenate(owners), np.concatenate(others),
                                 np.concatenate(points), np.concatenate(depths),
                                 np.concatenate(normals), force, torque)
        self._integrate(dt, force, torque)

    def _hull_contacts(self, pos, quat, pairs):
        """Corners of one shard inside the other's hull, both ways round, for candidate ``pairs``.

        Returns (owning shard, other shard, point, depth, normal) per contact; the normal points
        out of the other shard's face of least penetration. Work goes to where contacts can be:
        the hulls' corners and faces are carried into the world once per shard, pairs whose world
        boxes are apart are dropped, and only corners inside the other hull's box (one in six at
        the end of demolition-10) are tested against its faces.
        """
        shapes = self.shapes
        involved = np.unique(pairs)
        slot = np.zeros(len(self.mass), np.int64)
        slot[involved] = np.arange(len(involved))
        rot = quat_matrix(quat[involved])
        world_v = shapes.vertices[involved] @ rot.transpose(0, 2, 1) + pos[involved][:, None]
        # world boxes of the hulls: pairs whose boxes are apart never touch (tighter than the
        # bounding spheres for slab and wall pieces)
        mask = shapes.vertex_mask[involved][..., None]
        lo = np.where(mask, world_v, np.inf).min(1)
        hi = np.where(mask, world_v, -np.inf).max(1)
        s0, s1 = slot[pairs[:, 0]], slot[pairs[:, 1]]
        pairs = pairs[np.all((lo[s0] <= hi[s1]) & (lo[s1] <= hi[s0]), axis=1)]
        planes = shapes.planes[involved]
        normal_w = planes[:, :, :3] @ rot.transpose(0, 2, 1)  # (I, F, 3); padded faces stay 0
        offset_w = planes[:, :, 3] + np.einsum("ifk,ik->if", normal_w, pos[involved])
        a, b = np.concatenate([pairs, pairs[:, ::-1]]).T
        sa, sb = slot[a], slot[b]
        # the corners of the first shard inside the other's box: a padded row gathers whole
        # (one copy per pair, ~9 real corners in 18), the box tested axis by axis
        cand = world_v[sa]  # (P, V, 3)
        low, high = lo[sb], hi[sb]
        inside_box = shapes.vertex_mask[a].copy()
        for k in range(3):
            axis = cand[:, :, k]
            inside_box &= (axis >= low[:, k, None]) & (axis <= high[:, k, None])
        pi, vi = np.nonzero(inside_box)
        p = cand[pi, vi]
        other = sb[pi]
        # n . p - d face by face as three gathered products (einsum over a gathered (C, F, 3)
        # costs ~40% more)
        signed = -offset_w[other]
        for k in range(3):
            signed += normal_w[:, :, k][other] * p[:, k, None]
        face = signed.argmax(1)
        depth = -signed[np.arange(len(pi)), face]
        hit = depth > 0
        return (a[pi][hit], b[pi][hit], p[hit], depth[hit], -normal_w[other[hit], face[hit]])

    def _apply_contacts(self, sa, sb, points, depth, normal, force, torque) -> None:
        """Penalty forces; ``normal`` points from the other body into the point's owner."""
        if not len(sa):
            return
        aa = self.owner[sa]
        ground = sb < 0
        ab = np.where(ground, -3, self.owner[np.maximum(sb, 0)])
        ab_moving = (ab >= 0) & self.awake[np.maximum(ab, 0)]
        a_moving = (aa >= 0) & self.awake[np.maximum(aa, 0)]
        n_act = self.count
        counts = np.bincount(aa[a_moving], minlength=n_act) + np.bincount(ab[ab_moving], minlength=n_act)
        big = np.inf
        ma = np.where(a_moving, self.body_mass[np.maximum(aa, 0)], big)
        mb = np.where(ab_moving, self.body_mass[np.maximum(ab, 0)], big)
        light = np.where(ma <= mb, aa, ab)
        inv_world = _world_inverse_inertia(self, a_moving, ab_moving, aa, ab)
        mass_eff = np.minimum(_turning_mass(self, inv_world, aa, a_moving, points, normal),
                              _turning_mass(self, inv_world, ab, ab_moving, points, normal))
        va = self.shard_velocity(sa, points)
        vb = np.zeros_like(va)
        not_ground = ~ground
        vb[not_ground] = self.shard_velocity(sb[not_ground], points[not_ground])
        vb[ground] = self.ground_velocity
        f = penalty_forces(depth, normal, va - vb, mass_eff, counts[light], self.contact)
        # a point owned by a moving body pushes it; the reaction goes to the other body
        for act, sign, mask in ((aa, 1.0, a_moving), (ab, -1.0, ab_moving)):
            if mask.any():
                fm = sign * f[mask]
                force += _sum_rows(act[mask], fm, n_act)
                torque += _sum_rows(act[mask], _cross(points[mask] - self.com[act[mask]], fm), n_act)
        self.shard_force += _sum_rows(sa, f, len(self.mass))
        self.shard_force -= _sum_rows(sb[not_ground], f[not_ground], len(self.mass))

    def _integrate(self, dt, force, torque) -> None:
        act = np.nonzero(self.awake)[0]
        m = self.body_mass[act]
        self.v[act] += dt * (force[act] / m[:, None] - np.array([0.0, 0.0, self.gravity]))
        rot = quat_matrix(self.q[act])
        inertia = np.einsum("aij,ajk,alk->ail", rot, self.body_inertia[act], rot)
        w = self.w[act]
        gyro = np.cross(w, np.einsum("aij,aj->ai", inertia, w))
        w = w + dt * np.linalg.solve(inertia, (torque[act] - gyro)[..., None])[..., 0]
        spin = np.linalg.norm(w, axis=1)
        w *= np.minimum(1.0, MAX_SPIN / np.maximum(spin, 1e-12))[:, None]
        self.w[act] = w
        self.com[act] += dt * self.v[act]
        dq = np.concatenate([np.zeros((len(act), 1)), w], 1)
        q = self.q[act] + 0.5 * dt * quat_mul(dq, self.q[act])
        self.q[act] = q / np.linalg.norm(q, axis=1, keepdims=True)
        self._moved[act] = True
        slow = (np.linalg.norm(self.v[act] - self.ground_velocity, axis=1) < SLEEP_SPEED) \
            & (np.linalg.norm(self.w[act], axis=1) < SLEEP_SPIN)
        self.still[act] = np.where(slow, self.still[act] + 1, 0)
        tired = act[self.still[act] >= SLEEP_STEPS]
        if len(tired):
            self.awake[tired] = False
            self.v[tired] = 0.0
            self.w[tired] = 0.0
            self._obstacles = None

    def wake_hit(self, factor: float = 3.0) -> None:
        """Wake sleeping actors pushed by more than ``factor`` x their weight."""
        asleep = np.nonzero(self.alive & ~self.awake)[0]
        if not len(asleep):
            return
        owned = self.owner >= 0
        push = np.zeros(self.count)
        np.add.at(push, self.owner[owned], np.linalg.norm(self.shard_force[owned], axis=1))
        hit = asleep[push[asleep] > factor * self.body_mass[asleep] * self.gravity]
        if len(hit):
            self.awake[hit] = True
            self.still[hit] = 0
            self._obstacles = None


def _world_inverse_inertia(world, a_moving, ab_moving, aa, ab) -> np.ndarray:
    """(A, 3, 3) world inverse inertia of the actors touched by a moving contact (zero elsewhere)."""
    touched = np.zeros(world.count, bool)
    touched[aa[a_moving]] = True
    touched[ab[ab_moving]] = True
    ids = np.flatnonzero(touched)
    out = np.zeros((world.count, 3, 3))
    out[ids] = world_inverse_inertia(world.body_inertia[ids], world.q[ids])
    return out


def _turning_mass(world, inv_world, actors, moving, points, normal) -> np.ndarray:
    """Mass each contact moves on its body (inf where that body does not move): see
    ``core/contact_mass.py`` (a push off the centre also turns the body)."""
    out = np.full(len(actors), np.inf)
    act = actors[moving]
    out[moving] = turning_mass(world.body_mass[act], inv_world[act], points[moving] - world.com[act],
                               normal[moving])
    return out


def _sum_rows(index, rows, size) -> np.ndarray:
    """(size, 3) sums of ``rows`` (N, 3) by ``index`` (N,): ``np.add.at`` in the same order, faster."""
    return np.stack([np.bincount(index, weights=rows[:, k], minlength=size) for k in range(3)], 1)


def _cross(u, v) -> np.ndarray:
    """Row-wise cross product of (N, 3) arrays (``np.cross`` costs ~3x as much on small rows)."""
    return np.stack([u[:, 1] * v[:, 2] - u[:, 2] * v[:, 1],
                     u[:, 2] * v[:, 0] - u[:, 0] * v[:, 2],
                     u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]], 1)
