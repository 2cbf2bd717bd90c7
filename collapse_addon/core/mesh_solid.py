"""The checked solid: a closed, outward, 2-manifold, non-self-intersecting mesh, triangulated,
with its manifold3d ``Manifold`` (``prepare_solid``), and the checks that name what is wrong.

Pure numpy/scipy plus manifold3d; never imports bpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import MeshError
from .mesh_geometry import _where, find_self_intersections, triangulate_faces, winding_numbers
from .voronoi import _cross

_REL_TOL = 1e-9  # geometric tolerance, relative to the bounding-box diagonal


@dataclass(frozen=True)
class SolidMesh:
    """A validated closed, outward, 2-manifold, non-self-intersecting mesh, triangulated."""

    name: str
    vertices: np.ndarray  # (V, 3)
    triangles: np.ndarray  # (T, 3) int64
    tri_face: np.ndarray  # (T,) index of the input face each triangle came from
    n_faces: int
    volume: float
    lo: np.ndarray
    hi: np.ndarray
    tolerance: float  # absolute length tolerance (1e-9 of the diagonal)
    shells: int
    manifold: object = field(repr=False)

    @property
    def tri_points(self) -> np.ndarray:
        return self.vertices[self.triangles]

    def contains(self, points: np.ndarray) -> np.ndarray:
        """True for points inside the solid (winding number above one half)."""
        points = np.atleast_2d(np.asarray(points, float))
        inside = ((points > self.lo) & (points < self.hi)).all(1)
        if inside.any():
            inside[inside] = winding_numbers(points[inside], self.tri_points) > 0.5
        return inside


def prepare_solid(vertices, faces, name: str = "mesh") -> SolidMesh:
    """Check the mesh (see ``validate_solid_mesh``) and return it triangulated, with its Manifold."""
    import manifold3d

    # A private, writable copy: the caller's array is never touched, and manifold3d refuses
    # read-only buffers (np.frombuffer, another library's memory).
    vertices = np.array(vertices, dtype=float) if vertices is not None else np.zeros((0, 3))
    if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) < 4 or faces is None or len(faces) < 4:
        raise MeshError(name, "is empty (a solid needs at least 4 vertices and 4 faces)",
                        "select a closed mesh object with volume")
    bad = np.nonzero(~np.isfinite(vertices).all(1))[0]
    if len(bad):
        raise MeshError(name, f"{len(bad)} vertices have NaN or infinite coordinates (first: vertex {bad[0]})",
                        "fix or delete those vertices")
    lo, hi = vertices.min(0), vertices.max(0)
    diag = float(np.linalg.norm(hi - lo))
    tol = _REL_TOL * diag
    if diag <= 0:
        raise MeshError(name, "is flat: all vertices coincide", "model a solid with volume")
    tris, tri_face, face_area = triangulate_faces(vertices, faces, name)
    degenerate = np.nonzero(face_area <= (1e-7 * diag) ** 2)[0]
    if len(degenerate):
        raise MeshError(name, f"{len(degenerate)} degenerate (zero-area) faces, e.g. face {degenerate[0]}",
                        "run repair_mesh (drops them) or Blender's Mesh > Clean Up > Degenerate Dissolve")
    _check_edges(vertices, tris, name)
    shell, n_shells = _shells(tris, len(vertices))
    centre = 0.5 * (lo + hi)
    p = vertices[tris] - centre
    tet = np.einsum("ij,ij->i", p[:, 0], _cross(p[:, 1], p[:, 2])) / 6.0
    shell_volume = np.bincount(shell, tet, n_shells)
    volume = float(shell_volume.sum())
    size = diag ** 3
    if abs(volume) <= 1e-9 * size or (hi - lo).min() <= 1e-6 * diag:
        raise MeshError(name, f"is flat (volume {volume:.3g} m^3, extents {np.round(hi - lo, 6).tolist()} m)",
                        "give the mesh thickness (Solidify modifier) before fracturing")
    if volume < 0:
        raise MeshError(name, "is inside out (its normals point inwards: negative volume)",
                        "run repair_mesh, or Blender's Mesh > Normals > Recalculate Outside")
    flat_shell = np.nonzero(np.abs(shell_volume) <= 1e-9 * size)[0]
    if len(flat_shell):
        where = vertices[tris[shell == flat_shell[0]][0]]
        raise MeshError(name, f"{len(flat_shell)} flat part(s) with no volume, e.g. near {_where(where, 1)}",
                        "delete the zero-thickness parts or give them thickness")
    tri_points = vertices[tris]
    crossing = find_self_intersections(tri_points, tol)
    if len(crossing):
        where = tri_points[crossing[:, 0]].mean(1)
        raise MeshError(name, f"self-intersects: {len(crossing)} pairs of crossing triangles, e.g. near {_where(where)}",
                        "join the overlapping parts with a Union boolean (Blender's 3D-Print "
                        "Toolbox, Checks > Intersections, shows where)")
    _check_winding(tri_points, shell, n_shells, diag, name)
    mesh = manifold3d.Mesh64(vert_properties=np.ascontiguousarray(vertices),
                             tri_verts=np.ascontiguousarray(tris, dtype=np.uint64),
                             face_id=np.ascontiguousarray(tri_face, dtype=np.uint64))
    solid = manifold3d.Manifold(mesh)
    status = solid.status()
    if status != manifold3d.Error.NoError:
        raise MeshError(name, f"manifold3d refuses it ({status.name})", "run repair_mesh and check it is closed")
    return SolidMesh(name, vertices, tris, tri_face, len(face_area), volume, lo, hi, tol, n_shells, solid)


def validate_solid_mesh(vertices, faces, name: str = "mesh") -> None:
    """Raise MeshError naming the problem and the fix unless the mesh is a fracturable solid.

    Faces are vertex loops (polygons, any size, may be non-convex) or lists of loops (an outer loop
    then holes). Checks, in order: empty; NaN/inf coordinates; faces with missing vertices or
    < 3 corners; degenerate (zero-area) faces; open edges (holes: how many and where); non-manifold
    edges (> 2 faces); inconsistent winding; flat or zero volume; inside out (negative volume);
    self-intersection. Several disjoint shells are fine (islands, or cavities wound inwards).

    Self-intersection is found in two ways: (1) triangle tests: an edge of one triangle crossing
    another triangle's plane strictly (both ends beyond 1e-9 of the mesh size) at a point of that
    triangle, for every pair with overlapping bounding boxes; two surfaces that cross always have
    such an edge; (2) winding numbers just off the largest faces of every shell must
    be 0 outside and 1 inside: this finds shells nested inside each other (a box inside a box) and
    inside-out shells, which cross no surface. Surfaces that only touch (coplanar overlap, shells
    sharing a face) are not reported.
    """
    prepare_solid(vertices, faces, name)


def _check_edges(vertices, tris, name):
    nv = len(vertices)
    src = tris.ravel()
    dst = tris[:, [1, 2, 0]].ravel()
    key = np.minimum(src, dst) * nv + np.maximum(src, dst)
    uniq, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)

    def mids(mask):
        k = uniq[mask]
        return 0.5 * (vertices[k // nv] + vertices[k % nv])

    open_edges = counts == 1
    if open_edges.any():
        m = mids(open_edges)
        raise MeshError(name, f"is open: {int(open_edges.sum())} boundary edges (holes), e.g. at {_where(m)}; "
                        f"they span {_where(m.min(0)[None], 1)} to {_where(m.max(0)[None], 1)}",
                        "close the holes (Blender: Select > All by Trait > Non Manifold, then Face > Fill) "
                        "or run repair_mesh if they are duplicate vertices")
    many = counts > 2
    if many.any():
        raise MeshError(name, f"is non-manifold: {int(many.sum())} edges shared by more than two faces, "
                        f"e.g. at {_where(mids(many))}",
                        "separate the parts that meet at those edges (Blender: Select > All by Trait > Non Manifold)")
    forward = np.bincount(inverse, (src < dst).astype(float), len(uniq))
    flipped = forward != 1
    if flipped.any():
        raise MeshError(name, f"has inconsistent winding: {int(flipped.sum())} edges where neighbouring faces "
                        f"disagree, e.g. at {_where(mids(flipped))}",
                        "run repair_mesh or Blender's Mesh > Normals > Recalculate Outside")


def _shells(tris, nv):
    """Connected shells of a closed triangle mesh: (shell per triangle, count)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nt = len(tris)
    rows = np.repeat(np.arange(nt), 3)
    graph = coo_matrix((np.ones(3 * nt), (rows, tris.ravel() + nt)), shape=(nt + nv, nt + nv))
    n, labels = connected_components(graph, directed=False)
    tri_labels = labels[:nt]
    _, shell = np.unique(tri_labels, return_inverse=True)
    return shell, int(shell.max()) + 1


def _check_winding(tri_points, shell, n_shells, diag, name, per_shell: int = 8, total: int = 256):
    """Winding numbers just outside / inside the largest faces of each shell must be 0 / 1."""
    cr = _cross(tri_points[:, 1] - tri_points[:, 0], tri_points[:, 2] - tri_points[:, 0])
    area = 0.5 * np.sqrt((cr * cr).sum(1))
    order = np.lexsort((-area, shell))
    first = np.searchsorted(shell[order], np.arange(n_shells))
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.append(first, len(order))))
    pick = order[rank < per_shell]
    if len(pick) > total:
        pick = pick[np.argsort(-area[pick], kind="stable")[:total]]
    pick = pick[area[pick] > 0]
    normal = cr[pick] / (2 * area[pick])[:, None]
    centre = tri_points[pick].mean(1)
    delta = 1e-6 * diag
    w_out = winding_numbers(centre + delta * normal, tri_points)
    w_in = winding_numbers(centre - delta * normal, tri_points)
    bad = (np.abs(w_out) > 0.25) | (np.abs(w_in - 1) > 0.25)
    if bad.any():
        k = int(np.argmax(bad))
        raise MeshError(name, f"overlaps itself or has an inside-out part near {_where(centre[k:k + 1], 1)} "
                        f"(winding number {w_in[k]:.2f} inside, {w_out[k]:.2f} outside; expected 1 and 0)",
                        "join overlapping parts with a Union boolean and recalculate normals outside")


def solid_from_manifold(solid, name: str = "mesh") -> SolidMesh:
    """A ``SolidMesh`` from a manifold3d ``Manifold`` that is closed and 2-manifold by construction
    (a solidified soup): no checks, triangles on one plane share a face id so cut pieces merge
    them back into polygons."""
    import manifold3d

    box = solid.bounding_box()
    # Booleans between nearly parallel faces (IFC walls cut from slabs) leave slivers whose planes
    # are known to ~1e-5 only: collapse edges shorter than 1e-4 of the size first.
    solid = solid.simplify(1e-4 * float(np.linalg.norm(np.subtract(box[3:], box[:3]))))
    islands = solid.decompose()
    if len(islands) > 1:  # drop sliver islands (1e-6 of the volume) a boolean can leave
        keep = [m for m in islands if m.volume() > 1e-6 * solid.volume()]
        solid = manifold3d.Manifold.compose(keep) if keep else solid
    mesh = solid.to_mesh()
    vertices = np.array(mesh.vert_properties, float)[:, :3]
    tris = np.asarray(mesh.tri_verts, np.int64)
    if len(tris) < 4 or solid.volume() <= 0:
        raise MeshError(name, "is empty after solidifying", "give a mesh that encloses volume")
    lo, hi = vertices.min(0), vertices.max(0)
    diag = float(np.linalg.norm(hi - lo))
    tol = _REL_TOL * diag
    p = vertices[tris]
    cr = _cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    normal = cr / np.maximum(np.linalg.norm(cr, axis=1), 1e-300)[:, None]
    offset = np.einsum("ij,ij->i", normal, p[:, 0])
    key = np.column_stack([np.round(normal * 1e9), np.round(offset / max(1e-9 * diag, 1e-15))])
    _, tri_face = np.unique(key, axis=0, return_inverse=True)
    tri_face = tri_face.ravel().astype(np.int64)
    rebuilt = manifold3d.Manifold(manifold3d.Mesh64(
        vert_properties=np.ascontiguousarray(vertices), tri_verts=np.ascontiguousarray(tris, dtype=np.uint64),
        face_id=np.ascontiguousarray(tri_face, dtype=np.uint64)))
    if rebuilt.status() != manifold3d.Error.NoError:
        raise MeshError(name, f"manifold3d refuses the solidified mesh ({rebuilt.status().name})",
                        "try a finer [mesh] solidify_step")
    shell, n_shells = _shells(tris, len(vertices))
    return SolidMesh(name, vertices, tris, tri_face, int(tri_face.max()) + 1, float(rebuilt.volume()),
                     lo, hi, tol, n_shells, rebuilt)
