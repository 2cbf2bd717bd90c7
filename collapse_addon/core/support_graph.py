"""The support graph of a fractured building: shards as nodes, glued contacts as bonds.

Pure numpy (never imports bpy). Nodes carry mass, centroid and the inertia tensor of the shard
polyhedron; bonds are the contact graph's shared faces with their compression, tension, shear and
flexural capacities (``core.strength``: strength x contact area, x the interface factor between two
elements); supports are the nodes held by the world.

Supports: with a foundation element (the procedural building), its shards are the supports (the
shards resting on it bond to them, so the ground storey's joints carry and can lose the load);
shards touching the ground plane ``ground_z`` count too when it is given. Without one (an artist's
mesh), every shard whose lowest corner lies within 1 % of the mesh's height above the ground plane
(default: the lowest corner of the mesh) is a support.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError
from .strength import strength_arrays
from .voronoi import _cross, fan_triangles

DESIGN_FACTOR = 1.5  # gravity load a generated or artist building was designed to carry (EN 1990 1.35)
SLIVER_VOLUME = 0.0005  # m^3 (as fracture.min_shard_volume): smaller shards keep their largest bond
GROUND_BAND = 0.01  # mesh path: shards within this fraction of the height above the ground are supports


@dataclass(frozen=True)
class SupportGraph:
    """Nodes (shards) and bonds (contacts) of a fractured structure, with capacities in newtons.

    ``bond_normal`` is the unit face normal from ``bond_pairs[:, 0]`` to ``bond_pairs[:, 1]``;
    ``capacity_flexure`` is the extreme-fibre force ``f_fl x A`` (bending check in the stress
    solver); ``bond_depth`` (m) the face's side used for its bending stiffness and section modulus
    (``sqrt(area)``); ``youngs`` (Pa) the bond's elastic modulus; ``friction`` the Mohr-Coulomb
    coefficient that adds ``friction x compression`` to the shear capacity.
    """

    mass: np.ndarray  # (N,) kg
    centroid: np.ndarray  # (N, 3) m
    inertia: np.ndarray  # (N, 3, 3) kg m^2, world axes, about each centroid
    bond_pairs: np.ndarray  # (M, 2) int64
    bond_area: np.ndarray  # (M,) m^2
    bond_centroid: np.ndarray  # (M, 3)
    bond_normal: np.ndarray  # (M, 3) unit, pair[0] -> pair[1]
    capacity_compression: np.ndarray  # (M,) N
    capacity_tension: np.ndarray  # (M,) N
    capacity_shear: np.ndarray  # (M,) N
    support: np.ndarray  # (N,) bool
    material: np.ndarray  # (N,) str
    element: np.ndarray  # (N,) int64
    capacity_flexure: np.ndarray | None = None  # (M,) N; None: same as tension
    friction: np.ndarray | None = None  # (M,)
    youngs: np.ndarray | None = None  # (M,) Pa
    cross_element: np.ndarray | None = None  # (M,) bool: a joint between two elements (interface factor applied;
    # the pieces of one wall panel are one wall, not a joint)
    designed: np.ndarray | None = None  # (M,) bool: capacity raised to carry the design gravity load
    bond_extent: np.ndarray | None = None  # (M, 2) m: sides of the face's equivalent rectangle along
    # the bond frame's t1, t2 (stress_solver.bond_frames); None: a square of the bond's area

    @property
    def n_nodes(self) -> int:
        return len(self.mass)

    @property
    def n_bonds(self) -> int:
        return len(self.bond_pairs)

    @property
    def bond_depth(self) -> np.ndarray:
        return np.sqrt(self.bond_area)

    def extents(self) -> np.ndarray:
        """(M, 2) sides of each face's equivalent rectangle along the bond frame's t1 and t2."""
        if self.bond_extent is not None:
            return self.bond_extent
        side = self.bond_depth
        return np.stack([side, side], 1)

    def flexure(self) -> np.ndarray:
        return self.capacity_tension if self.capacity_flexure is None else self.capacity_flexure

    def bond_friction(self) -> np.ndarray:
        return np.zeros(self.n_bonds) if self.friction is None else self.friction

    def bond_youngs(self) -> np.ndarray:
        return np.full(self.n_bonds, 30e9) if self.youngs is None else self.youngs


def polyhedron_inertia(shards, density: np.ndarray | None = None):
    """Mass (kg), centroid and world-axis inertia tensor about the centroid of every shard.

    Exact for closed polyhedra (convex or not): signed tetrahedra from each shard's centroid to the
    fan triangles of its faces. ``density`` (S,) kg/m^3, default 1 (then mass = volume).
    """
    n = shards.count
    density = np.ones(n) if density is None else np.asarray(density, float)
    tri_face, a, b, c = fan_triangles(shards.vertices, shards.loops, shards.face_sizes)
    face_shard = np.repeat(np.arange(n), np.diff(shards.face_start))
    tri = face_shard[tri_face]
    ref = shards.centroid[tri]
    a, b, c = a - ref, b - ref, c - ref
    vol = np.einsum("ij,ij->i", a, _cross(b, c)) / 6.0
    s = a + b + c
    # integral of x x^T over tetrahedron (0, a, b, c) = V/20 (a a^T + b b^T + c c^T + s s^T)
    outer = (np.einsum("ni,nj->nij", a, a) + np.einsum("ni,nj->nij", b, b)
             + np.einsum("ni,nj->nij", c, c) + np.einsum("ni,nj->nij", s, s)) * (vol / 20.0)[:, None, None]
    second = np.zeros((n, 3, 3))
    np.add.at(second, tri, outer)
    volume = np.bincount(tri, vol, n)
    first = np.stack([np.bincount(tri, vol * s[:, k] / 4.0, n) for k in range(3)], 1)
    # shift to the exact centroid (the stored one is exact for the fracture, this guards rounding)
    offset = first / np.maximum(volume, 1e-300)[:, None]
    second -= volume[:, None, None] * np.einsum("ni,nj->nij", offset, offset)
    mass = density * volume
    second *= density[:, None, None]
    inertia = np.trace(second, axis1=1, axis2=2)[:, None, None] * np.eye(3) - second
    return mass, shards.centroid + offset, inertia


def face_extents(shards, pairs, centre, normal, area) -> np.ndarray:
    """(M, 2) sides of a rectangle of each contact's area, shaped like the face.

    The face lies in both shards, so its extent along each in-plane axis (t1, t2 of
    ``stress_solver.bond_frames``) is at most the overlap of the two shards' extents; the
    rectangle keeps that aspect ratio and the face's area. A slab's joint is then thin about the
    axis it bends in (0.22 m deep, not the square root of its area).
    """
    from .stress_solver import bond_frames

    m = len(pairs)
    if m == 0:
        return np.zeros((0, 2))
    frames = bond_frames(normal)
    counts = np.diff(shards.vertex_start)
    lo = np.full((m, 2), -np.inf)
    hi = np.full((m, 2), np.inf)
    for end in (0, 1):
        s = pairs[:, end]
        n = counts[s]
        bond = np.repeat(np.arange(m), n)
        first = np.repeat(shards.vertex_start[s], n)
        offset = np.arange(len(bond)) - np.repeat(np.cumsum(n) - n, n)
        rel = shards.vertices[first + offset] - centre[bond]
        starts = np.cumsum(n) - n
        for k in (0, 1):
            proj = np.einsum("ij,ij->i", rel, frames[bond, k + 1])
            lo[:, k] = np.maximum(lo[:, k], np.minimum.reduceat(proj, starts))
            hi[:, k] = np.minimum(hi[:, k], np.maximum.reduceat(proj, starts))
    side = np.maximum(hi - lo, 1e-9)
    scale = np.sqrt(area / (side[:, 0] * side[:, 1]))
    return side * scale[:, None]


def shard_min_z(shards) -> np.ndarray:
    """Lowest corner height of every shard."""
    z = shards.vertices[:, 2]
    return np.minimum.reduceat(z, shards.vertex_start[:-1]) if len(z) else np.zeros(0)


def support_mask(building, shards, *, ground_z: float | None = None) -> np.ndarray:
    """Nodes held by the world (see the module docstring)."""
    kinds = np.array([e.kind for e in building.elements])[shards.element]
    foundation = kinds == "foundation"
    min_z = shard_min_z(shards)
    if ground_z is not None and not np.isfinite(ground_z):
        raise SpecError("ground_z", f"must be a finite height, got {ground_z!r}", "give metres or None")
    if foundation.any():
        if ground_z is None:
            return foundation
        return foundation | (min_z <= ground_z + 1e-6)
    z_top = float(shards.vertices[:, 2].max())
    z0 = float(min_z.min()) if ground_z is None else float(ground_z)
    band = GROUND_BAND * max(z_top - z0, 0.0)
    return min_z <= z0 + max(band, 1e-6)


def build_support_graph(building, shards, materials=None, *, ground_z: float | None = None,
                        design_factor: float = DESIGN_FACTOR, gravity: float = 9.81,
                        sliver_volume: float = SLIVER_VOLUME) -> SupportGraph:
    """The support graph of ``shards`` fractured from ``building`` (materials: name -> Material).

    Capacities are material strength x area (x interface factor), raised where needed to carry
    ``design_factor`` x the building's own weight (``stress_solver.design_for_gravity``; 0: material
    capacities only). A shard under ``sliver_volume`` (m^3) keeps its largest bond for good
    (infinite capacities, ``slivers.sliver_bonds``): it never becomes an actor of its own.
    """
    names = np.array([e.material for e in building.elements], dtype=object)[shards.element].astype(str)
    node = strength_arrays(names, building.materials if materials is None else materials)
    mass, centroid, inertia = polyhedron_inertia(shards, node["density"])
    graph = shards.contacts
    keep = graph.area > 0
    pairs = graph.pairs[keep].astype(np.int64)
    area = graph.area[keep]
    cross = graph.cross_element[keep]
    a, b = pairs[:, 0], pairs[:, 1]

    def weaker(key):
        return np.minimum(node[key][a], node[key][b]) if len(a) else np.zeros(0)

    kinds = np.array([e.kind for e in building.elements])[shards.element]
    # the pieces of one wall panel (piers, spandrel, lintel) are one bonded masonry wall, not a joint
    joint = cross & ~((kinds[a] == "wall") & (kinds[b] == "wall"))
    factor = np.where(joint, weaker("interface"), 1.0)
    scale = area * factor
    # two materials in series; a joint (mortar bed, cold joint) is as much softer as it is weaker
    youngs = factor * 2 * node["youngs"][a] * node["youngs"][b] / np.maximum(node["youngs"][a] + node["youngs"][b],
                                                                              1e-300)
    extent = face_extents(shards, pairs, graph.centroid[keep], graph.normal[keep], area)
    out = SupportGraph(
        bond_extent=extent,
        mass=mass, centroid=centroid, inertia=inertia, bond_pairs=pairs, bond_area=area,
        bond_centroid=graph.centroid[keep], bond_normal=graph.normal[keep],
        capacity_compression=weaker("compressive") * area,  # bearing: the interface does not weaken it
        capacity_tension=weaker("tensile") * scale, capacity_shear=weaker("shear") * scale,
        support=support_mask(building, shards, ground_z=ground_z), material=names,
        element=np.asarray(shards.element, np.int64), capacity_flexure=weaker("flexural") * scale,
        friction=weaker("friction"), youngs=youngs, cross_element=joint)
    from .slivers import sliver_bonds
    from .stress_solver import design_for_gravity

    out = design_for_gravity(out, design_factor, gravity)
    keep_forever = sliver_bonds(shards.volume, pairs, area, sliver_volume)
    if keep_forever.any():
        import dataclasses

        out = dataclasses.replace(out, **{f: np.where(keep_forever, np.inf, getattr(out, f))
                                          for f in ("capacity_compression", "capacity_tension",
                                                    "capacity_shear", "capacity_flexure")})
    return out


def gravity_forces(graph: SupportGraph, gravity: float = 9.81) -> np.ndarray:
    """(N, 3) node forces of the shards' weights, down -z."""
    f = np.zeros((graph.n_nodes, 3))
    f[:, 2] = -graph.mass * gravity
    return f


def compound(graph: SupportGraph, labels: np.ndarray, nodes: np.ndarray | None = None):
    """Mass (K,), centre of mass (K, 3) and inertia tensor about it (K, 3, 3) of each actor.

    ``labels`` (N,) is the actor of every node (``stress_solver.components``); ``nodes`` optionally
    limits the sum to a subset (e.g. the nodes that are not supports). What a rigid-body engine
    needs to make each actor one compound body: the shards' inertias moved to the actor's centre
    of mass (parallel axis theorem).
    """
    labels = np.asarray(labels, np.int64)
    if nodes is None:
        idx = np.arange(graph.n_nodes)
    else:
        nodes = np.asarray(nodes)
        idx = np.nonzero(nodes)[0] if nodes.dtype == bool else nodes.astype(np.int64)
    k = int(labels.max()) + 1 if len(labels) else 0
    lab = labels[idx]
    m = graph.mass[idx]
    mass = np.bincount(lab, m, k)
    com = np.stack([np.bincount(lab, m * graph.centroid[idx, i], k) for i in range(3)], 1)
    com /= np.maximum(mass, 1e-300)[:, None]
    r = graph.centroid[idx] - com[lab]
    shifted = graph.inertia[idx] + m[:, None, None] * ((r * r).sum(1)[:, None, None] * np.eye(3)
                                                        - np.einsum("ni,nj->nij", r, r))
    inertia = np.zeros((k, 3, 3))
    np.add.at(inertia, lab, shifted)
    return mass, com, inertia


_NODE_FIELDS = ("mass", "centroid", "inertia", "support", "material", "element")
_BOND_FIELDS = ("bond_area", "bond_centroid", "bond_normal", "capacity_compression", "capacity_tension",
                "capacity_shear", "capacity_flexure", "friction", "youngs", "cross_element", "designed",
                "bond_extent")


def subgraph(graph: SupportGraph, nodes):
    """The part of ``graph`` on ``nodes`` (bool mask or indices): one actor, for its own solve.

    Returns ``(sub, node_index, bond_index)``: ``sub`` keeps the bonds with both ends in ``nodes``
    (renumbered), ``node_index`` / ``bond_index`` map its nodes and bonds back to ``graph``'s.
    """
    import dataclasses

    nodes = np.asarray(nodes)
    node_index = np.nonzero(nodes)[0] if nodes.dtype == bool else np.unique(nodes.astype(np.int64))
    remap = np.full(graph.n_nodes, -1, np.int64)
    remap[node_index] = np.arange(len(node_index))
    ends = remap[graph.bond_pairs]
    bond_index = np.nonzero((ends >= 0).all(1))[0]
    values = {f: getattr(graph, f)[node_index] for f in _NODE_FIELDS}
    values.update({f: (None if getattr(graph, f) is None else getattr(graph, f)[bond_index]) for f in _BOND_FIELDS})
    sub = dataclasses.replace(graph, bond_pairs=ends[bond_index], **values)
    return sub, node_index, bond_index
