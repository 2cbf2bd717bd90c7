"""Crush-down: a storey that gives way under a falling block takes only the impulse it can carry.

Pure numpy (never bpy). The actor solver's contacts are penalty springs: when a falling block lands,
they stop it within a frame or two, and only then does the stress solver judge the block under
that contact load and break the bonds of the storey that took it (the crushed shards). Without a
correction the block has already lost the momentum that the crushed storey could never have taken
from it: it stops at every storey and falls again from rest, so a 14-storey tower comes down at a
few metres per second instead of crushing down with growing speed.

Principle: a member that fails transmits at most its capacity. The stress solver's first solve
of the landing gives the worst bond utilisation ``u`` under the contact load; the structure could
carry only ``1 / u`` of that load before its first bond let go (the rest of the failure follows at
lower loads as the load re-routes). So of the contact impulse ``J`` that reached the block over the
contact's frames only ``J / u`` was really transmitted; the rest, ``J (1 - 1/u)``, is given back to
the pieces that go on falling, as a velocity change ``-J (1 - 1/u) / M`` with ``M`` the mass of the
block before it split (no piece ends faster than the block was before the landing; the crushed
shards keep their lost speed: that energy went into the crush).
"""

from __future__ import annotations

import numpy as np


def crush_relief(contact_impulse: np.ndarray, worst_utilisation: float, block_mass: float) -> np.ndarray:
    """Velocity (3,) to give back to the surviving pieces of a block whose contact zone gave way.

    ``contact_impulse`` (3,): N s the contacts gave the block over the landing's frames;
    ``worst_utilisation``: the largest load / capacity of the first solve under that load (the
    structure carried ``1 / u`` of it); below 1 nothing failed and nothing is given back.
    """
    impulse = np.asarray(contact_impulse, float)
    u = float(worst_utilisation)
    if not np.isfinite(u) or u <= 1.0 or block_mass <= 0.0:
        return np.zeros(3)
    return -impulse * (1.0 - 1.0 / u) / float(block_mass)
