"""Debris asleep on the standing building keeps loading it (pure numpy, never bpy).

An actor that comes to rest falls asleep: it is no longer stepped, so it makes no contact forces,
and the standing building would stop feeling its weight (a slab under a heap of rubble would be
judged as if the heap had gone). When an actor falls asleep, its weight is handed to the standing
shards it was pressing on in its last awake frame, shared in proportion to how hard it pressed
each (the downward contact force on them); the load stays until the actor wakes or is gone.
"""

from __future__ import annotations

import numpy as np


def resting_load(pos, radius, shards, static, last_contact, weight) -> tuple[np.ndarray, np.ndarray]:
    """(standing shards, (k, 3) forces) carrying ``weight`` N of an actor made of ``shards``.

    The standing shards within the actor's box (grown by their own radius) that were pushed down
    in ``last_contact`` (N, 3) share the weight in proportion to that push; none: ``(empty, empty)``
    (it rests on the ground or on other debris).
    """
    lo = pos[shards].min(0) - radius[shards].max()
    hi = pos[shards].max(0) + radius[shards].max()
    near = static & np.all((pos >= lo - radius[:, None]) & (pos <= hi + radius[:, None]), axis=1)
    idx = np.nonzero(near)[0]
    push = np.maximum(-np.asarray(last_contact, float)[idx, 2], 0.0)
    keep = push > 0
    if not keep.any():
        return np.zeros(0, np.int64), np.zeros((0, 3))
    idx, push = idx[keep], push[keep]
    forces = np.zeros((len(idx), 3))
    forces[:, 2] = -float(weight) * push / push.sum()
    return idx, forces
