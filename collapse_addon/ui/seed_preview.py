"""The seed points a fracture will use, for the panel's preview (pure numpy, no bpy).

The seeds come from ``fracture.building_seeds``, the function ``fracture_building`` itself uses, so
the preview shows one point inside each future shard; a test checks that.
"""

from __future__ import annotations

import numpy as np

from ..core.building import Building
from ..core.fracture import building_seeds
from ..core.seeds import FractureSpec


def fracture_seeds(building: Building, spec: FractureSpec) -> np.ndarray:
    """(N, 3) seeds of the breakable elements (N = the number of shards they break into)."""
    breakable = [e.kind != "foundation" for e in building.elements]
    seeds = [s for s, keep in zip(building_seeds(building, spec), breakable, strict=True) if keep]
    return np.concatenate(seeds) if seeds else np.zeros((0, 3))
