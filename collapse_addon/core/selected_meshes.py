"""The artist's selected mesh objects as a building: check, repair, fracture where they are.

Numpy on top of ``mesh_fracture``; the world-space meshes are read by ``blender/scene.py``
(``read_object_meshes``) and passed in. Several objects become one building with one ``mesh``
element per object, so each object keeps its own material and anchor flag (the per-object
overrides in the panel).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .building import Building, Element, ElementContacts
from .errors import MeshError
from .seeds import FractureSpec
from .shards import ShardSet


@dataclass(frozen=True)
class SourceMesh:
    """One selected object's solid: world-space vertices and polygon loops."""

    name: str
    vertices: np.ndarray
    faces: list
    material: str
    anchor: bool


def fracture_sources(sources: list[SourceMesh], spec: FractureSpec, *, repair: bool,
                     default_material: str) -> tuple[Building, ShardSet, list[str]]:
    """Fracture each object (anchors stay whole) into one building and shard set.

    The shard count is shared between the breakable objects by volume (``shard_size`` applies
    to each); each object draws its seeds from its own seed (``spec.seed + index``). Returns the
    building (one ``mesh`` element per object, anchors as ``foundation``), the shards and notes
    on repairs made (what each repair did, or how far solidifying moved the surface). Raises
    MeshError (naming the object) for a mesh that is not a closed solid when ``repair`` is off.
    """
    from .mesh_fracture import fracture_mesh, join_shard_sets
    from .mesh_prepare import prepare_mesh

    if not sources:
        raise MeshError("selection", "no mesh objects to fracture", "select closed mesh objects")
    solids, notes = [], []
    for src in sources:
        # Repair: the checked repair (a step that makes the mesh worse is undone), then, for what
        # is still not a solid, solidify (rebuilt from its winding number; the note says by how
        # much it moved).
        prepared = prepare_mesh(src.vertices, src.faces, src.name, repair=repair, solidify=repair)
        notes.extend(prepared.notes)
        solids.append((src.vertices, src.faces, prepared.solid))
    counts = share_cells(spec, [s.volume for _, _, s in solids], [src.anchor for src in sources])
    parts, elements = [], []
    for index, (src, (vertices, faces, solid)) in enumerate(zip(sources, solids, strict=True)):
        if src.anchor:
            object_spec = FractureSpec(cell_count=1, seed=spec.seed + index)
        elif spec.shard_size is None:
            object_spec = dataclasses.replace(spec, cell_count=int(counts[index]),
                                              seed=spec.seed + index)
        else:
            object_spec = dataclasses.replace(spec, seed=spec.seed + index)
        parts.append(fracture_mesh(vertices, faces, object_spec, name=src.name, solid=solid))
        material = default_material if src.material == "AUTO" else src.material
        elements.append(Element(index, "foundation" if src.anchor else "mesh", 0, material,
                                solid.lo.copy(), solid.hi.copy(), src.name))
    empty = ElementContacts(np.zeros((0, 2), int), np.zeros(0, int), np.zeros(0),
                            np.zeros((0, 3)), np.zeros((0, 3)))
    return Building(None, elements, empty), join_shard_sets(parts), notes


def share_cells(spec: FractureSpec, volumes, anchors) -> np.ndarray:
    """Cells per object: ``spec.cell_count`` split by volume over the breakable objects (largest
    remainder, at least ``min_cells_per_element`` each); 1 for anchors."""
    volumes = np.asarray(volumes, float)
    breakable = ~np.asarray(anchors, bool)
    counts = np.ones(len(volumes), np.int64)
    if breakable.any():
        share = volumes[breakable] / volumes[breakable].sum() * spec.cell_count
        part = np.floor(share).astype(np.int64)
        extra = spec.cell_count - int(part.sum())
        part[np.argsort(-(share - part), kind="stable")[:extra]] += 1
        counts[breakable] = np.maximum(part, spec.min_cells_per_element)
    return counts
