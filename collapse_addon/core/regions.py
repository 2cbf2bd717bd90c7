"""Where a trigger acts: shards in a box, a sphere or a storey band, and bonds crossing a cut plane.

Pure numpy (never imports bpy). Works on any shard set (procedural building or an artist's mesh,
which has no element kinds): selections are geometric, on shard centroids, so a demolition can
take out "everything between 0 and 3.2 m inside this plan rectangle" on any building.

Every function takes ``points`` (N, 3): shard centroids (``ShardSet.centroid`` or
``SupportGraph.centroid``) and returns an (N,) bool mask; bond selections take the support graph's
``bond_pairs`` and the node centroids and return an (M,) bool mask.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError

REGION_KINDS = ("box", "sphere", "storey", "band")


def _vec(value, name: str, n: int = 3) -> np.ndarray:
    try:
        out = np.asarray(value, float).reshape(-1)
    except (TypeError, ValueError):
        raise SpecError(name, f"must be {n} numbers, got {value!r}", f"give [{', '.join('xyz'[:n])}] in metres") from None
    if out.shape != (n,) or not np.isfinite(out).all():
        raise SpecError(name, f"must be {n} finite numbers, got {value!r}", f"give [{', '.join('xyz'[:n])}] in metres")
    return out


def _points(points) -> np.ndarray:
    p = np.asarray(points, float)
    if p.ndim != 2 or p.shape[1] != 3:
        raise SpecError("points", f"must be an (N, 3) array, got shape {p.shape}", "pass shard centroids")
    return p


def in_box(points, lo, hi) -> np.ndarray:
    """Points inside the axis-aligned box ``lo``-``hi`` (inclusive)."""
    lo, hi = _vec(lo, "lo"), _vec(hi, "hi")
    if (hi < lo).any():
        raise SpecError("hi", f"{hi.tolist()} is below lo {lo.tolist()} on some axis", "give hi >= lo on every axis")
    p = _points(points)
    return ((p >= lo) & (p <= hi)).all(1)


def in_sphere(points, centre, radius: float) -> np.ndarray:
    """Points within ``radius`` of ``centre``."""
    centre = _vec(centre, "centre")
    if not (np.isfinite(radius) and radius > 0):
        raise SpecError("radius", f"must be > 0, got {radius!r}", "give a radius in metres")
    p = _points(points)
    return ((p - centre) ** 2).sum(1) <= radius * radius


def in_band(points, z0: float, z1: float, plan=None) -> np.ndarray:
    """Points with ``z0 <= z < z1``, optionally inside the plan rectangle ``[x0, y0, x1, y1]``."""
    if not (np.isfinite(z0) and np.isfinite(z1) and z1 > z0):
        raise SpecError("z1", f"band {z0!r}-{z1!r} is empty or not finite", "give z1 > z0 in metres")
    p = _points(points)
    mask = (p[:, 2] >= z0) & (p[:, 2] < z1)
    if plan is not None:
        x0, y0, x1, y1 = _vec(plan, "plan", 4)
        if x1 <= x0 or y1 <= y0:
            raise SpecError("plan", f"{[x0, y0, x1, y1]} is empty", "give [x0, y0, x1, y1] with x1 > x0, y1 > y0")
        mask &= (p[:, 0] >= x0) & (p[:, 0] <= x1) & (p[:, 1] >= y0) & (p[:, 1] <= y1)
    return mask


def storey_band(storey: int, storey_height: float, ground_z: float = 0.0) -> tuple[float, float]:
    """The z range of storey ``storey`` (0: ground storey) of a building of equal storeys."""
    if isinstance(storey, bool) or not isinstance(storey, int | np.integer) or storey < 0:
        raise SpecError("storey", f"must be a storey number >= 0, got {storey!r}", "0 is the ground storey")
    if not (np.isfinite(storey_height) and storey_height > 0):
        raise SpecError("storey_height", f"must be > 0, got {storey_height!r}", "give metres, e.g. 3.2")
    z0 = ground_z + storey * storey_height
    return z0, z0 + storey_height


def in_storey(points, storey: int, storey_height: float, ground_z: float = 0.0, plan=None) -> np.ndarray:
    """Points in storey ``storey`` (centroid height in its band), optionally in a plan rectangle."""
    z0, z1 = storey_band(storey, storey_height, ground_z)
    return in_band(points, z0, z1, plan)


def crossing_plane(pairs, points, point, normal, *, within=None) -> np.ndarray:
    """(M,) bonds whose two nodes lie on opposite sides of the plane through ``point``.

    ``within`` (optional (M,) bool or a callable on the bond midpoints returning one) restricts the
    cut, e.g. to a plan region: ``within=lambda mid: in_box(mid, lo, hi)``.
    """
    point, normal = _vec(point, "point"), _vec(normal, "normal")
    length = np.linalg.norm(normal)
    if length == 0:
        raise SpecError("normal", "is the zero vector", "give the cut plane's normal, e.g. [0, 0, 1]")
    p = _points(points)
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    side = (p - point) @ (normal / length)
    cross = (side[pairs[:, 0]] > 0) != (side[pairs[:, 1]] > 0)
    if within is not None:
        mid = 0.5 * (p[pairs[:, 0]] + p[pairs[:, 1]])
        cross &= np.asarray(within(mid) if callable(within) else within, bool)
    return cross


def bonds_touching(pairs, mask) -> np.ndarray:
    """(M,) bonds with at least one node in ``mask`` (the bonds a charge in that region cuts)."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    mask = np.asarray(mask, bool)
    return mask[pairs].any(1)


@dataclass(frozen=True)
class Region:
    """A trigger region as data (scene files, the UI): ``kind`` box, sphere, storey or band.

    box: ``lo``, ``hi``; sphere: ``centre``, ``radius``; storey: ``storey``, ``storey_height``
    (and ``ground_z``); band: ``z0``, ``z1``. storey and band take an optional ``plan`` rectangle.
    """

    kind: str
    lo: tuple | None = None
    hi: tuple | None = None
    centre: tuple | None = None
    radius: float | None = None
    storey: int | None = None
    storey_height: float | None = None
    ground_z: float = 0.0
    z0: float | None = None
    z1: float | None = None
    plan: tuple | None = None

    def __post_init__(self):
        if self.kind not in REGION_KINDS:
            raise SpecError("kind", f"unknown region kind {self.kind!r}", f"choose from {', '.join(REGION_KINDS)}")
        needs = {"box": ("lo", "hi"), "sphere": ("centre", "radius"), "storey": ("storey", "storey_height"),
                 "band": ("z0", "z1")}[self.kind]
        for name in needs:
            if getattr(self, name) is None:
                raise SpecError(name, f"is required for a {self.kind} region", f"give {' and '.join(needs)}")
        self.select(np.zeros((0, 3)))  # validates the values

    def select(self, points) -> np.ndarray:
        """(N,) bool over ``points``."""
        if self.kind == "box":
            return in_box(points, self.lo, self.hi)
        if self.kind == "sphere":
            return in_sphere(points, self.centre, float(self.radius))
        if self.kind == "storey":
            return in_storey(points, self.storey, float(self.storey_height), self.ground_z, self.plan)
        return in_band(points, float(self.z0), float(self.z1), self.plan)
