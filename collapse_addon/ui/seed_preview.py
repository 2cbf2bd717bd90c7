"""The seed points a fracture will use, for the panel's preview (pure numpy, no bpy).

Draws exactly the seeds ``fracture.fracture_building`` draws (same allocation, same per-element
random streams), so the preview shows one point inside each future shard; a test checks that.
"""

from __future__ import annotations

import numpy as np

from ..core.building import Building
from ..core.seeds import FractureSpec, allocate_cells, element_generators, sample_seeds


def fracture_seeds(building: Building, spec: FractureSpec) -> np.ndarray:
    """(N, 3) seeds of the breakable elements (N = the number of shards they break into)."""
    kinds = tuple(k for k in {e.kind for e in building.elements} if k != "foundation")
    lo = np.array([e.lo for e in building.elements])
    hi = np.array([e.hi for e in building.elements])
    breakable = np.array([e.kind in kinds for e in building.elements])
    counts = np.ones(len(lo), dtype=np.int64)
    if breakable.any():
        counts[breakable] = allocate_cells(spec, lo[breakable], hi[breakable])
    rngs = element_generators(spec.seed, len(lo))
    seeds = [sample_seeds(spec, lo[i], hi[i], int(counts[i]), rngs[i])
             for i in range(len(lo)) if breakable[i]]
    return np.concatenate(seeds) if seeds else np.zeros((0, 3))
