"""Solidify instead of refuse: any triangle soup (open, self-intersecting, doubly covered,
mis-oriented, non-manifold, several open pieces) becomes a closed 2-manifold solid that follows
the artist's surface to a stated tolerance.

Inside and outside come from the generalised winding number (``winding_numbers``): above one half
is inside. It copes with these defects because it only sums signed solid angles: a hole lowers
it near the hole only, a doubled face counts twice only where it is, overlapping parts add up to
more than one (still inside). A large face wound the wrong way would pull it down everywhere, so
``prepare_mesh`` solidifies the output of the checked repair (winding made consistent). The solid is the level set of a signed distance: the magnitude is the
exact distance to the nearest input triangle (within a band of three grid steps, clamped beyond),
the sign is the winding number's. manifold3d's ``Manifold.level_set`` (marching tetrahedra on a
body-centred cubic grid) turns it into a mesh that is always closed and 2-manifold. Its samples
are collected in one pass, evaluated in bulk with numpy, then read back in a second pass.

The report states the volume change against the winding-number volume (the grid points with a
winding number above one half) and the largest distance from a vertex of the result to the input
surface (where the input had no surface, a hole bridged, this is how far the bridge lies from it).

Pure numpy plus manifold3d; never imports bpy. Cost: O(grid points x triangles) for the winding
numbers (about 1-3 s for a 1,000-triangle mesh at the default 64 steps along its longest side).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import MeshError
from .mesh_geometry import aabb_pairs, triangulate_faces, winding_numbers

DEFAULT_RESOLUTION = 64  # grid steps along the longest side of the mesh's bounding box
_BAND = 3.0  # exact distances within this many grid steps of the surface
_MAX_POINTS = 1_500_000  # grid points of the level set at most (default step)


@dataclass(frozen=True)
class Solidified:
    """A closed solid made from a triangle soup, and how far it is from the input."""

    name: str
    vertices: np.ndarray  # (V, 3)
    triangles: np.ndarray  # (T, 3), outward, closed, 2-manifold
    volume: float
    winding_volume: float  # volume where the input's winding number is above one half (grid)
    max_deviation: float  # largest distance from a result vertex to the input surface, m
    step: float  # grid step, m
    manifold: object

    @property
    def volume_change(self) -> float:
        """Relative volume change against the winding-number volume."""
        return self.volume / self.winding_volume - 1.0 if self.winding_volume > 0 else float("inf")

    def describe(self) -> str:
        change = self.volume_change * 100
        side = "above" if change >= 0 else "below"
        return (f"solidified: volume {abs(change):.1f}% {side} the winding-number volume, max "
                f"deviation {_length(self.max_deviation)} (grid step {_length(self.step)})")


def _length(x: float) -> str:
    return f"{x * 100:.0f} cm" if x < 1 else f"{x:.2f} m"


def solidify_mesh(vertices, faces, *, name: str = "mesh", step: float | None = None,
                  resolution: int = DEFAULT_RESOLUTION) -> Solidified:
    """A closed 2-manifold solid following any triangle soup (see the module docstring).

    ``step``: grid step in metres (default: the longest bounding-box side / ``resolution``, or a
    quarter of the shortest side when finer, within 1.5 million grid points).
    Raises MeshError when nothing encloses any volume (a flat or empty soup).
    """
    import manifold3d

    v = np.array(vertices, dtype=float) if vertices is not None else np.zeros((0, 3))
    if v.ndim != 2 or v.shape[1] != 3 or len(v) < 3 or faces is None or len(faces) == 0:
        raise MeshError(name, "is empty: nothing to solidify", "give a mesh with faces")
    bad = np.nonzero(~np.isfinite(v).all(1))[0]
    if len(bad):
        raise MeshError(name, f"{len(bad)} vertices have NaN or infinite coordinates (first: vertex "
                        f"{bad[0]} of the file)", "fix or delete those vertices")
    tris, _, _ = triangulate_faces(v, faces, name)
    tp = v[tris]
    cr = np.cross(tp[:, 1] - tp[:, 0], tp[:, 2] - tp[:, 0])
    tp = tp[np.linalg.norm(cr, axis=1) > 0]
    if len(tp) == 0:
        raise MeshError(name, "has no face with area", "give a mesh with faces")
    lo, hi = tp.reshape(-1, 3).min(0), tp.reshape(-1, 3).max(0)
    if step is None:
        # The longest side / resolution, finer for thin parts (4 steps across the thinnest side),
        # but never more than ~1.5 million grid points.
        extent = np.maximum(hi - lo, 1e-9)
        step = min(float(extent.max()) / max(int(resolution), 4), float(extent.min()) / 4)
        step = max(step, float((2 * np.prod(extent) / _MAX_POINTS) ** (1 / 3)))
    if not step > 0:
        raise MeshError(name, "is a single point or line", "give a mesh with volume")
    pad = 2.0 * step
    bounds = [*(lo - pad).tolist(), *(hi + pad).tolist()]

    points: list = []

    def record(x, y, z):
        points.append((x, y, z))
        return -1.0

    manifold3d.Manifold.level_set(record, bounds, step)
    p = np.array(points, float)
    sdf = signed_distance(p, tp, step * _BAND)
    table = dict(zip(points, sdf.tolist(), strict=True))

    def lookup(x, y, z):
        value = table.get((x, y, z))
        return value if value is not None else float(signed_distance(np.array([[x, y, z]]), tp,
                                                                     step * _BAND)[0])

    raw = manifold3d.Manifold.level_set(lookup, bounds, step)
    if raw.is_empty() or raw.volume() <= 0:
        raise MeshError(name, "encloses no volume at this grid step (a flat or open sheet?)",
                        f"give the surface thickness, or a finer step than {step:.3g} m")
    winding_volume = _winding_volume(tp, lo, hi, step, p, sdf)
    # Merge the level set's coplanar triangles (flat walls) within a small fraction of the step.
    solid = raw.simplify(1e-3 * step)
    mesh = solid.to_mesh()
    out_v = np.asarray(mesh.vert_properties, float)[:, :3]
    out_t = np.asarray(mesh.tri_verts, np.int64)
    raw_v = np.asarray(raw.to_mesh().vert_properties, float)[:, :3]
    probe = np.concatenate([out_v, raw_v[:: max(1, len(raw_v) // 4000)]])
    deviation = float(unsigned_distance(probe, tp, np.inf).max()) + 1e-3 * step
    return Solidified(name, out_v, out_t, float(solid.volume()), winding_volume, deviation,
                      step, solid)


def _winding_volume(tp, lo, hi, step, samples, sdf) -> float:
    """Volume where the winding number is above one half, counted on a cubic grid of ``step``:
    exact winding numbers for cells near the surface, the nearest level-set sample's sign for the
    others (no surface lies between them)."""
    from scipy.spatial import cKDTree

    n = np.maximum(np.ceil((hi - lo) / step).astype(int), 1)
    axes = [lo[k] + (np.arange(n[k]) + 0.5) * (hi[k] - lo[k]) / n[k] for k in range(3)]
    centres = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    cell = float(np.prod((hi - lo) / n))
    near = unsigned_distance(centres, tp, 2.0 * step) < 2.0 * step
    inside = np.zeros(len(centres), bool)
    inside[near] = winding_numbers(centres[near], tp) > 0.5
    if (~near).any():
        _, k = cKDTree(samples).query(centres[~near])
        inside[~near] = sdf[k] > 0
    return float(inside.sum()) * cell


def signed_distance(points: np.ndarray, tri_points: np.ndarray, band: float) -> np.ndarray:
    """Distance to the nearest triangle (clamped at ``band``), positive where the winding number
    is above one half (inside), negative outside."""
    d = unsigned_distance(points, tri_points, band)
    w = winding_numbers(points, tri_points)
    return np.where(w > 0.5, d, -d)


def unsigned_distance(points: np.ndarray, tri_points: np.ndarray, band: float) -> np.ndarray:
    """Exact distance from each point to the nearest triangle, or ``band`` where none is nearer
    (``band = inf``: search outwards until every point has its nearest triangle)."""
    points = np.asarray(points, float)
    out = np.full(len(points), band if np.isfinite(band) else np.inf)
    if not np.isfinite(band):
        # The nearest triangle lies within the distance to the nearest corner.
        from scipy.spatial import cKDTree

        reach, _ = cKDTree(tri_points.reshape(-1, 3)).query(points)
        radius = reach + 1e-12
    else:
        radius = np.full(len(points), band)
    tlo, thi = tri_points.min(1), tri_points.max(1)
    pi, ti = aabb_pairs(points - radius[:, None], points + radius[:, None], tlo, thi)
    for s in range(0, len(pi), 500_000):
        i, t = pi[s:s + 500_000], ti[s:s + 500_000]
        d = point_triangle_distance(points[i], tri_points[t])
        np.minimum.at(out, i, d)
    return out


def point_triangle_distance(p: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """Row-wise exact distance from points (N, 3) to triangles (N, 3, 3) (closest-point regions)."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]

    def dot(x, y):
        return np.einsum("ij,ij->i", x, y)

    ab, ac, ap = b - a, c - a, p - a
    d1, d2 = dot(ab, ap), dot(ac, ap)
    bp, cp = p - b, p - c
    d3, d4 = dot(ab, bp), dot(ac, bp)
    d5, d6 = dot(ab, cp), dot(ac, cp)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    # Interior by default; the vertex and edge regions overwrite it in order.
    denom = va + vb + vc
    safe = np.where(np.abs(denom) > 0, denom, 1.0)
    v_ = vb / safe
    w_ = vc / safe
    q = a + ab * v_[:, None] + ac * w_[:, None]

    def edge(mask, start, direction, t):
        t = np.clip(np.nan_to_num(t), 0.0, 1.0)
        q[mask] = (start + direction * t[:, None])[mask]

    with np.errstate(divide="ignore", invalid="ignore"):
        edge((va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0), b, c - b, (d4 - d3) / ((d4 - d3) + (d5 - d6)))
        edge((vb <= 0) & (d2 >= 0) & (d6 <= 0), a, ac, d2 / (d2 - d6))
        edge((vc <= 0) & (d1 >= 0) & (d3 <= 0), a, ab, d1 / (d1 - d3))
    q[(d6 >= 0) & (d5 <= d6)] = c[(d6 >= 0) & (d5 <= d6)]
    q[(d3 >= 0) & (d4 <= d3)] = b[(d3 >= 0) & (d4 <= d3)]
    q[(d1 <= 0) & (d2 <= 0)] = a[(d1 <= 0) & (d2 <= 0)]
    # Degenerate (zero-area) triangles: the nearest of their three corners is close enough.
    flat = ~(np.abs(denom) > 0)
    if flat.any():
        corners = np.stack([a[flat], b[flat], c[flat]], 1)
        k = np.argmin(((corners - p[flat][:, None]) ** 2).sum(2), 1)
        q[flat] = corners[np.arange(len(k)), k]
    diff = p - q
    return np.sqrt(dot(diff, diff))


def winding_volume(vertices, faces, step: float) -> float:
    """Volume where the mesh's winding number is above one half, counted at the centres of a
    cubic grid of ``step`` over its bounding box (the reference ``solidify_mesh`` reports against)."""
    v = np.asarray(vertices, float)
    tris, _, _ = triangulate_faces(v, faces)
    tp = v[tris]
    lo, hi = tp.reshape(-1, 3).min(0), tp.reshape(-1, 3).max(0)
    n = np.maximum(np.ceil((hi - lo) / step).astype(int), 1)
    axes = [lo[k] + (np.arange(n[k]) + 0.5) * (hi[k] - lo[k]) / n[k] for k in range(3)]
    centres = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    return float((winding_numbers(centres, tp) > 0.5).sum() * np.prod((hi - lo) / n))
