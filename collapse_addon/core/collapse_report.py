"""Report maths from baked transforms: drift, fall, broken glue, debris spread, speeds.

Pure numpy (never imports bpy). Split out of ``physics.py``; the names are re-exported there.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .physics import Glue, SimulationSpec


def quaternion_matrices(quaternions: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) from unit quaternions (..., 4) in (w, x, y, z) order."""
    q = quaternions / np.linalg.norm(quaternions, axis=-1, keepdims=True)
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def broken_glue_fraction(rotations: np.ndarray, positions: np.ndarray, pairs: np.ndarray,
                         pivots: np.ndarray, tolerance: float = 0.02) -> np.ndarray:
    """Fraction of glue joints broken at each frame, from the shards' baked transforms.

    A joint counts as broken once the two copies of its pivot (carried by each shard from the
    first frame) have separated by more than ``tolerance`` metres: intact glue keeps them together
    to within millimetres. ``rotations`` (F, S, 3, 3), ``positions`` (F, S, 3), ``pairs`` (G, 2),
    ``pivots`` (G, 3) at the first frame.
    """
    if len(pairs) == 0:
        return np.zeros(len(positions))
    a, b = pairs.T
    r0, p0 = rotations[0], positions[0]
    local_a = np.einsum("gji,gj->gi", r0[a], pivots - p0[a])  # R^T (c - x)
    local_b = np.einsum("gji,gj->gi", r0[b], pivots - p0[b])
    broken = np.zeros(len(pairs), bool)
    out = np.empty(len(positions))
    for f in range(len(positions)):
        wa = np.einsum("gij,gj->gi", rotations[f][a], local_a) + positions[f][a]
        wb = np.einsum("gij,gj->gi", rotations[f][b], local_b) + positions[f][b]
        broken |= np.linalg.norm(wa - wb, axis=1) > tolerance
        out[f] = broken.mean()
    return out


def mass_radius(points_xy: np.ndarray, masses: np.ndarray, centre_xy: np.ndarray,
                fraction: float = 0.95) -> float:
    """Smallest radius around ``centre_xy`` holding ``fraction`` of the mass (m)."""
    r = np.linalg.norm(points_xy - centre_xy, axis=1)
    order = np.argsort(r)
    cumulative = np.cumsum(masses[order]) / masses.sum()
    return float(r[order][np.searchsorted(cumulative, fraction - 1e-12)])


def free_fall_speed(height: float, gravity: float) -> float:
    """Speed (m/s) after falling ``height`` metres from rest."""
    return math.sqrt(2 * gravity * max(height, 0.0))


def top_heights(positions: np.ndarray, rotations: np.ndarray, local_vertices: np.ndarray,
                vertex_shard: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """Height of the highest shard corner at each frame (m), corners carried by each shard's motion.

    ``local_vertices`` (V, 3) are corners relative to their shard's centroid at rest,
    ``vertex_shard`` (V,) their shard; only shards where ``moving`` is True count.
    """
    keep = moving[vertex_shard]
    verts, owner = local_vertices[keep], vertex_shard[keep]
    if len(verts) == 0:
        return np.zeros(len(positions))
    out = np.empty(len(positions))
    for f in range(len(positions)):
        z = positions[f, owner, 2] + np.einsum("vk,vk->v", rotations[f, owner, 2, :], verts)
        out[f] = z.max()
    return out


def report_from_transforms(positions: np.ndarray, rotations: np.ndarray, *, masses: np.ndarray,
                           passive: np.ndarray, glue: Glue, sim: SimulationSpec,
                           trigger_frame: int | None, trigger_speed: float, roof_height: float,
                           ground_height: float, plan_centre: np.ndarray,
                           local_vertices: np.ndarray | None = None,
                           vertex_shard: np.ndarray | None = None) -> dict:
    """The collapse report's numbers from baked transforms.

    ``positions`` (F, S, 3) are shard centroids (object origins) at every simulated frame from
    ``sim.frame_start``; ``rotations`` (F, S, 3, 3). ``local_vertices`` (V, 3) and ``vertex_shard``
    (V,) are the shards' corners around their centroids, for the height of the building's top
    (the highest corner; the highest centroid when omitted).
    Speeds are finite differences over one frame of simulated time.
    """
    frames = np.arange(sim.frame_start, sim.frame_start + len(positions))
    moving = ~passive
    displacement = np.linalg.norm(positions - positions[0], axis=2)[:, moving]
    if trigger_frame is None:
        before = np.ones(len(frames), bool)
    else:
        before = frames < trigger_frame  # transforms at frames < trigger are untouched by it
    drift = float(displacement[before].max()) if before.any() and displacement.size else 0.0
    drift_2s_frames = before & (frames - sim.frame_start <= sim.seconds_to_frames(2.0))
    drift_2s = float(displacement[drift_2s_frames].max()) if drift_2s_frames.any() and displacement.size else 0.0
    if len(positions) > 1:
        speed = np.linalg.norm(np.diff(positions[:, moving], axis=0), axis=2) / sim.frame_seconds
        speed_per_frame = speed.max(axis=1) if speed.size else np.zeros(len(frames) - 1)
    else:
        speed_per_frame = np.zeros(0)
    if local_vertices is None or vertex_shard is None:
        local_vertices, vertex_shard = np.zeros((len(masses), 3)), np.arange(len(masses))
    top_height = top_heights(positions, rotations, local_vertices, vertex_shard, moving) - ground_height
    broken = broken_glue_fraction(rotations, positions, glue.pairs, glue.centroid)
    fall_speed = free_fall_speed(roof_height - ground_height + 1.0, sim.gravity)
    limit = 1.5 * (fall_speed + trigger_speed)
    height0 = float(top_height[0])
    after_4s = None
    if trigger_frame is not None:
        window = (frames >= trigger_frame) & (frames <= trigger_frame + sim.seconds_to_frames(4.0))
        if window.any():
            after_4s = float(top_height[window].min())
    return {
        "frames": [int(frames[0]), int(frames[-1])],
        "shards": int(len(masses)),
        "glue_joints": int(glue.count),
        "pre_trigger_drift_m": drift,
        "drift_first_2s_m": drift_2s,
        "max_speed_m_s": float(speed_per_frame.max()) if speed_per_frame.size else 0.0,
        "speed_limit_m_s": limit,
        "max_speed_per_frame_m_s": [float(v) for v in speed_per_frame],
        "glue_broken_fraction": [float(v) for v in broken],
        "top_height_m": [float(v) for v in top_height],
        "top_height_start_m": height0,
        "top_height_min_4s_after_trigger_m": after_4s,
        "top_drop_fraction_4s": (None if after_4s is None or height0 <= 0
                                 else float((height0 - after_4s) / height0)),
        "debris_radius_95_m": mass_radius(positions[-1, :, :2], masses, plan_centre[:2]),
        "footprint_radius_95_m": mass_radius(positions[0, :, :2], masses, plan_centre[:2]),
    }
