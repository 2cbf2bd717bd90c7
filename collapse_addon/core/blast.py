"""An explosion as a transient load through the stress solver (pure numpy, never bpy).

The trigger plan gives every shard near the charge the speed the blast would give it if it were
free (``explosion_strength`` at the centre, falling to 0 at ``explosion_radius``). The blast's
positive phase lasts a few milliseconds (near-field charges: ~1-10 ms, UFC 3-340-02 ch. 2), far
shorter than the building's answer, so that momentum arrives as a transient force
``F = m v / BLAST_SECONDS`` on each shard: the stress solver takes it by the inertia of the mass
near the charge (``stress_solver.solve_bonds(transient=...)``) and breaks only the bonds that cannot
carry it. What breaks free flies off with the momentum the blast gave its shards; what holds stays
in the building (a strong wall survives a small charge).
"""

from __future__ import annotations

import numpy as np

#: Duration (s) of the blast's positive phase over which its impulse is delivered.
BLAST_SECONDS = 0.005


def blast_forces(n_nodes: int, shards: np.ndarray, velocity: np.ndarray, mass: np.ndarray,
                 seconds: float = BLAST_SECONDS) -> np.ndarray:
    """(N, 3) transient forces: the blast's impulse ``m v`` on each listed shard over ``seconds``."""
    forces = np.zeros((n_nodes, 3))
    shards = np.asarray(shards, np.int64)
    forces[shards] = np.asarray(mass, float)[shards, None] * np.asarray(velocity, float) / seconds
    return forces


def piece_velocity(shards: np.ndarray, mass: np.ndarray, forces: np.ndarray,
                   seconds: float = BLAST_SECONDS) -> np.ndarray:
    """(3,) velocity of a piece freed by the blast: the impulse on its shards over its mass."""
    shards = np.asarray(shards, np.int64)
    return forces[shards].sum(0) * seconds / float(np.asarray(mass, float)[shards].sum())
