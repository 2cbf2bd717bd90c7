"""Rigid-body physics maths for the collapse: settings, masses and glue.

Trigger plans live in ``trigger_plan.py`` and the report maths in ``collapse_report.py``; their
names are re-exported at the end of this module, so ``physics.plan_trigger`` keeps working.

Pure numpy (never imports bpy). The bpy side (``collapse_addon/blender``) only copies what this
module computes into Blender's rigid-body world.

Units: metres, kilograms, seconds, newtons; frames are Blender frames at ``SimulationSpec.fps``.

Glue formula (``glue_thresholds``)
----------------------------------
Bullet breaks a constraint when the impulse it applies within one solver step exceeds its
``breaking_threshold`` (N s). A glued joint of contact area ``A`` (m^2) made of a material with
effective bond strength ``sigma`` (Pa) holds a force ``F = sigma * A * f`` (N), where ``f`` is the
material's ``interface_factor`` for joints between two elements (1 inside one element). In one step
of ``dt = time_scale / (fps * substeps)`` seconds that force is the impulse ``F * dt``, so the
threshold scales with the step: a finer simulation does not make the glue weaker.

A joint must also carry the building's own weight, which the bond strength of a cracked section
alone cannot (a ground-storey column holds hundreds of tonnes on 0.16 m^2). ``static_glue_loads``
routes every shard's weight down the contact graph towards the anchors (each shard hands its load
to neighbours nearer the ground, shared by contact area), and the threshold is the larger of the
bond capacity and ``glue_load_safety`` times that static load. The building therefore carries
itself with a margin, and breaks where a trigger or an impact adds loads several times the
static ones -- which is how a real frame fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import SpecError
from .field_meta import check_fields, spec_field

SOLVERS = ("actors", "glue")
TRIGGER_TYPES = ("none", "demolition", "impact", "explosion", "earthquake")
ELEMENT_KINDS_BREAKABLE = ("column", "beam", "slab", "wall", "mesh")


@dataclass(frozen=True)
class SimulationSpec:
    """How Bullet simulates the collapse: frame range, quality and sleeping.

    The defaults are the optimised settings the benchmark measures against the naive bake
    (``SimulationSpec.naive()``: every shard awake, 10 substeps, 10 iterations).
    """

    solver: str = spec_field("actors", choices=SOLVERS,
                             doc="actors: rigid actors + stress solver (docs/actors.md); glue: "
                                 "Blender's Bullet glue bake")
    frame_start: int = spec_field(1, unit="frame", limits=(0, 1_000_000), integer=True,
                                  doc="First simulated frame")
    frame_end: int = spec_field(120, unit="frame", limits=(1, 1_000_000), integer=True,
                                doc="Last simulated frame (inclusive)")
    fps: int = spec_field(24, unit="1/s", limits=(1, 240), integer=True,
                          doc="Frames per second of the scene")
    substeps: int = spec_field(5, limits=(1, 100), integer=True,
                               doc="Bullet steps per frame (more: stiffer glue, slower bake)")
    solver_iterations: int = spec_field(10, limits=(1, 1000), integer=True,
                                        doc="Constraint solver iterations per step (more: stiffer "
                                            "glue, slower bake)")
    time_scale: float = spec_field(1.0, limits=(0.01, 100.0),
                                   doc="Simulated seconds per real second (below 1: slow motion)")
    gravity: float = spec_field(9.81, unit="m/s^2", limits=(0.0, 100.0),
                                doc="Gravitational acceleration, pointing down -z")
    use_deactivation: bool = spec_field(True,
                                        doc="Let shards that come to rest fall asleep (skipped by the"
                                            " solver until touched)")
    start_asleep: bool = spec_field(True,
                                    doc="Shards start asleep and wake only when something disturbs "
                                        "them")
    deactivate_linear_velocity: float = spec_field(0.4, unit="m/s", limits=(0.0, 100.0),
                                                   doc="Speed under which a shard may fall asleep")
    deactivate_angular_velocity: float = spec_field(0.5, unit="rad/s", limits=(0.0, 100.0),
                                                    doc="Spin under which a shard may fall asleep")
    glue: bool = spec_field(True,
                            doc="Glue touching shards with breakable constraints (off: a pile of "
                                "loose shards)")
    glue_strength_scale: float = spec_field(1.0, limits=(0.0, 1e6),
                                            doc="Multiplier on every material's bond strength")
    glue_load_safety: float = spec_field(4.0, limits=(0.0, 1000.0),
                                         doc="Glue holds at least this many times the static load it "
                                             "carries")
    min_glue_area: float = spec_field(0.002, unit="m^2", limits=(0.0, 100.0),
                                      doc="Contacts smaller than this get no glue (each shard keeps "
                                          "its largest)")
    glue_on_shards: bool = spec_field(True,
                                      doc="Each shard carries one of its glue constraints (fewer "
                                          "empties, faster assembly; the pivot moves to the shard's "
                                          "centroid, which makes the glue a little softer)")
    ground_friction: float = spec_field(0.8, limits=(0.0, 10.0),
                                        doc="Friction coefficient of the ground and foundation")
    ground_size: float = spec_field(0.0, unit="m", limits=(0.0, 100_000.0),
                                    doc="Side of the square ground; 0 sizes it from the building")
    collision_margin: float = spec_field(0.0, unit="m", limits=(0.0, 1.0),
                                         doc="Bullet collision margin of the shards; 0 keeps "
                                             "Blender's embedded default")

    def __post_init__(self):
        check_fields(self)
        if self.frame_end <= self.frame_start:
            raise SpecError("frame_end", f"{self.frame_end} is not after frame_start {self.frame_start}",
                            f"make it at least {self.frame_start + 1}")

    @property
    def frame_count(self) -> int:
        """Number of simulated frames, both ends included."""
        return self.frame_end - self.frame_start + 1

    @property
    def step_seconds(self) -> float:
        """Simulated seconds per Bullet step (what breaking impulses are measured over)."""
        return self.time_scale / (self.fps * self.substeps)

    @property
    def frame_seconds(self) -> float:
        """Simulated seconds per frame."""
        return self.time_scale / self.fps

    def seconds_to_frames(self, seconds: float) -> int:
        """Frames spanning ``seconds`` of simulated time (rounded up)."""
        return int(math.ceil(seconds / self.frame_seconds - 1e-9))

    @classmethod
    def naive(cls, **overrides) -> SimulationSpec:
        """The naive reference: every shard awake all the time, 10 substeps, 10 iterations."""
        base = dict(substeps=10, solver_iterations=10, use_deactivation=False, start_asleep=False)
        base.update(overrides)
        return cls(**base)


@dataclass(frozen=True)
class TriggerSpec:
    """What starts the collapse, at which frame, and each trigger type's parameters.

    ``type``: ``none`` (the building just stands), ``demolition`` (chosen supports lose their glue
    and get a kick), ``impact`` (a heavy ball launched at a target), ``explosion`` (a radial burst of
    speed around a point) or ``earthquake`` (the ground shakes). Points left as ``None`` are placed
    from the building (see ``resolve_trigger``). All randomness comes from ``seed``.
    """

    type: str = spec_field("demolition", choices=TRIGGER_TYPES,
                           doc="Trigger type: none, demolition, impact, explosion or earthquake")
    frame: int = spec_field(24, unit="frame", limits=(0, 1_000_000), integer=True,
                            doc="Frame at which the trigger fires (within the simulated range)")
    seed: int = spec_field(0, limits=(0, 2**63 - 1), integer=True,
                           doc="Random seed of the trigger's choices and jitter")
    # demolition
    demolition_storeys: tuple[int, ...] = spec_field(
        (0,), limits=(0, 999), integer=True,
        allowed="non-empty list of whole numbers 0 to 999 (storey indices, 0: ground storey; "
                "storeys the building lacks select nothing)",
        doc="Storeys whose supports are demolished (0: ground storey)")
    demolition_kinds: tuple[str, ...] = spec_field(
        ("column", "wall"), choices=ELEMENT_KINDS_BREAKABLE,
        allowed="non-empty list of " + ", ".join(f"`{k}`" for k in ELEMENT_KINDS_BREAKABLE),
        doc="Element kinds demolished in those storeys (the supports: columns and load-bearing "
            "walls)")
    demolition_region: tuple[float, float, float, float] | None = spec_field(
        None, unit="m", limits=(-1e5, 1e5), vector="[x0, y0, x1, y1]",
        allowed="[x0, y0, x1, y1] in metres, each -100000 to 100000, x1 > x0 and y1 > y0",
        doc="Plan region [x0, y0, x1, y1] whose supports are demolished; none: all")
    demolition_fraction: float = spec_field(1.0, limits=(0.0, 1.0),
                                            doc="Fraction of the chosen supports demolished (seeded "
                                                "choice)")
    demolition_pulverize: bool = spec_field(True,
                                            doc="Demolished supports are cut by the charges: their "
                                                "pieces no longer touch the building, only the ground")
    demolition_sweep: float = spec_field(0.8, unit="s", limits=(0.0, 60.0),
                                         doc="Delay between the first and the last charge, firing "
                                             "along +x (a sequenced demolition tips the building so "
                                             "it folds instead of dropping in one piece)")
    kick_speed: float = spec_field(2.0, unit="m/s", limits=(0.0, 100.0),
                                   doc="Speed given to demolished shards, outwards with seeded jitter")
    # impact
    impact_mass: float = spec_field(8000.0, unit="kg", limits=(1.0, 1e8),
                                    doc="Mass of the wrecking ball or projectile")
    impact_radius: float = spec_field(0.8, unit="m", limits=(0.05, 50.0), doc="Radius of the ball")
    impact_speed: float = spec_field(15.0, unit="m/s", limits=(0.0, 1000.0),
                                     doc="Launch speed of the ball towards its target")
    impact_start: tuple[float, float, float] | None = spec_field(
        None, unit="m", limits=(-1e5, 1e5), vector=True,
        doc="Where the ball starts; none: 8 m in front of the south facade")
    impact_target: tuple[float, float, float] | None = spec_field(
        None, unit="m", limits=(-1e5, 1e5), vector=True,
        doc="Point the ball is aimed at; none: the south facade's middle, first floor")
    impact_cable: float = spec_field(0.0, unit="m", limits=(0.0, 1000.0),
                                     doc="Actor solver: cable length of a wrecking ball swinging into"
                                         " the target (a pendulum released from rest at the height "
                                         "that gives impact_speed); 0: a free projectile")
    # explosion
    explosion_point: tuple[float, float, float] | None = spec_field(
        None, unit="m", limits=(-1e5, 1e5), vector=True,
        doc="Centre of the blast; none: inside the south facade's middle, first floor")
    explosion_strength: float = spec_field(8.0, unit="m/s", limits=(0.0, 1000.0),
                                           doc="Speed given to shards at the blast centre, falling "
                                               "linearly to 0 at the radius")
    explosion_radius: float = spec_field(2.5, unit="m", limits=(0.01, 1000.0),
                                         doc="Radius of the blast")
    # earthquake
    quake_amplitude: float = spec_field(0.15, unit="m", limits=(0.0, 10.0),
                                        doc="Peak horizontal ground displacement")
    quake_freq_low: float = spec_field(0.5, unit="Hz", limits=(0.05, 50.0),
                                       doc="Lowest frequency of the ground motion")
    quake_freq_high: float = spec_field(3.0, unit="Hz", limits=(0.05, 50.0),
                                        doc="Highest frequency of the ground motion")
    quake_duration: float = spec_field(4.0, unit="s", limits=(0.1, 600.0),
                                       doc="Duration of the shaking, with smooth ramps at both ends")
    quake_vertical_ratio: float = spec_field(0.3, limits=(0.0, 2.0),
                                             doc="Vertical amplitude as a fraction of the horizontal")

    def __post_init__(self):
        if isinstance(self.demolition_kinds, str):
            object.__setattr__(self, "demolition_kinds", (self.demolition_kinds,))
        for name in ("demolition_storeys", "demolition_kinds", "demolition_region", "impact_start",
                     "impact_target", "explosion_point"):
            value = getattr(self, name)
            if isinstance(value, list | np.ndarray):
                object.__setattr__(self, name, tuple(value))
        check_fields(self)
        if not self.demolition_storeys:
            raise SpecError("demolition_storeys", "must list at least one storey",
                            "e.g. [0] for the ground storey")
        if not self.demolition_kinds:
            raise SpecError("demolition_kinds", "must list at least one element kind",
                            f"choose from {', '.join(ELEMENT_KINDS_BREAKABLE)}")
        object.__setattr__(self, "demolition_storeys", tuple(int(s) for s in self.demolition_storeys))
        for name in ("demolition_region", "impact_start", "impact_target", "explosion_point"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(float(v) for v in value))
        region = self.demolition_region
        if region is not None and (region[2] <= region[0] or region[3] <= region[1]):
            raise SpecError("demolition_region", f"must be [x0, y0, x1, y1] with x1 > x0 and y1 > y0, "
                            f"got {region!r}", "give a plan rectangle in metres")
        if self.quake_freq_high <= self.quake_freq_low:
            raise SpecError("quake_freq_high", f"{self.quake_freq_high} Hz is not above quake_freq_low "
                            f"{self.quake_freq_low} Hz", "give a band with high > low")
        if (self.impact_start is not None and self.impact_target is not None
                and np.allclose(self.impact_start, self.impact_target)):
            raise SpecError("impact_target", "is the same point as impact_start",
                            "aim the ball at a point away from where it starts")


def validate_trigger_timing(sim: SimulationSpec, trigger: TriggerSpec) -> None:
    """The trigger must fire inside the simulated range, after the first frame."""
    if trigger.type == "none":
        return
    if not sim.frame_start < trigger.frame <= sim.frame_end:
        raise SpecError("frame", f"trigger frame {trigger.frame} is outside the simulated frames "
                        f"{sim.frame_start + 1}-{sim.frame_end}",
                        "fire it after frame_start and no later than frame_end")


# --------------------------------------------------------------------------------------------
# Bodies: materials, masses, anchors
# --------------------------------------------------------------------------------------------

def shard_material_names(building, shards) -> list[str]:
    """Material preset name of every shard (its element's material)."""
    names = [e.material for e in building.elements]
    return [names[i] for i in shards.element]


def shard_kinds(building, shards) -> np.ndarray:
    """Element kind of every shard, as an array of strings."""
    kinds = np.array([e.kind for e in building.elements])
    return kinds[shards.element]


def shard_storeys(building, shards) -> np.ndarray:
    """Storey of every shard (-1 for the foundation)."""
    storeys = np.array([e.storey for e in building.elements], dtype=np.int64)
    return storeys[shards.element]


def shard_masses(building, shards) -> np.ndarray:
    """Mass of every shard in kg: the element material's density (kg/m^3) x volume (m^3)."""
    from .materials import material

    density = np.array([material(e.material, building.materials).density for e in building.elements])
    return density[shards.element] * shards.volume


def anchor_mask(building, shards) -> np.ndarray:
    """True for passive shards (the foundation): they never move and carry the building."""
    return shard_kinds(building, shards) == "foundation"


# --------------------------------------------------------------------------------------------
# Glue
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Glue:
    """The breakable constraints to create, one per glued shard pair.

    ``contact`` indexes ``shards.contacts``; ``threshold`` is Bullet's breaking impulse per step (N s);
    ``strength`` the bond force the joint holds (N); ``static_load`` the share of the building's
    weight it carries at rest (N).
    """

    pairs: np.ndarray  # (G, 2) int shard indices
    contact: np.ndarray  # (G,) int index into the contact graph
    centroid: np.ndarray  # (G, 3) m, where the constraint's pivot goes
    area: np.ndarray  # (G,) m^2
    strength: np.ndarray  # (G,) N
    static_load: np.ndarray  # (G,) N
    threshold: np.ndarray  # (G,) N s

    @property
    def count(self) -> int:
        return len(self.pairs)


def glued_contacts(shards, passive: np.ndarray, min_area: float) -> np.ndarray:
    """Indices of the contacts that get glue.

    Contacts under ``min_area`` are dropped (they add constraints, hence bake and assembly time,
    for little strength) except each shard's largest contact, so no shard is left loose.
    Contacts between two passive shards need no glue.
    """
    graph = shards.contacts
    if graph.count == 0:
        return np.zeros(0, np.int64)
    keep = graph.area >= min_area
    # each shard's largest contact survives the area cut
    order = np.lexsort((-graph.area,))
    for column in (0, 1):
        ends = graph.pairs[order, column]
        _, first = np.unique(ends, return_index=True)
        keep[order[first]] = True
    keep &= ~(passive[graph.pairs[:, 0]] & passive[graph.pairs[:, 1]])
    return np.nonzero(keep)[0]


def support_distance(shards, passive: np.ndarray) -> np.ndarray:
    """Distance (m) from each shard to the anchors through the contact graph, centroid to centroid.

    ``inf`` for shards with no path to an anchor (they will fall: nothing holds them).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    n = shards.count
    graph = shards.contacts
    if not passive.any():
        return np.full(n, np.inf)
    i, j = graph.pairs.T
    length = np.linalg.norm(shards.centroid[i] - shards.centroid[j], axis=1) + 1e-9
    matrix = coo_matrix((np.concatenate([length, length]), (np.concatenate([i, j]), np.concatenate([j, i]))),
                        shape=(n, n)).tocsr()
    return dijkstra(matrix, directed=False, indices=np.nonzero(passive)[0], min_only=True)


def static_glue_loads(shards, masses: np.ndarray, passive: np.ndarray, contacts: np.ndarray,
                      gravity: float) -> np.ndarray:
    """Weight (N) each listed contact carries when the building stands, by routing loads down.

    Shards are visited from the farthest from the anchors to the nearest; each hands its load
    (its own weight plus what it received) to the neighbours nearer the anchors, shared in
    proportion to contact area; every joint it hands load through is rated for the shard's whole
    load. A statically indeterminate frame has no unique split; this is a plausible, conservative
    load path, used only to keep the glue above what gravity alone asks of it.
    """
    n = shards.count
    graph = shards.contacts
    distance = support_distance(shards, passive)
    load = masses * gravity
    carried = np.zeros(graph.count)
    i, j = graph.pairs.T
    # directed edges from farther to nearer shard
    down_from = np.where(distance[i] > distance[j], i, j)
    down_to = np.where(distance[i] > distance[j], j, i)
    valid = np.isfinite(distance[down_from]) & (distance[down_from] != distance[down_to])
    edges = np.nonzero(valid)[0]
    edges = edges[np.argsort(down_from[edges], kind="stable")]
    starts = np.searchsorted(down_from[edges], np.arange(n + 1))
    area = graph.area
    for s in np.argsort(-np.where(np.isfinite(distance), distance, -1.0), kind="stable"):
        if passive[s] or not np.isfinite(distance[s]):
            continue
        out = edges[starts[s]:starts[s + 1]]
        if len(out) == 0:
            continue
        share = area[out] / area[out].sum()
        # Each joint on the way down must be able to carry the whole load its shard hands on:
        # the solver's split between redundant joints is not the static one, and a joint also
        # carries the moment of what hangs off it.
        carried[out] = load[s]
        np.add.at(load, down_to[out], load[s] * share)
    # A shard resting on the one below presses on it: the contact carries that load, not the glue.
    upper = np.where(shards.centroid[i, 2] > shards.centroid[j, 2], i, j)
    bearing = (np.abs(graph.normal[:, 2]) > 0.7) & (upper == down_from) & valid
    carried[bearing] = 0.0
    # ...and any piece can hang from any one of its joints
    weight = masses * gravity
    carried = np.maximum(carried, np.maximum(weight[i], weight[j]))
    return carried[contacts]


def glue_strengths(building, shards, contacts: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Bond force (N) of each listed contact: strength (Pa) x area (m^2) x interface factor.

    The weaker material of the two shards sets the strength; joints between two elements are
    weakened by that material's ``interface_factor`` (a cold joint is weaker than the element).
    """
    from .materials import material

    elements = building.elements
    table = building.materials
    bond = np.array([material(e.material, table).bond_strength for e in elements])[shards.element]
    factor = np.array([material(e.material, table).interface_factor for e in elements])[shards.element]
    graph = shards.contacts
    a, b = graph.pairs[contacts].T
    sigma = np.minimum(bond[a], bond[b]) * scale
    cross = graph.cross_element[contacts]
    sigma = np.where(cross, sigma * np.minimum(factor[a], factor[b]), sigma)
    return sigma * graph.area[contacts]


def glue_thresholds(strength: np.ndarray, static_load: np.ndarray, sim: SimulationSpec) -> np.ndarray:
    """Bullet breaking impulse per step (N s): ``max(strength, safety x static_load) x dt``.

    ``dt = time_scale / (fps * substeps)`` is one Bullet step, over which Bullet sums the impulse it
    applies to a constraint before comparing it to the threshold.
    """
    force = np.maximum(strength, sim.glue_load_safety * static_load)
    return force * sim.step_seconds


def plan_glue(building, shards, sim: SimulationSpec, masses: np.ndarray | None = None,
              passive: np.ndarray | None = None) -> Glue:
    """Everything the bpy side needs to create the glue constraints."""
    masses = shard_masses(building, shards) if masses is None else masses
    passive = anchor_mask(building, shards) if passive is None else passive
    if not sim.glue:
        empty = np.zeros(0)
        return Glue(np.zeros((0, 2), np.int64), np.zeros(0, np.int64), np.zeros((0, 3)), empty,
                    empty, empty, empty)
    contacts = glued_contacts(shards, passive, sim.min_glue_area)
    strength = glue_strengths(building, shards, contacts, sim.glue_strength_scale)
    load = static_glue_loads(shards, masses, passive, contacts, sim.gravity)
    graph = shards.contacts
    return Glue(graph.pairs[contacts], contacts, graph.centroid[contacts], graph.area[contacts],
                strength, load, glue_thresholds(strength, load, sim))


def constraint_hosts(pairs: np.ndarray, n_shards: int, excluded: np.ndarray,
                     needs_own_object: np.ndarray | None = None) -> np.ndarray:
    """Shard that carries each glue constraint, or -1 where it needs an empty of its own.

    Blender attaches a constraint to an object (its pivot is that object's origin); a shard can
    carry one. Letting shards carry one constraint each saves an empty per shard, and empties
    are what assembly time grows with. ``excluded`` shards (animated ones) carry none;
    ``needs_own_object`` rows (animated constraints) always get an empty.
    """
    used = np.asarray(excluded, bool).copy()
    host = np.full(len(pairs), -1, np.int64)
    skip = np.zeros(len(pairs), bool) if needs_own_object is None else np.asarray(needs_own_object, bool)
    for g, (a, b) in enumerate(pairs):
        if skip[g]:
            continue
        if not used[a]:
            host[g] = a
            used[a] = True
        elif not used[b]:
            host[g] = b
            used[b] = True
    return host


# Re-exported: these moved to their own modules (they import nothing from here at import time).
from .collapse_report import (  # noqa: E402, F401
    broken_glue_fraction,
    free_fall_speed,
    mass_radius,
    quaternion_matrices,
    report_from_transforms,
    top_heights,
)
from .trigger_plan import (  # noqa: E402, F401
    TriggerPlan,
    building_plan_centre,
    demolition_supports,
    earthquake_motion,
    plan_trigger,
    resolve_trigger,
)
