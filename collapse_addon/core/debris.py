"""Rubble and dust from break events: ballistic points in numpy (pure, never bpy).

Only the break events are read (position, normal, time, impulse, materials), so the emission works
with any solver that writes them. Each emitted point carries its whole motion (see
``blender/gn.py``): rubble leaves the break along the face normal and lands on the ground plane
(its flight ends at the exact landing time, so it rests on the ground); dust puffs out slowly,
rises a little and grows, then settles and thins out. Nothing is stored per frame.

Amounts follow the quality knob: ``QUALITY`` gives rubble fragments and dust puffs per shard of the
building, shared among the events by weight (impulse and material: concrete and masonry dusty,
steel and glass not; glass breaks into more small pieces, steel into none).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .break_events import BreakEvents

#: quality -> (rubble fragments per shard, dust puffs per shard)
QUALITY = {"off": (0.0, 0.0), "low": (6.0, 0.5), "medium": (16.0, 1.5), "high": (40.0, 4.0)}
#: how much rubble and dust a break of each material makes (relative)
RUBBLE_WEIGHT = {"reinforced_concrete": 1.0, "concrete": 1.0, "masonry": 1.2, "timber": 0.4,
                 "steel": 0.0, "glass": 1.5}
DUST_WEIGHT = {"reinforced_concrete": 1.0, "concrete": 1.0, "masonry": 1.4, "timber": 0.2,
               "steel": 0.0, "glass": 0.0}
GRAVITY = 9.81
GROWTH = (2.0, 4.0)  # s: a dust puff grows to full size
FADE = (3.0, 6.0)  # s: then settles and thins out to nothing
SETTLING = (0.07, 0.35)  # m/s: Stokes settling of 30-70 um particles of density 2,400 kg/m^3 in air
DUST_VOLUME = 2.0  # the dust at full size fills at most this many times the building's box
SHAPES = 4  # distinct fragment meshes per material


@dataclass(frozen=True)
class Points:
    """N emitted points with their motion (the attributes of ``blender/gn.py``) and material."""

    p0: np.ndarray  # (N, 3) m
    v0: np.ndarray  # (N, 3) m/s
    acc: np.ndarray  # (N, 3) m/s^2
    t0: np.ndarray  # (N,) scene seconds when it appears
    t1: np.ndarray  # (N,) scene seconds when it stops
    r0: np.ndarray  # (N,) m, radius (rubble: scale) at t0
    grow: np.ndarray  # (N,) m/s^0.5: radius r0 + grow sqrt(tau) (a turbulent puff spreads fast, then slows)
    rot0: np.ndarray  # (N, 3) rad
    spin: np.ndarray  # (N, 3) rad/s
    shape: np.ndarray  # (N,) fragment index
    material: np.ndarray  # (N,) str
    t2: np.ndarray | None = None  # (N,) dust: gone (settled and thinned out) at t2; None: never
    sink: np.ndarray | None = None  # (N,) dust: settling speed after t1, m/s

    @property
    def count(self) -> int:
        return len(self.t0)

    def at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Positions and a mask of the points that exist at scene time ``t`` (what GN computes)."""
        tau = np.clip(t - self.t0, 0.0, self.t1 - self.t0)[:, None]
        pos = self.p0 + self.v0 * tau + 0.5 * self.acc * tau**2
        if self.t2 is None:
            return pos, t >= self.t0
        pos[:, 2] -= self.sink * np.maximum(t - self.t1, 0.0)
        return pos, (t >= self.t0) & (t < self.t2)

    def radius(self, t: float) -> np.ndarray:
        """Radius at scene time ``t`` (dust: shrinks to nothing from t1 to t2 as it thins out)."""
        r = self.r0 + self.grow * np.sqrt(np.clip(t - self.t0, 0.0, self.t1 - self.t0))
        if self.t2 is None:
            return r
        return r * np.clip((self.t2 - t) / (self.t2 - self.t1), 0.0, 1.0)

    def select(self, mask: np.ndarray) -> Points:
        return Points(**{k: (None if v is None else v[mask]) for k, v in self.__dict__.items()})


def event_weights(events: BreakEvents, table: dict[str, float]) -> np.ndarray:
    """Weight of each event: the mean material factor of its two shards, times a gentle impulse
    factor (square root of impulse over the median, from 0.25 to 4)."""
    if events.count == 0:
        return np.zeros(0)
    mat = 0.5 * (np.array([table.get(str(m), 0.5) for m in events.material_a])
                 + np.array([table.get(str(m), 0.5) for m in events.material_b]))
    impulse = np.asarray(events.impulse, float)
    ref = float(np.median(impulse[impulse > 0])) if (impulse > 0).any() else 1.0
    return mat * np.clip(np.sqrt(np.maximum(impulse, 0.0) / ref), 0.25, 4.0)


def allocate(weights: np.ndarray, total: int) -> np.ndarray:
    """Whole counts per event that add up to ``total`` exactly, each the floor or the ceiling of
    its share of ``total`` by ``weights`` (systematic sampling in event order, so when there are
    fewer points than events they still spread over the whole collapse, from its first breaks);
    zero everywhere when every weight is zero."""
    weights = np.asarray(weights, float)
    if total <= 0 or weights.sum() <= 0:
        return np.zeros(len(weights), np.int64)
    edges = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * total
    picks = np.searchsorted(edges, np.arange(total) + 0.5, side="right") - 1
    return np.bincount(np.clip(picks, 0, len(weights) - 1), minlength=len(weights)).astype(np.int64)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def _outward(points: np.ndarray, centre) -> np.ndarray:
    """Horizontal unit vectors from the building's plan centre towards ``points``."""
    d = np.asarray(points, float).copy()
    d[:, :2] -= np.asarray(centre, float)[:2]
    d[:, 2] = 0.0
    return _unit(d + 1e-9)


def _origin(events: BreakEvents, counts: np.ndarray, fps: float, rng) -> tuple:
    idx = np.repeat(np.arange(events.count), counts)
    n = len(idx)
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)[:, None]  # out of either shard
    normal = events.normal[idx] * side
    pick_b = side[:, 0] < 0
    material = np.where(pick_b, events.material_b[idx], events.material_a[idx])
    t0 = events.frame[idx] / float(fps) + rng.random(n) / float(fps)  # spread over the frame
    return idx, normal, material, t0


def rubble_points(events: BreakEvents, shard_count: int, quality: str, *, ground_z: float,
                  size: float, fps: float, rng: np.random.Generator, centre=(0.0, 0.0)) -> Points:
    """Rubble fragments: ``QUALITY[quality][0]`` per shard, shared among the events by weight;
    thrown out of the break (and out of the building, away from ``centre``), ballistic until they
    land on the ground plane at ``ground_z``."""
    total = int(round(QUALITY[quality][0] * shard_count)) if events.count else 0
    counts = allocate(event_weights(events, RUBBLE_WEIGHT), total)
    idx, normal, material, t0 = _origin(events, counts, fps, rng)
    n = len(idx)
    radius = size * 0.5 * np.exp(rng.normal(0.0, 0.45, n))
    radius = np.where(material == "glass", 0.5 * radius, radius)
    jitter = rng.normal(0.0, 0.15, (n, 3))
    p0 = events.position[idx] + jitter + normal * radius[:, None]
    p0[:, 2] = np.maximum(p0[:, 2], ground_z + radius)
    speed = (1.0 + 1.5 * rng.random(n)) * np.clip(np.sqrt(event_weights(events, RUBBLE_WEIGHT)[idx]
                                                          + 0.1), 0.5, 2.5)
    v0 = _unit(normal + _outward(p0, centre) + 0.6 * rng.normal(0.0, 1.0, (n, 3))) * speed[:, None]
    acc = np.tile([0.0, 0.0, -GRAVITY], (n, 1))
    height = p0[:, 2] - (ground_z + 0.5 * radius)  # centre of a resting fragment
    vz = v0[:, 2]
    flight = (vz + np.sqrt(vz**2 + 2.0 * GRAVITY * np.maximum(height, 0.0))) / GRAVITY
    return Points(p0=p0, v0=v0, acc=acc, t0=t0, t1=t0 + flight, r0=radius, grow=np.zeros(n),
                  rot0=rng.uniform(0.0, 2 * np.pi, (n, 3)), spin=rng.normal(0.0, 6.0, (n, 3)),
                  shape=rng.integers(0, SHAPES, n).astype(np.float64), material=material)


def dust_points(events: BreakEvents, shard_count: int, quality: str, *, ground_z: float,
                size: float, fps: float, rng: np.random.Generator, centre=(0.0, 0.0),
                max_volume: float | None = None) -> Points:
    """Dust puffs: ``QUALITY[quality][1]`` per shard, only from dusty materials, at most as many as
    fill ``max_volume`` (m^3; ``DUST_VOLUME`` x the building's box) at full size; they roll out of
    the building (away from ``centre``), slow down, rise a little and grow to ``size`` over
    ``GROWTH`` s, then settle (``SETTLING`` m/s, Stokes speeds of 30-70 um concrete dust) and thin
    out, shrinking to nothing over ``FADE`` s."""
    total = int(round(QUALITY[quality][1] * shard_count)) if events.count else 0
    if max_volume is not None:
        total = min(total, int(max_volume / (4.0 / 3.0 * np.pi * size**3)) + 1)
    counts = allocate(event_weights(events, DUST_WEIGHT), total)
    idx, normal, material, t0 = _origin(events, counts, fps, rng)
    n = len(idx)
    life = rng.uniform(*GROWTH, n)
    p0 = events.position[idx] + rng.normal(0.0, 0.2, (n, 3))
    drift = _unit(0.5 * normal + _outward(p0, centre) + rng.normal(0.0, 0.5, (n, 3)))
    drift[:, 2] = np.abs(drift[:, 2]) * 0.3
    v0 = drift * rng.uniform(1.0, 4.0, n)[:, None]
    acc = np.tile([0.0, 0.0, 0.08], (n, 1)) - v0 / life[:, None]  # slows down, rises a little
    r0 = 0.2 * size * rng.uniform(0.6, 1.4, n)
    p0[:, 2] = np.maximum(p0[:, 2], ground_z + r0)
    return Points(p0=p0, v0=v0, acc=acc, t0=t0, t1=t0 + life, r0=r0,
                  grow=(size * rng.uniform(0.7, 1.3, n) - r0) / np.sqrt(life), rot0=np.zeros((n, 3)),
                  spin=np.zeros((n, 3)), shape=np.zeros(n), material=material,
                  t2=t0 + life + rng.uniform(*FADE, n), sink=rng.uniform(*SETTLING, n))


def fragment_shapes(rng: np.random.Generator, count: int = SHAPES, corners: int = 14):
    """``count`` small convex rock shapes of unit size: (vertices (V, 3), triangles (T, 3)) each,
    the convex hull of random points on a squashed sphere, outward-facing triangles."""
    from scipy.spatial import ConvexHull

    shapes = []
    for _ in range(count):
        pts = _unit(rng.normal(0.0, 1.0, (corners, 3))) * rng.uniform(0.6, 1.0, (corners, 1))
        pts *= rng.uniform(0.5, 1.0, 3)  # flaky, not round
        hull = ConvexHull(pts)
        tris = hull.simplices.copy()
        centre = pts[hull.vertices].mean(0)
        a, b, c = pts[tris[:, 0]], pts[tris[:, 1]], pts[tris[:, 2]]
        flip = np.einsum("ij,ij->i", np.cross(b - a, c - a), a - centre) < 0
        tris[flip] = tris[flip][:, ::-1]
        used, inverse = np.unique(tris, return_inverse=True)
        shapes.append((pts[used] - centre, inverse.reshape(-1, 3)))
    return shapes
