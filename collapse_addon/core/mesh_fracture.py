"""Voronoi fracture of the artist's own closed mesh, convex or not (an L-block, a wall with window
holes, a real building model), into exact shards with their contact graph.

Pure numpy/scipy plus ``manifold3d`` (never imports bpy).

Method
------
1. The mesh is checked (``validate_solid_mesh``): finite, no degenerate faces, closed, 2-manifold,
   consistently oriented outwards, not flat, not self-intersecting. ``repair_mesh`` offers the fixes
   that are safe (merge by distance, close T-junctions, drop degenerate or doubled faces, make
   winding consistent and outward, cavities inward) and says what it did.
2. Seeds are drawn inside the solid only (rejection against its winding number), with the same
   patterns as the box path (``seeds.sample_seeds``); explicit seeds must lie inside the solid.
3. Voronoi cells fill the mesh's bounding box (``voronoi.box_voronoi_cells``).
4. Each cell is classified: a cell whose open interior no mesh triangle enters lies wholly inside
   the solid (its seed is inside and the interior is connected), so it is kept as it is, with no
   boolean. A conservative separating-plane test (the cell's face planes, then the triangle's
   plane) decides this, so a doubtful cell only costs a boolean. No cell lies wholly outside (each
   holds its seed), but parts of crossing cells do and are dropped by the boolean.
5. A crossing cell whose candidate triangles all lie on one plane (the wall's top, one window
   reveal) needs no boolean: every other face is certainly outside it, so the solid inside it is
   the half-space behind that plane, or the whole cell when the plane's faces miss the cell's
   section. Those cells are clipped exactly, all at once (``_clip_cells``).
6. The other crossing cells are intersected with the solid by manifold3d, one cell at a time
   (0.1-0.5 ms a boolean here; about 5% of the wall's cells at 1,000 cells), and split
   into islands (``Manifold.decompose``): a cell cut into two pieces by a non-convex mesh gives two
   shards. Where a Voronoi plane lies exactly on the surface with the solid beyond it (explicit
   seeds set symmetrically about a wall), manifold3d may leave a zero-volume flap; those pieces are
   cleaned (``as_original().simplify``) and their faces re-tagged by plane.

Why manifold3d: its booleans are exact in the sense that matters here (symbolic perturbation on
double-precision coordinates, guaranteed 2-manifold output for 2-manifold input, no epsilon
welding that eats volume), it carries a face id from each input triangle to every output
triangle (which tells cut faces from the original surface and which Voronoi plane a cut face
lies on), it is fast (C++, parallel) and it is one pip wheel for every platform Blender supports.
Blender's stock Cell Fracture builds shards from convex hulls plus Blender booleans: it crashes on
an L-shaped block and loses 1-3% of the volume; here the shard volumes add up to the mesh volume
within 1e-6 relative (checked on every run, ``FractureError`` otherwise).

Output: the same ``ShardSet`` as the box path. Whole cells keep their convex Voronoi polygons. Cut
pieces come back from manifold3d as triangles; triangles sharing a face id (one Voronoi plane, or
one input polygon) are merged back into one polygon when they form a single planar loop without
holes (the polygon may be non-convex), otherwise they stay triangles. ``face_interior`` is True on
faces lying on a Voronoi plane between two cells, False on the original surface (and on faces on the
bounding box, which are original surface too). ``convex`` flags non-convex pieces: the rigid-body
side must give those a MESH (or convex-decomposition) collision shape, not CONVEX_HULL.

The contact graph pairs shards sharing a face across a Voronoi plane. Where a plane is split on
both sides into several islands, the contact is the 2D overlap of the two islands' faces
(``manifold3d.CrossSection``), never the whole ridge. ``cross_element`` is always False here:
no contacts are found between separate meshes.

Several meshes (``mesh_parts.fracture_parts``, the one route for the panel and the CLI) share
the cell count by volume; ``element`` is the mesh's index, 0 for ``fracture_mesh``.

Limits: the winding-number tests cost O(points x triangles) and each boolean follows the mesh's
triangle count, so dense meshes are slow (a 12,500-triangle mesh: 1 s to check, 4-5 s for 500
cells; a BVH for the point tests and a decimated proxy are the next steps); self-intersection is found by segment-triangle crossings
plus winding numbers just off the largest faces (see ``validate_solid_mesh``); meshes that only
touch themselves (coplanar overlaps, shells touching along a face) are not reported. When a
Voronoi plane lies exactly on the surface, a whole cell's face there stays flagged as cut even
where it is original surface (its contact area is still the true overlap). No ``gap`` yet.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import FractureError, SpecError
from .fracture import check_seed_array
from .mesh_cut import _cut_cells, _Pieces, _whole_pieces  # noqa: F401  (tests and benchmarks reach them here)
from .mesh_geometry import (  # noqa: F401  (the public names, importable from here as before)
    _aabb_pairs,
    _expand,
    find_self_intersections,
    triangulate_faces,
    triangulate_polygon,
    winding_numbers,
)
from .mesh_repair import MeshRepair, repair_mesh  # noqa: F401
from .mesh_shards import _assemble, _clip_cells  # noqa: F401
from .mesh_solid import SolidMesh, prepare_solid, validate_solid_mesh  # noqa: F401
from .seeds import MAX_CELLS, FractureSpec, density, element_generators, sample_seeds
from .shards import ContactGraph, ShardSet
from .voronoi import RawCells, _cross, box_voronoi_cells  # noqa: F401

_VOLUME_TOL = 1e-6  # shard volumes must add up to the mesh volume within this (relative)
_PAIR_CHUNK = 400_000  # rows per vectorised block, to bound memory


def _mean_density(spec: FractureSpec, solid: SolidMesh) -> float:
    """The pattern's mean seed density inside the solid (on a 5 x 5 x 5 grid of its box)."""
    if spec.pattern == "uniform":
        return 1.0
    t = (np.arange(5) + 0.5) / 5
    grid = solid.lo + np.stack(np.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3) * (solid.hi - solid.lo)
    inside = grid[solid.contains(grid)]
    return float(density(spec, inside if len(inside) else grid).mean())


def mesh_cell_count(spec: FractureSpec, solid: SolidMesh) -> int:
    """Cells for the solid: ``cell_count``, or its volume over ``shard_size`` cubed (weighted by
    the pattern's mean density inside the solid)."""
    if spec.shard_size is None:
        return max(int(spec.cell_count), spec.min_cells_per_element)
    total = int(round(solid.volume / spec.shard_size ** 3 * _mean_density(spec, solid)))
    if total > MAX_CELLS:
        raise SpecError("shard_size", f"{spec.shard_size} m gives {total} cells, over {MAX_CELLS}",
                        f"use at least {(solid.volume / MAX_CELLS) ** (1 / 3):.3g} m")
    return max(total, spec.min_cells_per_element)


def sample_mesh_seeds(spec: FractureSpec, solid: SolidMesh, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` seeds inside the solid, from the pattern's density (rejection in the bounding box)."""
    fill = solid.volume / float(np.prod(solid.hi - solid.lo))
    chosen, have = [], 0
    while have < count:
        batch = min(int(math.ceil((count - have) / max(fill, 1e-6) * 1.1)) + 16, 100_000)
        cand = sample_seeds(spec, solid.lo, solid.hi, batch, rng)
        keep = cand[solid.contains(cand)]
        chosen.append(keep)
        have += len(keep)
    return np.concatenate(chosen)[:count]


def validate_mesh_seeds(seeds, solid: SolidMesh, field_name: str = "seeds") -> np.ndarray:
    """Seeds as an (N, 3) array, or SpecError naming ``field_name``: finite, unique, inside."""
    seeds = np.asarray(seeds, float)
    check_seed_array(seeds, field_name)
    outside = np.nonzero(~solid.contains(seeds))[0]
    if len(outside):
        raise SpecError(field_name, f"seed {int(outside[0])} at {seeds[outside[0]].tolist()} is outside the "
                        f"solid '{solid.name}' ({len(outside)} of {len(seeds)} are)",
                        "move seeds inside the mesh or drop them")
    return seeds


def fracture_mesh(vertices, faces, spec: FractureSpec | None = None, *, name: str = "mesh",
                  seeds=None, backend: str | None = None, solid: SolidMesh | None = None) -> ShardSet:
    """Fracture a closed mesh (convex or not) into Voronoi shards with their contact graph.

    ``faces``: polygons (vertex loops, outward winding) or an (F, 3) triangle array. Seeds come
    from ``spec`` (count or shard size, pattern, seed) unless given. Every shard has ``element`` 0.
    Raises MeshError for an unusable mesh, SpecError for bad settings or seeds, FractureError if
    the shards fail to add up to the mesh's volume (never silent).
    ``solid`` may pass a ``prepare_solid`` result to skip re-checking the same mesh.
    """
    spec = spec or FractureSpec()
    _check_gap(spec)
    solid = solid or prepare_solid(vertices, faces, name)
    if seeds is None:
        rng = element_generators(spec.seed, 1)[0]
        seeds = sample_mesh_seeds(spec, solid, mesh_cell_count(spec, solid), rng)
        return _without_slivers(solid, seeds, spec, backend)
    else:
        seeds = validate_mesh_seeds(seeds, solid)
    return _fracture_solid(solid, seeds, backend)


def _without_slivers(solid, seeds, spec, backend) -> ShardSet:
    """Fracture, then drop the seeds of cells under ``spec.min_shard_volume`` (core/slivers.py)."""
    from .slivers import without_slivers

    def fracture(seed_list):
        return _fracture_solid(solid, seed_list[0], backend)

    return without_slivers(fracture, [seeds], fracture([seeds]), spec.min_shard_volume,
                           element=None)[0]


def join_shard_sets(parts: list[ShardSet]) -> ShardSet:
    """One ShardSet from several; ``element`` becomes the index of the part each shard came from."""
    v_off = np.cumsum([0] + [len(p.vertices) for p in parts])
    f_off = np.cumsum([0] + [len(p.face_sizes) for p in parts])
    s_off = np.cumsum([0] + [p.count for p in parts])
    cat = np.concatenate
    contacts = ContactGraph(cat([p.contacts.pairs + s_off[i] for i, p in enumerate(parts)]).reshape(-1, 2),
                            cat([p.contacts.area for p in parts]),
                            cat([p.contacts.centroid for p in parts]).reshape(-1, 3),
                            cat([p.contacts.normal for p in parts]).reshape(-1, 3),
                            cat([p.contacts.cross_element for p in parts]))
    return ShardSet(
        vertices=cat([p.vertices for p in parts]),
        vertex_start=cat([p.vertex_start[:-1] + v_off[i] for i, p in enumerate(parts)] + [[v_off[-1]]]),
        face_sizes=cat([p.face_sizes for p in parts]),
        face_start=cat([p.face_start[:-1] + f_off[i] for i, p in enumerate(parts)] + [[f_off[-1]]]),
        loops=cat([p.loops + v_off[i] for i, p in enumerate(parts)]),
        face_interior=cat([p.face_interior for p in parts]),
        volume=cat([p.volume for p in parts]), centroid=cat([p.centroid for p in parts]),
        surface_area=cat([p.surface_area for p in parts]),
        element=cat([np.full(p.count, i, np.int64) for i, p in enumerate(parts)]),
        contacts=contacts,
        convex=cat([p.convex if p.convex is not None else np.ones(p.count, bool) for p in parts]))


def _check_gap(spec: FractureSpec) -> None:
    if spec.gap:
        raise SpecError("gap", "is not supported for fracturing a mesh yet", "use gap = 0")


def _fracture_solid(solid: SolidMesh, seeds: np.ndarray, backend) -> ShardSet:
    cells = box_voronoi_cells(seeds, solid.lo, solid.hi, backend)
    if cells.count == 1:  # one shard per island of the solid, without a boolean
        shards = _assemble(cells, np.ones(1, bool), _whole_pieces(solid), solid, None)
        _check_volume(shards, solid)
        return shards
    crossing, facing, plane_tri, single_pairs = _classify_cells(cells, solid)
    clip = plane_tri >= 0
    pieces = _cut_cells(cells, np.nonzero(crossing & ~clip)[0], solid, facing)
    clipped, whole_after_all = _clip_cells(cells, np.nonzero(clip)[0], plane_tri[clip], single_pairs, solid)
    crossing[whole_after_all] = False
    shards = _assemble(cells, crossing, pieces, solid, clipped)
    _check_volume(shards, solid)
    return shards


def _check_volume(shards: ShardSet, solid: SolidMesh) -> None:
    total = float(shards.volume.sum())
    if abs(total - solid.volume) > _VOLUME_TOL * solid.volume:
        raise FractureError(f"mesh '{solid.name}': shards hold {total:.9g} m^3 of {solid.volume:.9g} m^3; "
                            "please report this mesh")


def crossing_cells(cells: RawCells, solid: SolidMesh) -> np.ndarray:
    """True for cells whose interior some mesh triangle may enter (conservative: never misses one)."""
    return _classify_cells(cells, solid)[0]


def _classify_cells(cells: RawCells, solid: SolidMesh):
    """``crossing`` (see ``crossing_cells``); ``facing``: cells with a face lying on the mesh's
    surface where the solid is on the far side (a Voronoi plane exactly on a wall, from seeds placed
    symmetrically about it), where manifold3d can leave a zero-volume flap, so those pieces get
    cleaned; ``plane_tri``: for crossing cells whose candidate triangles all lie on one plane, one of
    those triangles (else -1): such a cell is clipped by that plane without a boolean (see
    ``_clip_cells``); ``single_pairs``: (triangle, cell) candidates of those cells."""
    tol = solid.tolerance
    vs = cells.vertex_start
    cell_lo = np.minimum.reduceat(cells.vertices, vs[:-1], axis=0)
    cell_hi = np.maximum.reduceat(cells.vertices, vs[:-1], axis=0)
    tp = solid.tri_points
    tri, cell = _aabb_pairs(tp.min(1) - tol, tp.max(1) + tol, cell_lo, cell_hi)
    crossing = np.zeros(cells.count, bool)
    facing = np.zeros(cells.count, bool)
    plane_tri = np.full(cells.count, -1, np.int64)
    if len(tri) == 0:
        return crossing, facing, plane_tri, (tri, cell)
    av = cells.area_vectors
    fn = av / np.maximum(np.linalg.norm(av, axis=1), 1e-300)[:, None]
    fd = np.einsum("ij,ij->i", fn, cells.vertices[cells.loops[cells.loop_start]])
    tcr = _cross(tp[:, 1] - tp[:, 0], tp[:, 2] - tp[:, 0])
    tn = tcr / np.maximum(np.linalg.norm(tcr, axis=1), 1e-300)[:, None]
    td = np.einsum("ij,ij->i", tn, tp[:, 0])
    nfaces = np.diff(cells.face_start)
    nverts = np.diff(vs)
    step = max(1, _PAIR_CHUNK // 16)
    hits_t, hits_c = [], []
    for s in range(0, len(tri), step):
        t, c = tri[s:s + step], cell[s:s + step]
        # (a) the triangle lies outside one of the cell's face planes
        cnt = nfaces[c]
        rows = _expand(cells.face_start[c], cnt)
        rt = np.repeat(t, cnt)
        dots = np.einsum("rkj,rj->rk", tp[rt], fn[rows]) - fd[rows][:, None]
        on_plane = (np.abs(dots) <= tol).all(1) & (np.einsum("rj,rj->r", tn[rt], fn[rows]) < 0)
        facing[np.repeat(c, cnt)[on_plane]] = True
        starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        sep = np.maximum.reduceat(dots.min(1), starts) >= -tol
        t, c = t[~sep], c[~sep]
        if len(t) == 0:
            continue
        # (b) the cell lies on one side of the triangle's plane
        cnt = nverts[c]
        rows = _expand(vs[c], cnt)
        rt = np.repeat(t, cnt)
        side = np.einsum("rj,rj->r", cells.vertices[rows], tn[rt]) - td[rt]
        starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        sep = (np.maximum.reduceat(side, starts) <= tol) | (np.minimum.reduceat(side, starts) >= -tol)
        crossing[c[~sep]] = True
        hits_t.append(t[~sep])
        hits_c.append(c[~sep])
    # Cells entered by triangles of one plane only: the solid there is the half-space behind it
    # (the plane's faces must cover the cell's section, or another face would enter the cell).
    t = np.concatenate(hits_t) if hits_t else np.zeros(0, np.int64)
    c = np.concatenate(hits_c) if hits_c else np.zeros(0, np.int64)
    if len(t):
        order = np.argsort(c, kind="stable")
        t, c = t[order], c[order]
        first = np.unique(c, return_index=True)[1]
        ref = np.repeat(t[first], np.diff(np.append(first, len(t))))
        same = (np.einsum("ij,ij->i", tn[t], tn[ref]) > 1 - 1e-12) & (np.abs(td[t] - td[ref]) <= tol)
        single = np.logical_and.reduceat(same, first)
        chosen = single & ~facing[c[first]]
        plane_tri[c[first][chosen]] = t[first][chosen]
        in_single = np.repeat(chosen, np.diff(np.append(first, len(t))))
        single_pairs = (t[in_single], c[in_single])
    else:
        single_pairs = (t, c)
    return crossing, facing, plane_tri, single_pairs
