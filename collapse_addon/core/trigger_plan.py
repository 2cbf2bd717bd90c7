"""Trigger plans: what each trigger (demolition, impact, explosion, earthquake) does, and when.

Pure numpy (never imports bpy). Split out of ``physics.py`` (settings and glue stay there); the
names are re-exported by ``physics`` for callers that import them from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .physics import Glue, SimulationSpec, TriggerSpec


@dataclass(frozen=True)
class TriggerPlan:
    """What the bpy side animates at ``frame`` for a trigger.

    ``kicked`` shards are held (kinematic) until ``frame``, then released with ``kick_velocity``
    (m/s); ``pulverized`` kicked shards collide only with the ground and each other; glue rows ``unglue`` are switched off at ``frame``. ``ball``: mass (kg), radius (m),
    start (m) and launch velocity (m/s) of the impact body. ``ground_motion``: ground displacement
    (m) at every simulated frame, for an earthquake. ``max_speed``: the fastest speed the trigger
    itself gives anything (m/s), for the energy check.
    """

    type: str
    frame: int
    kicked: np.ndarray
    kick_velocity: np.ndarray
    unglue: np.ndarray
    ball: dict | None = None
    ground_motion: np.ndarray | None = None
    max_speed: float = 0.0
    pulverized: bool = False  # kicked shards stop colliding with the building (only the ground)
    # glue rows in ``unglue`` that cannot break before they are switched off: they hold the
    # building up on supports that no longer touch it (pulverized), as the intact columns did
    hold_until_switched_off: bool = False
    kick_frame: np.ndarray | None = None  # (K,) frame of each kick; None: all at ``frame``
    unglue_frame: np.ndarray | None = None  # (U,) frame each glue row is switched off

    def kick_frames(self) -> np.ndarray:
        """Frame of every kick."""
        return np.full(len(self.kicked), self.frame) if self.kick_frame is None else self.kick_frame

    def unglue_frames(self) -> np.ndarray:
        """Frame every listed glue row is switched off."""
        return np.full(len(self.unglue), self.frame) if self.unglue_frame is None else self.unglue_frame


def _rng(trigger: TriggerSpec) -> np.random.Generator:
    from .physics import TRIGGER_TYPES

    return np.random.default_rng(np.random.SeedSequence([trigger.seed, TRIGGER_TYPES.index(trigger.type)]))


def building_plan_centre(building) -> np.ndarray:
    """Centre of the building's footprint (x, y) at ground level (z = 0)."""
    lo, hi = building.lo, building.hi
    return np.array([0.5 * (lo[0] + hi[0]), 0.5 * (lo[1] + hi[1]), 0.0])


def _storey_height(building) -> float:
    spec = getattr(building, "spec", None)
    return spec.storey_height if spec is not None else max(1.0, float(building.hi[2]) / 4)


def resolve_trigger(building, trigger: TriggerSpec) -> TriggerSpec:
    """Fill the points left as ``None`` from the building's bounds."""
    from dataclasses import replace

    centre = building_plan_centre(building)
    h = _storey_height(building)
    south = float(building.lo[1])
    values = {}
    if trigger.impact_target is None:
        values["impact_target"] = (float(centre[0]), south, 1.5 * h)
    if trigger.impact_start is None:
        target = values.get("impact_target", trigger.impact_target)
        values["impact_start"] = (float(target[0]), south - 8.0, float(target[2]))
    if trigger.explosion_point is None:
        values["explosion_point"] = (float(centre[0]), south + 1.0, 1.5 * h)
    return replace(trigger, **values) if values else trigger


def _glue_touching(glue: Glue, shards_idx: np.ndarray, n: int) -> np.ndarray:
    mask = np.zeros(n, bool)
    mask[shards_idx] = True
    return np.nonzero(mask[glue.pairs[:, 0]] | mask[glue.pairs[:, 1]])[0]


def demolition_supports(building, shards, trigger: TriggerSpec, passive: np.ndarray) -> np.ndarray:
    """Shards of the supports a demolition removes: chosen kinds and storeys, in the region."""
    rng = _rng(trigger)
    chosen = []
    for e in building.elements:
        if e.kind not in trigger.demolition_kinds or e.storey not in trigger.demolition_storeys:
            continue
        if trigger.demolition_region is not None:
            x0, y0, x1, y1 = trigger.demolition_region
            cx, cy = e.centroid[:2]
            if not (x0 <= cx <= x1 and y0 <= cy <= y1):
                continue
        chosen.append(e.index)
    chosen = np.array(chosen, np.int64)
    if len(chosen) and trigger.demolition_fraction < 1.0:
        count = int(round(trigger.demolition_fraction * len(chosen)))
        chosen = np.sort(rng.choice(chosen, size=count, replace=False)) if count else chosen[:0]
    return np.nonzero(np.isin(shards.element, chosen) & ~passive)[0]


def earthquake_motion(trigger: TriggerSpec, sim: SimulationSpec, components: int = 24) -> np.ndarray:
    """Ground displacement (m), shape (frames, 3), for every simulated frame.

    A seeded sum of ``components`` sinusoids with frequencies uniform in the band, random phases
    and directions, under a Tukey window (cosine ramps over the first and last 20 % of the
    duration) so the ground starts and stops at rest; scaled so the peak horizontal displacement
    equals ``quake_amplitude`` and the peak vertical one ``quake_vertical_ratio`` times that.
    Zero before the trigger frame and after the duration.
    """
    rng = _rng(trigger)
    freq = rng.uniform(trigger.quake_freq_low, trigger.quake_freq_high, size=(3, components))
    phase = rng.uniform(0, 2 * np.pi, size=(3, components))
    weight = rng.uniform(0.5, 1.0, size=(3, components))
    frames = np.arange(sim.frame_start, sim.frame_end + 1)
    t = (frames - trigger.frame) * sim.frame_seconds
    # fine sampling for the normalisation, so the peak is the peak between frames too
    fine = np.linspace(0, trigger.quake_duration, max(64, int(trigger.quake_duration * 200)))
    fine = np.concatenate([fine, t[(t >= 0) & (t <= trigger.quake_duration)]])

    def signal(times):
        waves = weight[:, :, None] * np.sin(2 * np.pi * freq[:, :, None] * times + phase[:, :, None])
        return waves.sum(1) * _tukey(times, trigger.quake_duration)

    peak = signal(fine)
    horizontal_peak = np.max(np.hypot(peak[0], peak[1])) or 1.0
    vertical_peak = np.max(np.abs(peak[2])) or 1.0
    out = signal(t).T
    out[:, :2] *= trigger.quake_amplitude / horizontal_peak
    out[:, 2] *= trigger.quake_amplitude * trigger.quake_vertical_ratio / vertical_peak
    return out


def _tukey(t: np.ndarray, duration: float, taper: float = 0.2) -> np.ndarray:
    ramp = taper * duration
    w = np.ones_like(t)
    rising = t < ramp
    falling = t > duration - ramp
    w[rising] = 0.5 * (1 - np.cos(np.pi * np.clip(t[rising], 0, None) / ramp))
    w[falling] = 0.5 * (1 - np.cos(np.pi * np.clip(duration - t[falling], 0, None) / ramp))
    w[(t < 0) | (t > duration)] = 0.0
    return w


def plan_trigger(building, shards, sim: SimulationSpec, trigger: TriggerSpec, glue: Glue,
                 passive: np.ndarray | None = None) -> TriggerPlan:
    """Turn a trigger into per-shard kicks, glue to switch off, a ball or a ground motion."""
    from .physics import anchor_mask, validate_trigger_timing

    validate_trigger_timing(sim, trigger)
    trigger = resolve_trigger(building, trigger)
    passive = anchor_mask(building, shards) if passive is None else passive
    n = shards.count
    none = np.zeros(0, np.int64)
    rng = _rng(trigger)
    if trigger.type == "none":
        return TriggerPlan("none", trigger.frame, none, np.zeros((0, 3)), none)
    if trigger.type == "demolition":
        kicked = demolition_supports(building, shards, trigger, passive)
        centre = building_plan_centre(building)
        outward = shards.centroid[kicked] - centre
        outward[:, 2] = 0.0
        outward /= np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-9)
        jitter = rng.normal(size=(len(kicked), 3)) * 0.5
        jitter[:, 2] *= 0.3
        direction = outward + jitter
        direction /= np.maximum(np.linalg.norm(direction, axis=1, keepdims=True), 1e-9)
        velocity = direction * trigger.kick_speed
        # charges fire in sequence along +x over ``demolition_sweep`` seconds
        x = shards.centroid[kicked, 0]
        span = np.ptp(x) if len(x) else 0.0
        along = (x - x.min()) / span if span > 0 else np.zeros(len(x))
        kick_frame = trigger.frame + np.round(along * trigger.demolition_sweep / sim.frame_seconds).astype(np.int64)
        kick_frame = np.minimum(kick_frame, sim.frame_end - 1)
        unglue = _glue_touching(glue, kicked, n)
        frame_of = np.full(n, np.iinfo(np.int64).max)
        frame_of[kicked] = kick_frame
        unglue_frame = np.minimum(frame_of[glue.pairs[unglue, 0]], frame_of[glue.pairs[unglue, 1]])
        return TriggerPlan("demolition", trigger.frame, kicked, velocity, unglue,
                           max_speed=trigger.kick_speed, pulverized=trigger.demolition_pulverize,
                           hold_until_switched_off=trigger.demolition_pulverize,
                           kick_frame=kick_frame, unglue_frame=unglue_frame)
    if trigger.type == "explosion":
        point = np.asarray(trigger.explosion_point)
        offset = shards.centroid - point
        distance = np.linalg.norm(offset, axis=1)
        speed = trigger.explosion_strength * np.clip(1 - distance / trigger.explosion_radius, 0, None)
        kicked = np.nonzero((speed > 0.02 * trigger.explosion_strength) & ~passive)[0]
        direction = offset[kicked] / np.maximum(distance[kicked], 1e-9)[:, None]
        at_centre = distance[kicked] < 1e-6
        if at_centre.any():
            random = rng.normal(size=(int(at_centre.sum()), 3))
            direction[at_centre] = random / np.linalg.norm(random, axis=1, keepdims=True)
        velocity = direction * speed[kicked, None]
        return TriggerPlan("explosion", trigger.frame, kicked, velocity,
                           _glue_touching(glue, kicked, n), max_speed=trigger.explosion_strength)
    if trigger.type == "impact":
        start = np.asarray(trigger.impact_start)
        target = np.asarray(trigger.impact_target)
        span = target - start
        flight = np.linalg.norm(span) / max(trigger.impact_speed, 1e-9)
        # aim so the ballistic path reaches the target after |span| / speed seconds
        velocity = span / flight + np.array([0, 0, 0.5 * sim.gravity * flight])
        ball = {"mass": trigger.impact_mass, "radius": trigger.impact_radius,
                "start": start, "velocity": velocity}
        return TriggerPlan("impact", trigger.frame, none, np.zeros((0, 3)), none, ball=ball,
                           max_speed=float(np.linalg.norm(velocity) + sim.gravity * flight))
    motion = earthquake_motion(trigger, sim)
    speed = np.linalg.norm(np.diff(motion, axis=0), axis=1) / sim.frame_seconds if len(motion) > 1 else np.zeros(1)
    return TriggerPlan("earthquake", trigger.frame, none, np.zeros((0, 3)), none,
                       ground_motion=motion, max_speed=float(speed.max()))
