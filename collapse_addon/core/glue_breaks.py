"""Break events of Blender's glue bake, derived from the baked transforms (pure numpy, never bpy).

Blender's breakable constraints do not report when they let go, so the glue bake infers it the way
the collapse report does (``physics.broken_glue_fraction``): each bond's pivot is carried by both of
its shards from the first frame, and the bond counts as broken from the first frame at which the two
copies are more than ``tolerance`` apart. The same rule and tolerance give the same count, so the
events of a bake match the report's broken fraction exactly.

Each event lies on the shared contact face: its position is the pivot (the contact face's centroid)
carried by the first shard at the break frame, its normal the face normal turned with that shard.
The impulse is an estimate: the reduced mass of the pair times the relative speed of the two pivot
copies over the break frame (the momentum the bond no longer held back).
"""

from __future__ import annotations

import numpy as np

from .break_events import BreakEvents

#: Separation (m) of a bond's two pivot copies that counts as broken (the report's tolerance).
BREAK_TOLERANCE = 0.02


def first_break_frames(rotations: np.ndarray, positions: np.ndarray, pairs: np.ndarray,
                       pivots: np.ndarray, tolerance: float = BREAK_TOLERANCE):
    """Index (into the frames) of each bond's first broken frame, -1 for bonds that held.

    Also returns the world pivot copies carried by each shard at that frame and the one before,
    ``(first, at_a, at_b, before_a, before_b)`` with (G, 3) arrays (zeros for bonds that held).
    """
    g = len(pairs)
    first = np.full(g, -1, np.int64)
    at_a, at_b, before_a, before_b = (np.zeros((g, 3)) for _ in range(4))
    if g == 0:
        return first, at_a, at_b, before_a, before_b
    a, b = np.asarray(pairs, np.int64).T
    r0, p0 = rotations[0], positions[0]
    local_a = np.einsum("gji,gj->gi", r0[a], pivots - p0[a])  # R^T (c - x)
    local_b = np.einsum("gji,gj->gi", r0[b], pivots - p0[b])
    prev_a = prev_b = None
    for f in range(len(positions)):
        wa = np.einsum("gij,gj->gi", rotations[f][a], local_a) + positions[f][a]
        wb = np.einsum("gij,gj->gi", rotations[f][b], local_b) + positions[f][b]
        new = (first < 0) & (np.linalg.norm(wa - wb, axis=1) > tolerance)
        if new.any():
            first[new] = f
            at_a[new], at_b[new] = wa[new], wb[new]
            before_a[new] = (prev_a if prev_a is not None else wa)[new]
            before_b[new] = (prev_b if prev_b is not None else wb)[new]
        prev_a, prev_b = wa, wb
    return first, at_a, at_b, before_a, before_b


def glue_break_events(positions: np.ndarray, rotations: np.ndarray, *, pairs: np.ndarray,
                      pivots: np.ndarray, normals: np.ndarray, masses: np.ndarray,
                      passive: np.ndarray, materials, frame_start: int, fps: float,
                      tolerance: float = BREAK_TOLERANCE) -> BreakEvents:
    """One ``BreakEvents`` row per glue bond that broke during the bake, ordered by time.

    ``positions`` (F, S, 3) and ``rotations`` (F, S, 3, 3): the shards' baked transforms at every
    frame from ``frame_start``; ``pairs`` (G, 2), ``pivots`` (G, 3) and ``normals`` (G, 3, from the
    first shard to the second): the bonds at rest; ``masses`` (S,) kg; ``passive`` (S,) bool
    (anchors: infinite mass); ``materials`` (S,) material preset name of every shard.
    """
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    first, at_a, at_b, before_a, before_b = first_break_frames(
        rotations, positions, pairs, np.asarray(pivots, float).reshape(-1, 3), tolerance)
    broken = np.nonzero(first >= 0)[0]
    broken = broken[np.lexsort((broken, first[broken]))]  # by frame, then bond order
    k = first[broken]
    a, b = pairs[broken, 0], pairs[broken, 1]
    normal = np.einsum("gij,gj->gi", rotations[k, a], np.asarray(normals, float)[broken])
    normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
    masses = np.asarray(masses, float)
    passive = np.asarray(passive, bool)
    # reduced mass m_a m_b / (m_a + m_b); an anchor counts as infinitely heavy (1/m = 0)
    inv = (np.where(passive[a], 0.0, 1.0 / np.maximum(masses[a], 1e-12))
           + np.where(passive[b], 0.0, 1.0 / np.maximum(masses[b], 1e-12)))
    reduced = np.divide(1.0, inv, out=np.zeros_like(inv), where=inv > 0)
    relative = (at_a[broken] - before_a[broken]) - (at_b[broken] - before_b[broken])
    impulse = reduced * np.linalg.norm(relative, axis=1) * fps
    materials = np.asarray(materials, dtype=str)
    frames = frame_start + k
    return BreakEvents(
        time=(frames - frame_start) / float(fps), frame=frames.astype(np.int64),
        position=at_a[broken], normal=normal, impulse=impulse, shard_a=a, shard_b=b,
        material_a=materials[a] if len(a) else np.zeros(0, str),
        material_b=materials[b] if len(b) else np.zeros(0, str),
        cause=np.full(len(broken), "glue"))
