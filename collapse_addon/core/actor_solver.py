"""The rigid-actor collapse solver: stress solver + rigid actors, frame by frame (pure, no bpy).

The intact, supported building is static: the stress solver (``core.stress_solver.settle``) judges
its bonds under gravity, trigger loads and the contact loads of debris (pancaking, the ball). What
loses support becomes an actor (one rigid body, a compound of its shards) in ``ActorWorld``; an
actor that is hit or lands hard has its bonds re-judged under its contact and inertial loads and
splits into new actors, each created with the parent's velocity at its place. Every broken bond is
a ``BreakEvents`` row. Nothing moves before the trigger frame. See ``docs/actors.md``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.spatial import cKDTree

from . import physics
from .actor_local import BondIndex, local_graph
from .actor_world import STATIC, ActorWorld
from .break_events import BreakEvents
from .rigid import ContactModel, ShardShapes, quat_matrix
from .stress_solver import Elements, components

#: A moving actor is re-judged when its contacts accelerate it by more than this many g.
CHECK_G = 1.5
#: ... and again only when that acceleration grows by this factor over the last judged one.
REJUDGE_GROWTH = 1.25
#: Contact loads on the standing building are re-judged when they change by more than this share.
RELOAD_CHANGE = 0.2
#: Stress-solver rounds (solve, break the worst, re-solve) per judgement of the standing building
#: and of a moving actor; a judgement that does not finish goes on at the next one.
STATIC_ROUNDS = 4
ACTOR_ROUNDS = 12
#: Each round breaks the overloaded bonds within this share of the worst one.
BREAK_FRACTION = 0.5
#: Frames between two judgements of one actor, and of the standing building under contact loads.
JUDGE_EVERY = 3
#: Frames between two judgements of the standing building while a trigger keeps firing.
TRIGGER_JUDGE_EVERY = 3
#: Reach (m) of a blow's load into the standing building (see ``settle_static``).
IMPACT_REACH = 3.0
#: Actors of more shards than this are judged within LANDING_REACH (m) of their contacts.
LOCAL_NODES = 150
LANDING_REACH = 4.0
#: Shards a blow frees of every bond become rubble that collides with the ground only.
CRUSH = True
#: ... and a storey that gives way under a landing block takes only the impulse it could carry
#: (``core/crush.py``); False: the penalty contacts stop the block at every storey.
CRUSH_RELIEF = True
#: An explosion is a transient load through the stress solver (``core/blast.py``); False: the
#: plan's shards lose their bonds and fly off at the plan's speeds.
BLAST_LOAD = True
#: Debris asleep on the standing building keeps loading it with its weight (``core/resting.py``).
RESTING_LOAD = True
#: Contact frequency (rad/s) x step: stiff but stable for semi-implicit Euler.
OMEGA_DT = 0.35


@dataclass
class ActorBake:
    """What the actor solver computed, at every frame from ``frame_start`` (both ends included)."""

    frame_start: int
    positions: np.ndarray  # (F, S, 3) shard centroids
    quaternions: np.ndarray  # (F, S, 4) shard rotations (w, x, y, z)
    ball: np.ndarray | None  # (F, 3) ball centre, or None
    actors: np.ndarray  # (F,) moving actors (awake) at each frame
    pieces: np.ndarray  # (F,) actors and loose shards (awake or asleep)
    events: BreakEvents
    seconds: float
    settle_calls: int

    @property
    def frames(self) -> np.ndarray:
        return np.arange(self.frame_start, self.frame_start + len(self.positions))


#: Storey height (m) assumed for a mesh building's storey bands (it has no storeys of its own).
MESH_STOREY = 3.0


def mesh_demolition(plan, building, shards, trigger, support):
    """Charges in storey bands of a mesh building (no element kinds there): every shard whose
    centroid is in a demolished storey's band (and plan region), supports included."""
    from .regions import in_storey

    z0 = float(building.lo[2])
    pick = np.zeros(shards.count, bool)
    for storey in trigger.demolition_storeys:
        pick |= in_storey(shards.centroid, int(storey), MESH_STOREY, z0, trigger.demolition_region)
    kicked = np.nonzero(pick)[0]
    centre = physics.building_plan_centre(building)
    outward = shards.centroid[kicked] - centre
    outward[:, 2] = 0.0
    outward /= np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-9)
    return replace(plan, kicked=kicked, kick_velocity=outward * trigger.kick_speed, kick_frame=None,
                   pulverized=trigger.demolition_pulverize)


def pendulum(trigger, gravity: float) -> dict:
    """A wrecking ball on a cable of ``impact_cable`` m that touches ``impact_target`` at the
    bottom of its swing, released from rest at the height that gives ``impact_speed`` there."""
    target = np.asarray(trigger.impact_target, float)
    start = np.asarray(trigger.impact_start, float)
    out = start - target
    out[2] = 0.0
    out /= max(np.linalg.norm(out), 1e-9)
    length = float(trigger.impact_cable)
    low = target + out * trigger.impact_radius
    pivot = low + np.array([0.0, 0.0, length])
    drop = min(trigger.impact_speed ** 2 / (2 * gravity), 1.8 * length)
    angle = np.arccos(np.clip(1 - drop / length, -1.0, 1.0))
    begin = pivot + length * (np.sin(angle) * out - np.cos(angle) * np.array([0.0, 0.0, 1.0]))
    return {"mass": trigger.impact_mass, "radius": trigger.impact_radius, "start": begin,
            "velocity": np.zeros(3), "pivot": pivot}


class _Ball:
    """The wrecking ball: a sphere, free or on a cable (a pendulum)."""

    def __init__(self, spec: dict, omega: float):
        self.x = np.asarray(spec["start"], float).copy()
        self.v = np.zeros(3)
        self.launch = np.asarray(spec["velocity"], float)
        self.mass = float(spec["mass"])
        self.radius = float(spec["radius"])
        self.pivot = None if spec.get("pivot") is None else np.asarray(spec["pivot"], float)
        self.length = 0.0 if self.pivot is None else float(np.linalg.norm(self.x - self.pivot))
        self.omega = omega
        self.released = False


def _break_rows(graph, bonds, causes, loads, frame, t, pos, quat, materials):
    rows = []
    if not len(bonds):
        return rows
    a, b = graph.bond_pairs[bonds].T
    rot = quat_matrix(quat[a])
    where = pos[a] + np.einsum("bij,bj->bi", rot, graph.bond_centroid[bonds] - graph.centroid[a])
    normal = np.einsum("bij,bj->bi", rot, graph.bond_normal[bonds])
    for k, _g in enumerate(bonds):
        rows.append((float(t), int(frame), where[k], normal[k], float(loads[k]), int(a[k]), int(b[k]),
                     str(materials[a[k]]), str(materials[b[k]]), str(causes[k])))
    return rows


class ActorSolver:
    """One collapse, stepped frame by frame (``run`` does the whole shot)."""

    def __init__(self, building, shards, sim: physics.SimulationSpec, trigger: physics.TriggerSpec,
                 *, materials=None):
        from .stress_solver import settle
        from .support_graph import build_support_graph, gravity_forces

        self._settle = settle
        self.sim = sim
        self.dt = sim.frame_seconds / sim.substeps
        ground_z = float(building.lo[2])
        self.graph = build_support_graph(building, shards, materials, ground_z=ground_z,
                                         gravity=sim.gravity)
        self.gravity_load = gravity_forces(self.graph, sim.gravity)
        omega = OMEGA_DT / self.dt
        self.world = ActorWorld(ShardShapes.from_shards(shards), shards.centroid, self.graph.mass,
                                self.graph.inertia, ground_z=ground_z, gravity=sim.gravity,
                                contact=ContactModel(omega))
        self.alive = np.ones(self.graph.n_bonds, bool)
        self.bond_index = BondIndex(self.graph)
        self.events: list[tuple] = []
        self.settle_calls = 0
        self.static_cache: dict = {}  # the standing building's stiffness system, kept between judgements
        self.elements = Elements(self.graph)  # every bond's stiffness matrix, computed once
        self.solved_load = np.zeros((self.graph.n_nodes, 3))
        # actor -> (contact acceleration, frame) it was last judged at
        self.judged: dict[int, tuple[float, int]] = {}
        self.solved_frame = -JUDGE_EVERY
        self.unfinished = self.static_unfinished = False
        self.trigger = trigger
        self.plan = self._plan(building, shards, trigger)
        self.ball = _Ball(self.plan.ball, omega) if self.plan.ball is not None else None
        self.quake_motion = self.plan.ground_motion
        self.ball_hit = np.zeros(self.graph.n_nodes, bool)  # shards the ball touched this frame
        self.prev_contact = np.zeros((self.graph.n_nodes, 3))  # contact forces of the last frame
        self.last_worst = 0.0  # worst utilisation of the last judgement's first solve
        self.resting: dict[int, tuple] = {}  # asleep actor -> (standing shards, forces) it rests on
        self.relieved = np.zeros((2, self.graph.n_nodes), bool)  # contact given back: this frame, last

    def _plan(self, building, shards, trigger):
        g = self.graph
        glue = physics.Glue(pairs=g.bond_pairs, contact=np.arange(g.n_bonds), centroid=g.bond_centroid,
                            area=g.bond_area, strength=np.zeros(g.n_bonds),
                            static_load=np.zeros(g.n_bonds), threshold=np.zeros(g.n_bonds))
        passive = g.support & (physics.shard_kinds(building, shards) == "foundation")
        if trigger.type == "impact" and trigger.impact_target is None:
            # aim at mid-height of the building (never above its roof)
            lo, hi = building.lo, building.hi
            centre = physics.building_plan_centre(building)
            trigger = replace(trigger, impact_target=(float(centre[0]), float(lo[1]),
                                                      float(0.5 * (max(lo[2], 0.0) + hi[2]))))
        plan = physics.plan_trigger(building, shards, self.sim, trigger, glue, passive)
        if plan.type == "demolition" and building.spec is None:
            plan = mesh_demolition(plan, building, shards, trigger, self.graph.support)
        if plan.ball is not None and trigger.impact_cable > 0:
            plan = replace(plan, ball=pendulum(physics.resolve_trigger(building, trigger),
                                               self.sim.gravity))
        return plan

    # ---------------------------------------------------------------------------- breaking

    def _cut(self, bonds, cause, frame, loads=None) -> None:
        bonds = np.asarray(bonds, np.int64)
        bonds = bonds[self.alive[bonds]]
        if not len(bonds):
            return
        self.alive[bonds] = False
        pos, quat = self.world.shard_poses()
        t = (frame - self.sim.frame_start) * self.sim.frame_seconds
        loads = np.zeros(len(bonds)) if loads is None else np.asarray(loads, float)[:len(bonds)]
        causes = np.full(len(bonds), cause) if isinstance(cause, str) else cause
        self.events += _break_rows(self.graph, bonds, causes, loads, frame, t, pos, quat,
                                   self.graph.material)

    def _bonds_of(self, mask: np.ndarray) -> np.ndarray:
        a, b = self.graph.bond_pairs.T
        return mask[a] & mask[b] & self.alive

    def _judge(self, nodes_mask, forces, fixed, frame, cause_of, rounds, transient=None,
               cache=None) -> np.ndarray:
        """Settle the bonds among ``nodes_mask``; record what breaks; returns the labels.

        With a ``cache`` (the standing building's stiffness system, kept between calls by the
        stress solver: its node numbering is the whole graph's, broken bonds are taken out in
        place) the whole graph is solved, nodes outside the judged set fixed and cut off. Without
        one, the judged part is solved on its own sub-graph (``core/actor_local.py``), so judging
        a small actor costs what the actor costs; whether its pieces hold after the last round is
        not asked (nothing reads ``unfinished`` for a moving part: it is judged again when hit)."""
        self.settle_calls += 1
        if cache is not None:
            alive = self._bonds_of(nodes_mask)
            result = self._settle(self.graph, alive, forces, (fixed & nodes_mask) | ~nodes_mask,
                                  max_rounds=rounds, break_fraction=BREAK_FRACTION,
                                  transient=transient, cache=cache, elements=self.elements.view())
            broken = result.broken
            labels = result.labels
        else:
            nodes = np.nonzero(nodes_mask)[0]
            bonds = self.bond_index.among(nodes, self.alive)
            part = local_graph(self.graph, nodes, bonds)
            result = self._settle(part, np.ones(len(bonds), bool), forces[nodes], fixed[nodes],
                                  max_rounds=rounds, break_fraction=BREAK_FRACTION,
                                  transient=None if transient is None else transient[nodes],
                                  elements=self.elements.view(bonds), final_solve=False)
            broken = bonds[result.broken]
            labels = np.full(self.graph.n_nodes, -1, np.int64)
            labels[nodes] = result.labels
        self.unfinished = not result.stable
        first = result.broken_round == 0
        # to 5 significant digits: the solve is good to ~1e-5 (CG tolerance 3e-5), and the digits
        # beyond differ between NumPy/BLAS builds; the crush relief scales a velocity by it, and a
        # chaotic collapse would turn those last bits into another collapse on another Blender line
        self.last_worst = float(f"{result.broken_ratio[first].max():.5g}") if first.any() else 0.0
        if len(broken):
            cap = self.graph.capacity_tension[broken]
            impulse = result.broken_ratio * cap * self.sim.frame_seconds
            self._cut(broken, cause_of(broken), frame, impulse)
        return labels, result.supported

    def settle_static(self, frame: int, extra=None, cause: str = "overload") -> None:
        """Judge the standing building; what loses support starts to move as actors."""
        static = self.world.owner == STATIC
        if not static.any():
            return
        forces = self.gravity_load.copy()
        if self.quake_motion is not None:
            forces -= self.graph.mass[:, None] * self._ground_accel(frame)
        if extra is not None:
            forces += extra
        loaded = np.zeros(self.graph.n_nodes, bool)
        if extra is not None:
            loaded = np.linalg.norm(extra, axis=1) > 0

        def cause_of(broken):
            a, b = self.graph.bond_pairs[broken].T
            return np.where(loaded[a] | loaded[b], cause, "overload")

        self._drop_unsupported(static)
        static = self.world.owner == STATIC
        fixed = self.graph.support
        hit = static & self.ball_hit
        if hit.any() and extra is not None:
            # a blow is resisted by the inertia of what is near it, not by the whole frame: judge it
            # on the neighbourhood within IMPACT_REACH, the rest held as a rigid boundary for the
            # blow's few milliseconds; then the building once more under gravity alone
            reach = cKDTree(self.graph.centroid[hit]).query(self.graph.centroid, k=1)[0]
            fixed = fixed | (reach > IMPACT_REACH)
        if static.any():
            labels, supported = self._judge(static, forces, fixed, frame, cause_of,
                                            STATIC_ROUNDS, cache=self.static_cache)
            if hit.any() and extra is not None:
                self._drop_unsupported(self.world.owner == STATIC)
                static = self.world.owner == STATIC
                self._judge(static, self.gravity_load.copy(), self.graph.support, frame,
                            lambda broken: np.full(len(broken), "overload"), STATIC_ROUNDS, cache=self.static_cache)
            self.static_unfinished = self.unfinished
            self._drop_unsupported(static)
        self.solved_load = np.zeros_like(forces) if extra is None else extra.copy()
        self.solved_frame = frame

    def _drop_unsupported(self, static: np.ndarray) -> None:
        """Parts of the standing building with no path to a support fall as actors (a free body
        in free fall carries no internal load: no solve needed)."""
        labels = components(self.graph.n_nodes, self.graph.bond_pairs, self._bonds_of(static))
        held = np.zeros(labels.max() + 1, bool)
        held[labels[static & self.graph.support]] = True
        falling = static & ~held[labels]
        for comp in np.unique(labels[falling]):
            self.world.make_actor(np.nonzero(falling & (labels == comp))[0])

    def judge_actor(self, actor: int, contact: np.ndarray, frame: int) -> None:
        """Re-judge a moving actor under its contact and inertial loads; split it if bonds fail."""
        members = self.world.actor_shards(actor)
        if len(members) < 2 or not len(self.bond_index.among(members, self.alive)):
            return
        nodes = np.zeros(self.graph.n_nodes, bool)
        nodes[members] = True
        _, quat = self.world.shard_poses()
        rot = quat_matrix(quat[nodes])
        forces = np.zeros((self.graph.n_nodes, 3))
        # loads in the shards' rest frame (the graph's geometry): R^T (contact + weight)
        world = contact[nodes] + self.gravity_load[nodes]
        accel = np.linalg.norm(contact[nodes].sum(0)) / self.world.body_mass[actor]
        fixed = np.zeros(self.graph.n_nodes, bool)
        touched = nodes & (np.linalg.norm(contact, axis=1) > 0)
        if nodes.sum() > LOCAL_NODES and touched.any():
            # a big actor's landing is judged near its contacts, the rest of it held as a rigid
            # boundary for the blow (as for the ball); loads less the actor's rigid acceleration
            reach = cKDTree(self.graph.centroid[touched]).query(self.graph.centroid[nodes], k=1)[0]
            fixed[np.nonzero(nodes)[0][reach > LANDING_REACH]] = True
            world = world - self.graph.mass[nodes, None] * (world.sum(0) / self.graph.mass[nodes].sum())
        forces[nodes] = np.einsum("sji,sj->si", rot, world)
        cause = "impact" if accel > 2.0 * self.sim.gravity else "overload"
        judged = nodes
        if fixed.any():
            # only what the blow can move is solved: the free shards and the held ones bonded to
            # them (a bond between two held shards carries nothing). A 6,000-shard block landing
            # with 1,500 shards near its contacts: 4-9 s a judgement over the whole block before
            judged = np.zeros(self.graph.n_nodes, bool)
            a, b = self.graph.bond_pairs[self.bond_index.among(members, self.alive)].T
            loose = ~fixed[a] | ~fixed[b]
            judged[a[loose]] = judged[b[loose]] = True
        labels, _ = self._judge(judged, forces, fixed, frame,
                                lambda broken: np.full(len(broken), cause), ACTOR_ROUNDS)
        if judged is not nodes:  # the pieces of the whole actor, after what broke
            labels = components(self.graph.n_nodes, self.graph.bond_pairs, self._bonds_of(nodes))
        comps = np.unique(labels[nodes])
        if len(comps) > 1:
            for comp in comps:
                piece = np.nonzero(nodes & (labels == comp))[0]
                # a shard that lost every bond to a blow is crushed: rubble that no longer
                # carries what is above it (collides with the ground only), so the block above
                # comes down onto the next storey: a crush-down, not a stack of loose shards
                crushed = CRUSH and cause == "impact" and len(piece) == 1
                actor = self.world.make_actor(piece, ghost=crushed)
                if crushed:
                    self._bury_below_ground(actor)
            if CRUSH and CRUSH_RELIEF and cause == "impact":
                self._give_way(nodes, labels, contact)

    def _bury_below_ground(self, actor: int) -> None:
        """A crushed shard caught below the ground stays there: the block it left had sunk into
        the ground by a penetration shared among all its contacts. Pushed out by the ground's
        penalty spring (stiff for this one shard) it was thrown 7-11 m up; lifted onto the ground
        it popped up by its own height in one frame, into the block still landing on it. Crushed
        under that block, it is buried rubble: asleep where it is (it collides with nothing but
        the ground, so the block above is not held by it)."""
        w = self.world
        pos, quat = w.shard_poses()
        shards = w.actor_shards(actor)
        rot = quat_matrix(quat[shards])
        verts = np.einsum("sij,svj->svi", rot, w.shapes.vertices[shards]) + pos[shards][:, None]
        low = float(verts[..., 2][w.shapes.vertex_mask[shards]].min())
        if low < w.ground_z + w.ground_offset[2]:
            w.v[actor] = w.ground_velocity
            w.w[actor] = 0.0
            w.awake[actor] = False

    def _give_way(self, nodes: np.ndarray, labels: np.ndarray, contact: np.ndarray) -> None:
        """The crushed shards' storey gave way: give the pieces that go on falling the impulse it
        could not carry (``core.crush``)."""
        from .crush import crush_relief

        sizes = np.bincount(labels[nodes], minlength=int(labels.max()) + 1)
        crushed = nodes & (sizes[labels] == 1)
        if not crushed.any():
            return
        # the landing's contact impulse over this frame and the last one, each given back once
        now, before = nodes & ~self.relieved[0], nodes & ~self.relieved[1]
        # exact sums (math.fsum): NumPy versions order long reductions differently, and a chaotic
        # collapse turns a last-bit difference into another collapse on another Blender line
        impulse = (_exact_sum(contact[now]) + _exact_sum(self.prev_contact[before])) * self.sim.frame_seconds
        self.relieved[0] |= nodes
        self.relieved[1] |= nodes
        dv = crush_relief(impulse, self.last_worst, math.fsum(self.graph.mass[nodes]))
        # only pieces held through the bonds that broke (touching nothing themselves) go on
        touching = np.linalg.norm(contact, axis=1) > 0
        held = np.unique(self.world.owner[nodes & touching])
        going = np.setdiff1d(np.unique(self.world.owner[nodes & ~crushed]), held)
        w = self.world
        for actor in going:
            # energy: a piece given back what the storey could not carry is never faster than
            # free fall from where it started (the penalty contacts' rebound is in the impulse)
            shards = w.actor_shards(actor)
            mass = self.graph.mass[shards]
            drop = math.fsum(mass * self.graph.centroid[shards, 2]) / math.fsum(mass) - float(w.com[actor, 2])
            limit = max(math.sqrt(2.0 * self.sim.gravity * max(drop, 0.0)), _length(w.v[actor]))
            v = w.v[actor] + dv
            speed = _length(v)
            w.v[actor] = v if speed <= limit else v * (limit / speed)

    # ---------------------------------------------------------------------------- triggers

    def _ground_accel(self, frame: int) -> np.ndarray:
        m = self.quake_motion
        i = frame - self.sim.frame_start
        if i <= 0 or i >= len(m) - 1:
            return np.zeros(3)
        return (m[i + 1] - 2 * m[i] + m[i - 1]) / self.sim.frame_seconds ** 2

    def fire(self, frame: int) -> bool:
        """Apply what the trigger does at ``frame``; True when the building must be re-judged."""
        plan = self.plan
        fired = False
        if len(plan.kicked) and plan.type == "explosion" and BLAST_LOAD:
            if frame == plan.frame:
                self._blast(frame, plan.kicked, plan.kick_velocity)
                fired = True
        elif len(plan.kicked):
            now = np.nonzero(plan.kick_frames() == frame)[0]
            if len(now):
                shards = plan.kicked[now]
                mask = np.zeros(self.graph.n_nodes, bool)
                mask[shards] = True
                a, b = self.graph.bond_pairs.T
                self._cut(np.nonzero((mask[a] | mask[b]) & self.alive)[0], "trigger", frame)
                ghost = plan.type == "demolition" and plan.pulverized
                for s, vel in zip(shards, plan.kick_velocity[now], strict=True):
                    if self.world.owner[s] == STATIC:
                        self.world.make_actor(np.array([s]), ghost=ghost, velocity=vel)
                fired = True
        if self.ball is not None and frame == plan.frame:
            self.ball.v = self.ball.launch.copy()
            self.ball.released = True
        if self.quake_motion is not None:
            i = frame - self.sim.frame_start
            m = self.quake_motion
            self.world.ground_offset = m[i].copy()
            nxt = m[min(i + 1, len(m) - 1)]
            self.world.ground_velocity = (nxt - m[i]) / self.sim.frame_seconds
            fired = fired or bool(np.any(np.abs(self._ground_accel(frame)) > 1e-9))
        return fired

    def _rest(self, awake_before: np.ndarray) -> None:
        """Actors that fell asleep hand their weight to the standing shards under them; actors
        that woke or are gone take it back (``core/resting.py``)."""
        from .resting import resting_load

        w = self.world
        for actor in [a for a in self.resting if w.awake[a] or not w.alive[a]]:
            del self.resting[actor]
        if not RESTING_LOAD:
            return
        k = len(awake_before)
        slept = np.nonzero(awake_before & ~w.awake[:k] & w.alive[:k])[0]
        if not len(slept):
            return
        pos, _ = w.shard_poses()
        static = w.owner == STATIC
        for actor in slept:
            shards = w.actor_shards(actor)
            idx, forces = resting_load(pos, w.shapes.radius, shards, static, self.prev_contact,
                                       w.body_mass[actor] * self.sim.gravity)
            if len(idx):
                self.resting[int(actor)] = (idx, forces)

    def _resting_sum(self) -> np.ndarray:
        out = np.zeros((self.graph.n_nodes, 3))
        for idx, forces in self.resting.values():
            np.add.at(out, idx, forces)
        return out

    def _blast(self, frame: int, shards: np.ndarray, velocity: np.ndarray) -> None:
        """The explosion as a transient load on the standing building (``core/blast.py``): what
        breaks free flies off with the momentum the blast gave its shards."""
        from .blast import blast_forces, piece_velocity

        static = self.world.owner == STATIC
        transient = blast_forces(self.graph.n_nodes, shards, velocity, self.graph.mass)
        loaded = np.linalg.norm(transient, axis=1) > 0

        def cause_of(broken):
            a, b = self.graph.bond_pairs[broken].T
            return np.where(loaded[a] | loaded[b], "trigger", "overload")

        # as for a blow: judged within IMPACT_REACH of the charged shards under the blast alone, the
        # rest held as a rigid boundary for its milliseconds; the building is judged under gravity next
        reach = cKDTree(self.graph.centroid[loaded]).query(self.graph.centroid, k=1)[0]
        self._judge(static, np.zeros_like(transient), self.graph.support | (reach > IMPACT_REACH),
                    frame, cause_of, ACTOR_ROUNDS, transient=transient)
        before = self.world.count
        self._drop_unsupported(static)
        for actor in range(before, self.world.count):
            self.world.v[actor] = piece_velocity(self.world.actor_shards(actor), self.graph.mass, transient)

    def _ball_step(self, dt: float) -> None:
        ball = self.ball
        if ball is None or not ball.released:
            return
        world = self.world
        pos, quat = world.shard_poses()
        near = np.nonzero(np.linalg.norm(pos - ball.x, axis=1)
                          < ball.radius + world.shapes.radius)[0]
        force = np.zeros(3)
        if len(near):
            rot = quat_matrix(quat[near])
            local = np.einsum("sji,sj->si", rot, ball.x - pos[near])
            planes = world.shapes.planes[near]
            signed = np.einsum("sk,sfk->sf", local, planes[:, :, :3]) - planes[:, :, 3]
            face = signed.argmax(1)
            gap = signed[np.arange(len(near)), face]
            hit = gap < ball.radius
            if hit.any():
                s = near[hit]
                normal = np.einsum("sij,sj->si", rot[hit], planes[hit, face[hit], :3])
                depth = ball.radius - gap[hit]
                point = ball.x - normal * (ball.radius - 0.5 * depth)[:, None]
                rel = ball.v - world.shard_velocity(s, point)
                from .rigid import penalty_forces

                f = penalty_forces(depth, normal, rel, np.full(len(s), ball.mass),
                                   np.full(len(s), len(s)), world.contact)
                force = f.sum(0)
                world.push(s, point, -f)
                self.ball_hit[s] = True
        if ball.x[2] - ball.radius < world.ground_z:
            force[2] += ball.mass * ball.omega ** 2 * (world.ground_z - ball.x[2] + ball.radius) \
                - 2 * ball.mass * ball.omega * 0.7 * min(ball.v[2], 0.0)
        ball.v += dt * (force / ball.mass - np.array([0, 0, self.sim.gravity]))
        ball.x += dt * ball.v
        if ball.pivot is not None:  # the cable: keep its length, drop the radial speed
            arm = ball.x - ball.pivot
            radial = arm / max(np.linalg.norm(arm), 1e-9)
            ball.x = ball.pivot + radial * ball.length
            ball.v -= float(ball.v @ radial) * radial

    # ---------------------------------------------------------------------------------- run

    def run(self, progress: Callable[[int, int], None] | None = None) -> ActorBake:
        t0 = time.perf_counter()
        sim = self.sim
        frames = sim.frame_count
        n = self.graph.n_nodes
        positions = np.empty((frames, n, 3))
        quats = np.empty((frames, n, 4))
        ball = np.empty((frames, 3)) if self.ball is not None else None
        actors = np.zeros(frames, np.int64)
        pieces = np.zeros(frames, np.int64)

        def record(i):
            positions[i], quats[i] = self.world.shard_poses()
            if ball is not None:
                ball[i] = self.ball.x
            actors[i] = int(self.world.awake.sum())
            pieces[i] = int(self.world.alive.sum())

        # the standing building judged under its own weight: what cannot carry itself falls
        self.settle_static(sim.frame_start)
        self.solved_frame = sim.frame_start - TRIGGER_JUDGE_EVERY
        pending = False
        record(0)
        for i, frame in enumerate(range(sim.frame_start, sim.frame_end)):
            pending = self.fire(frame) or pending
            if pending and frame - self.solved_frame >= TRIGGER_JUDGE_EVERY:
                # a sequenced demolition fires every frame: the building re-routes its load at
                # most every few frames (the cut shards fall at once all the same)
                self.settle_static(frame, cause="trigger")
                pending = False
            contact = np.zeros((n, 3))
            self.ball_hit[:] = False
            awake_before = self.world.awake.copy()
            for _ in range(sim.substeps):
                self._ball_step(self.dt)
                self.world.step(self.dt)
                contact += self.world.shard_force
            contact /= sim.substeps
            self.world.wake_hit()
            self._rest(awake_before)
            self._after_frame(frame + 1, contact)
            self.prev_contact = contact
            self.relieved = np.stack([np.zeros(n, bool), self.relieved[0]])
            record(i + 1)
            if progress is not None:
                progress(frame + 1, sim.frame_end)
        events = BreakEvents.from_lists(self.events)
        return ActorBake(sim.frame_start, positions, quats, ball, actors, pieces, events,
                         time.perf_counter() - t0, self.settle_calls)

    def _after_frame(self, frame: int, contact: np.ndarray) -> None:
        world = self.world
        owner = world.owner
        # moving actors hit or landing hard: judge their bonds under the contact loads
        moving = np.nonzero(world.awake)[0]
        if len(moving):
            has = owner >= 0
            total = np.zeros((world.count, 3))
            np.add.at(total, owner[has], contact[has])
            accel = np.linalg.norm(total, axis=1) / np.maximum(world.body_mass, 1e-9)
            for actor in moving[accel[moving] > CHECK_G * self.sim.gravity]:
                last_accel, last_frame = self.judged.get(int(actor), (0.0, -JUDGE_EVERY))
                if accel[actor] > REJUDGE_GROWTH * last_accel and frame - last_frame >= JUDGE_EVERY:
                    self.judged[int(actor)] = (float(accel[actor]), frame)
                    self.judge_actor(int(actor), contact, frame)
        # the standing building under the debris and the ball (pancaking, impacts)
        static = owner == STATIC
        load = np.where(static[:, None], contact + self._resting_sum(), 0.0)
        delta = np.linalg.norm(load - self.solved_load, axis=1)
        change = np.linalg.norm(delta)
        scale = max(np.linalg.norm(load), np.linalg.norm(self.solved_load), 1e-9)
        change *= float(np.any(delta > 0.5 * self.graph.mass * self.sim.gravity))
        quake = self.quake_motion is not None and np.any(self._ground_accel(frame) != 0)
        due = frame - self.solved_frame >= JUDGE_EVERY
        changed = change > RELOAD_CHANGE * scale and np.linalg.norm(load) > 0
        if (due and (changed or self.static_unfinished)) or quake:
            cause = "impact" if self.ball is not None or len(moving) else "overload"
            self.settle_static(frame, extra=load, cause=cause)


def bake_actors(building, shards, sim, trigger, *, materials=None,
                progress: Callable[[int, int], None] | None = None) -> ActorBake:
    """Run the actor solver over the whole shot (see ``ActorSolver``)."""
    return ActorSolver(building, shards, sim, trigger, materials=materials).run(progress)


def _exact_sum(rows: np.ndarray) -> np.ndarray:
    """Column sums of ``rows`` (K, 3), correctly rounded whatever NumPy's summation order."""
    return np.array([math.fsum(col) for col in np.asarray(rows, float).T]).reshape(3)


def _length(v) -> float:
    return math.sqrt(math.fsum(float(x) * float(x) for x in v))
