"""Prepared solids -> one building and its shards: the one mesh route behind the panel's Selected
source and the scene file's ``[mesh]`` (OBJ, CityJSON, .blend, IFC) alike.

Each part is a checked solid in world space with its name, material, kind and storey; an
anchor (the panel's Anchor, ``[mesh] anchors``) stays whole, a ``foundation`` element. One cell
allocation and one seeding rule for every route:

- ``cell_count`` is shared between the breakable parts by volume times the pattern's mean density
  inside each (largest remainder, at least ``min_cells_per_element`` each); ``shard_size`` applies
  to each part on its own; an anchor gets one cell.
- part ``i`` draws its seeds from child ``i`` of ``SeedSequence(spec.seed)``: independent streams
  per part (``seed + i`` would give part 1 of seed 4 the stream of part 0 of seed 5), and a
  single part gets the same shards as ``fracture_mesh``.

Pure numpy plus manifold3d; never imports bpy.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .building import Building, Element, element_box_contacts
from .errors import FractureError, MeshError, SpecError
from .mesh_fracture import (
    _check_gap,
    _fracture_solid,
    _mean_density,
    _without_slivers,
    join_shard_sets,
    mesh_cell_count,
    sample_mesh_seeds,
)
from .mesh_prepare import prepare_mesh
from .mesh_solid import SolidMesh
from .seeds import FractureSpec, element_generators
from .shards import ShardSet

FOUNDATION = "foundation"


@dataclass(frozen=True)
class MeshPart:
    """One prepared solid and what its element carries."""

    solid: SolidMesh
    name: str
    material: str
    kind: str = "mesh"
    storey: int = 0
    anchor: bool = False  # kept whole (one shard per island), a "foundation" element


def part_cell_counts(spec: FractureSpec, solids: list[SolidMesh], anchors) -> np.ndarray:
    """Cells per part (see the module's allocation rule); 1 for the ``anchors`` (kept whole)."""
    counts = np.ones(len(solids), np.int64)
    breakable = np.nonzero(~np.asarray(anchors, bool))[0]
    if not len(breakable):
        return counts
    if spec.shard_size is not None:
        counts[breakable] = [mesh_cell_count(spec, solids[i]) for i in breakable]
        return counts
    weight = np.array([solids[i].volume * _mean_density(spec, solids[i]) for i in breakable])
    share = weight / weight.sum() * max(spec.cell_count, spec.min_cells_per_element * len(breakable))
    part = np.floor(share).astype(np.int64)
    extra = int(round(share.sum())) - int(part.sum())
    part[np.argsort(-(share - part), kind="stable")[:extra]] += 1
    counts[breakable] = np.maximum(part, spec.min_cells_per_element)
    return counts


def fracture_parts(parts: list[MeshPart], spec: FractureSpec, *, log=None,
                   keep_whole_on_error: bool = False) -> tuple[Building, ShardSet]:
    """Fracture the parts into one building (element ``i`` is part ``i``, box contacts between
    elements) and one shard set (``element`` is the part's index; contacts within a part only).

    ``log``: a callable given a progress line every few seconds; ``keep_whole_on_error``: a part
    whose cut fails (slivers left by booleans between IFC elements) stays one shard, logged,
    instead of raising FractureError.
    """
    if not parts:
        raise SpecError("meshes", "needs one or more solids", "give closed mesh objects")
    _check_gap(spec)
    solids = [p.solid for p in parts]
    counts = part_cell_counts(spec, solids, [p.anchor for p in parts])
    rngs = element_generators(spec.seed, len(parts))
    shard_sets, clock = [], time.perf_counter()
    for k, (p, n, rng) in enumerate(zip(parts, counts, rngs, strict=True)):
        seeds = sample_mesh_seeds(spec, p.solid, int(n), rng)
        try:
            shard_sets.append(_fracture_solid(p.solid, seeds, None) if p.anchor
                              else _without_slivers(p.solid, seeds, spec, None))
        except FractureError as exc:
            if not keep_whole_on_error:
                raise
            if log is not None:
                log(f"Kept {p.name} whole: {exc}")
            shard_sets.append(_fracture_solid(p.solid, seeds[:1], None))
        if log is not None and (time.perf_counter() - clock > 2.0 or k + 1 == len(parts)):
            log(f"Fractured {k + 1} of {len(parts)} meshes")
            clock = time.perf_counter()
    lo = np.array([s.lo for s in solids])
    hi = np.array([s.hi for s in solids])
    elements = [Element(i, FOUNDATION if p.anchor else p.kind, p.storey, p.material, lo[i].copy(), hi[i].copy(), p.name)
                for i, p in enumerate(parts)]
    return Building(None, elements, element_box_contacts(lo, hi)), join_shard_sets(shard_sets)


def selected_parts(objects, *, repair: bool, default_material: str) -> tuple[list[MeshPart], list[str]]:
    """The panel's selected objects as parts, and the notes on repairs made.

    ``objects``: (name, world vertices, faces, material or "AUTO", anchor) per object. With
    ``repair`` each mesh gets the checked repair (a step that makes it worse is undone), then
    solidify for what is still not a solid (the note says how far the surface moved); without,
    a mesh that is not a closed solid raises MeshError naming the object.
    """
    if not objects:
        raise MeshError("selection", "no mesh objects to fracture", "select closed mesh objects")
    parts, notes = [], []
    for name, vertices, faces, material, anchor in objects:
        prepared = prepare_mesh(vertices, faces, name, repair=repair, solidify=repair)
        notes.extend(prepared.notes)
        parts.append(MeshPart(prepared.solid, name,
                              default_material if material == "AUTO" else material,
                              anchor=bool(anchor)))
    return parts, notes
