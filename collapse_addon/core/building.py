"""Procedural building: a column-and-slab frame with infill walls, as convex box elements.

Pure numpy. Every element is an axis-aligned box (a convex solid); elements touch on faces and never
overlap, because overlapping rigid bodies are pushed apart violently by Bullet at the first frame.

Layout (metres, z up): grid lines at x = i * bay_width, y = j * bay_depth; the foundation's top is
z = 0. In storey s (0-based), columns stand on the slab below (or the foundation) from z = s*h to
the slab soffit; beams span between column faces under the slab; slab panels (one per bay) cover the
frame to the columns' outer faces; facade walls fill the clear height between columns and under the
beams, split around each window into piers, a spandrel and a lintel so every piece stays convex.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import SpecError
from .field_meta import check_fields, spec_field
from .materials import MATERIALS

MATERIAL_NAMES = tuple(MATERIALS)

ELEMENT_KINDS = ("foundation", "column", "beam", "slab", "wall", "mesh", "opening")  # mesh: an artist's solid
# opening: a window or door (IFC): carries nothing by design, so its joints to the wall are joints
FACADES = ("south", "north", "west", "east")
_TOUCH_TOL = 1e-9
# A length of a structural part, and one that may be 0 (leaves the part out).
_LENGTH = {"limits": (0, 100), "open_low": True, "unit": "m", "hint": "give a positive length in metres",
           "ui": {"min": 0.01}}
_OPTIONAL_LENGTH = {"limits": (0, 100), "unit": "m", "hint": "use 0 to leave it out"}


@dataclass(frozen=True)
class BuildingSpec:
    """Parameters of a procedural frame building. Lengths in metres.

    The defaults give a plausible 4-storey reinforced-concrete frame with masonry infill walls.
    """

    bays_x: int = spec_field(3, limits=(1, 50), integer=True,
                             doc="Bays (column grid spans) along x.")
    bays_y: int = spec_field(2, limits=(1, 50), integer=True, doc="Bays along y.")
    bay_width: float = spec_field(5.0, **_LENGTH, soft_limits=(2.0, 20.0),
                                  doc="Column spacing along x (more than column_section + 0.2 m).")
    bay_depth: float = spec_field(4.5, **_LENGTH, soft_limits=(2.0, 20.0),
                                  doc="Column spacing along y (more than column_section + 0.2 m).")
    storeys: int = spec_field(4, limits=(1, 60), integer=True,
                              doc="Number of storeys above the foundation.")
    storey_height: float = spec_field(3.2, **_LENGTH, soft_limits=(2.4, 6.0),
                                      doc="Floor-to-floor height.")
    slab_thickness: float = spec_field(0.22, **_LENGTH, soft_limits=(0.1, 0.5),
                                       doc="Floor slab thickness.")
    column_section: float = spec_field(0.4, **_LENGTH, soft_limits=(0.2, 1.2),
                                       doc="Square column edge.")
    beam_depth: float = spec_field(0.45, **_LENGTH, soft_limits=(0.2, 1.0),
                                   doc="Beam depth under the slab.")
    beam_width: float = spec_field(0.3, **_LENGTH, soft_limits=(0.15, 1.0),
                                   doc="Beam width (at most column_section).")
    wall_thickness: float = spec_field(0.2, **_LENGTH, soft_limits=(0.1, 0.6),
                                       doc="Infill wall thickness (at most column_section).")
    window_width: float = spec_field(1.6, **_OPTIONAL_LENGTH, soft_limits=(0.0, 4.0),
                                     doc="Window width per wall panel; 0 with window_height 0: "
                                         "solid walls.")
    window_height: float = spec_field(1.4, **_OPTIONAL_LENGTH, soft_limits=(0.0, 3.0),
                                      doc="Window height (0: solid walls).")
    window_sill: float = spec_field(0.9, **_OPTIONAL_LENGTH, soft_limits=(0.0, 2.0),
                                    doc="Window sill height above the floor.")
    facades: tuple[str, ...] = spec_field(FACADES, choices=FACADES,
                                          allowed="list of " + ", ".join(f"`{f}`" for f in FACADES),
                                          doc="Facades with infill walls.")
    foundation_depth: float = spec_field(0.6, **_LENGTH, soft_limits=(0.2, 2.0),
                                         doc="Foundation slab depth below z = 0.")
    foundation_margin: float = spec_field(0.5, **_OPTIONAL_LENGTH, soft_limits=(0.0, 3.0),
                                          doc="How far the foundation reaches beyond the columns.")
    frame_material: str = spec_field("reinforced_concrete", choices=MATERIAL_NAMES,
                                     doc="Material of columns, beams, slabs and foundation.")
    wall_material: str = spec_field("masonry", choices=MATERIAL_NAMES,
                                    doc="Material of the infill walls.")

    def __post_init__(self):
        object.__setattr__(self, "facades", tuple(self.facades))
        validate_building_spec(self)

    @property
    def width(self) -> float:
        """Grid length along x (column centre to column centre)."""
        return self.bays_x * self.bay_width

    @property
    def depth(self) -> float:
        """Grid length along y."""
        return self.bays_y * self.bay_depth

    @property
    def height(self) -> float:
        """Height of the roof slab's top above the foundation."""
        return self.storeys * self.storey_height

    @property
    def wall_clear_height(self) -> float:
        """Height of a wall panel: floor to beam soffit."""
        return self.storey_height - self.slab_thickness - self.beam_depth


def _check(ok: bool, field_name: str, problem: str, fix: str) -> None:
    if not ok:
        raise SpecError(field_name, problem, fix)


def validate_building_spec(spec: BuildingSpec) -> None:
    """Raise SpecError naming the first field that makes ``spec`` unbuildable."""
    check_fields(spec)  # type, value set and range of every field (the field table)
    c = spec.column_section
    _check(spec.bay_width > c + 0.2, "bay_width",
           f"{spec.bay_width} m leaves no room between {c} m columns",
           f"make it more than column_section + 0.2 = {c + 0.2:g} m")
    _check(spec.bay_depth > c + 0.2, "bay_depth",
           f"{spec.bay_depth} m leaves no room between {c} m columns",
           f"make it more than column_section + 0.2 = {c + 0.2:g} m")
    _check(spec.beam_width <= c, "beam_width", f"{spec.beam_width} m is wider than the columns",
           f"make it at most column_section = {c:g} m")
    _check(spec.wall_thickness <= c, "wall_thickness",
           f"{spec.wall_thickness} m is thicker than the columns", f"make it at most {c:g} m")
    clear = spec.wall_clear_height
    _check(clear >= 0.5, "storey_height",
           f"{spec.storey_height} m leaves {clear:.3g} m under slab and beam",
           f"make it at least slab_thickness + beam_depth + 0.5 = "
           f"{spec.slab_thickness + spec.beam_depth + 0.5:g} m")
    if spec.window_width > 0 or spec.window_height > 0:
        _check(spec.window_width > 0 and spec.window_height > 0, "window_width",
               "window_width and window_height must both be > 0 for windows",
               "set both, or both to 0 for solid walls")
        span = min(spec.bay_width, spec.bay_depth) - c
        _check(spec.window_width <= span - 0.2, "window_width",
               f"{spec.window_width} m does not fit a {span:.3g} m wall with 0.1 m piers",
               f"make it at most {span - 0.2:.3g} m")
        _check(spec.window_sill + spec.window_height <= clear - 0.1, "window_height",
               f"sill {spec.window_sill} m + height {spec.window_height} m leaves no lintel "
               f"under a {clear:.3g} m clear height",
               f"make window_sill + window_height at most {clear - 0.1:.3g} m")
    _check(len(set(spec.facades)) == len(spec.facades), "facades", "a facade is listed twice",
           "list each facade once")
    # Refuse up front what cannot be fractured (at least one shard per element) rather than
    # lay out hundreds of thousands of elements first (60 x 50 x 50 bays: 660,061, 4.2 GB, 38 s).
    from .seeds import MAX_CELLS

    count = estimate_element_count(spec)
    _check(count <= MAX_CELLS, "storeys",
           f"{spec.storeys} storeys of {spec.bays_x} x {spec.bays_y} bays make {count:,} elements "
           f"(about {count * ELEMENT_BYTES / 2**30:.1f} GiB to lay out), more than the "
           f"{MAX_CELLS:,} shards a fracture can make",
           "use fewer storeys or bays")


ELEMENT_BYTES = 6_500  # measured: 4.2 GB peak for 660,061 elements and their 2.8 M contacts


def estimate_element_count(spec: BuildingSpec) -> int:
    """How many elements ``generate_building`` lays out for ``spec`` (exact, without building)."""
    bx, by, c = spec.bays_x, spec.bays_y, spec.column_section
    frame = (bx + 1) * (by + 1) + bx * (by + 1) + (bx + 1) * by + bx * by
    walls = 0
    for facade in set(spec.facades) & set(FACADES):
        along_x = facade in ("south", "north")
        bays, width = (bx, spec.bay_width) if along_x else (by, spec.bay_depth)
        walls += bays * len(_wall_pieces(spec, 0.0, width - c, 0.0))
    return 1 + spec.storeys * (frame + walls)


@dataclass(frozen=True)
class Element:
    """One structural element: an axis-aligned box with its role in the building."""

    index: int
    kind: str
    storey: int
    material: str
    lo: np.ndarray
    hi: np.ndarray
    part: str = ""

    @property
    def size(self) -> np.ndarray:
        return self.hi - self.lo

    @property
    def volume(self) -> float:
        return float(np.prod(self.hi - self.lo))

    @property
    def centroid(self) -> np.ndarray:
        return 0.5 * (self.lo + self.hi)

    @property
    def name(self) -> str:
        label = self.part or self.kind
        return f"{label}_s{self.storey}_{self.index:04d}"


@dataclass(frozen=True)
class ElementContacts:
    """Face-to-face contacts between elements, one row per unordered pair.

    ``normal`` points from ``pairs[:, 0]`` to ``pairs[:, 1]`` (an axis direction); ``rests_on``
    is True where the second element rests on the first (a vertical load path).
    """

    pairs: np.ndarray  # (C, 2) int
    axis: np.ndarray  # (C,) int: 0, 1, 2
    area: np.ndarray  # (C,) m^2
    centroid: np.ndarray  # (C, 3)
    normal: np.ndarray  # (C, 3)

    @property
    def rests_on(self) -> np.ndarray:
        return self.normal[:, 2] > 0.5


@dataclass(frozen=True)
class Building:
    """The elements of a building and how they touch."""

    spec: BuildingSpec | None
    elements: list[Element]
    contacts: ElementContacts = field(repr=False)
    # The shot's material table (presets + the scene's overrides, ``settings.resolve_materials``),
    # read by everything that needs a density or strength; None: the presets.
    materials: dict | None = field(default=None, repr=False, compare=False)

    @property
    def lo(self) -> np.ndarray:
        return np.min([e.lo for e in self.elements], axis=0)

    @property
    def hi(self) -> np.ndarray:
        return np.max([e.hi for e in self.elements], axis=0)

    def count(self, kind: str) -> int:
        return sum(e.kind == kind for e in self.elements)


def element_box_contacts(lo: np.ndarray, hi: np.ndarray, tol: float = _TOUCH_TOL) -> ElementContacts:
    """Find every pair of boxes that share a face patch of positive area.

    Candidate pairs come from a uniform grid (``grid_box_pairs``), so the cost follows the
    touching pairs, not all n^2 pairs (a 20 x 10 x 10-bay building has 12,000 elements and
    46,000 contacts among 72 million pairs).
    """
    lo = np.asarray(lo, float).reshape(-1, 3)
    hi = np.asarray(hi, float).reshape(-1, 3)
    ia, ib = grid_box_pairs(lo - tol, hi + tol)
    rows = []
    for axis in range(3):
        others = [k for k in range(3) if k != axis]
        overlap = np.ones(len(ia))
        for k in others:
            overlap = overlap * np.clip(np.minimum(hi[ia, k], hi[ib, k]) - np.maximum(lo[ia, k], lo[ib, k]), 0, None)
        for sign, face_a, face_b in ((1.0, hi[ia, axis], lo[ib, axis]), (-1.0, lo[ia, axis], hi[ib, axis])):
            touch = (np.abs(face_a - face_b) <= tol) & (overlap > tol)
            idx = np.nonzero(touch)[0]
            if len(idx) == 0:
                continue
            centroid = np.empty((len(idx), 3))
            for k in others:
                centroid[:, k] = 0.5 * (np.maximum(lo[ia[idx], k], lo[ib[idx], k])
                                        + np.minimum(hi[ia[idx], k], hi[ib[idx], k]))
            centroid[:, axis] = face_a[idx]
            normal = np.zeros((len(idx), 3))
            normal[:, axis] = sign
            rows.append((ia[idx], ib[idx], np.full(len(idx), axis), overlap[idx], centroid, normal))
    if not rows:
        return ElementContacts(np.zeros((0, 2), int), np.zeros(0, int), np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3)))
    a, b, axis, area, centroid, normal = (np.concatenate(parts) for parts in zip(*rows, strict=True))
    order = np.lexsort((b, a))
    return ElementContacts(np.stack([a, b], 1)[order], axis[order], area[order], centroid[order], normal[order])


def grid_box_pairs(lo: np.ndarray, hi: np.ndarray, max_entries: int = 50_000_000):
    """Pairs (i < j) of boxes that overlap or touch, through a uniform grid.

    Each box is entered in every grid cell it overlaps (cell side: twice the median box extent,
    so a typical box sits in a few cells); only boxes sharing a cell are compared. Raises
    SpecError when the grid would need more than ``max_entries`` entries (boxes far larger than
    the typical one, hundreds of thousands of boxes).
    """
    n = len(lo)
    if n < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    extent = (hi - lo).max(1)
    cell = max(2.0 * float(np.median(extent)), 1e-9)
    origin = lo.min(0)
    c0 = np.floor((lo - origin) / cell).astype(np.int64)
    c1 = np.floor((hi - origin) / cell).astype(np.int64)
    span = c1 - c0 + 1
    count = span.prod(1)
    total = int(count.sum())
    if total > max_entries:
        raise SpecError("building", f"{n} elements need a contact grid of {total:,} entries "
                        f"(about {total * 40 / 2**30:.1f} GiB)", "build a smaller building")
    box = np.repeat(np.arange(n), count)
    local = np.arange(total) - np.repeat(np.cumsum(count) - count, count)
    sy, sz = span[box, 1], span[box, 2]
    cx = c0[box, 0] + local // (sy * sz)
    cy = c0[box, 1] + (local // sz) % sy
    cz = c0[box, 2] + local % sz
    dims = c1.max(0) + 1
    key = (cx * dims[1] + cy) * dims[2] + cz
    order = np.lexsort((box, key))
    key, box = key[order], box[order]
    end = np.searchsorted(key, key, "right")
    later = end - np.arange(total) - 1  # boxes after this one in its cell
    i = np.repeat(box, later)
    offsets = np.repeat(np.arange(total) + 1 - np.concatenate([[0], np.cumsum(later)[:-1]]), later)
    j = box[offsets + np.arange(len(i))]
    a, b = np.minimum(i, j), np.maximum(i, j)
    keep = a != b
    pair = np.unique(a[keep] * n + b[keep])
    a, b = pair // n, pair % n
    touch = ((lo[a] <= hi[b]) & (lo[b] <= hi[a])).all(1)
    return a[touch], b[touch]


def generate_building(spec: BuildingSpec | None = None) -> Building:
    """Lay out the elements of ``spec`` (defaults when None) and find their contacts."""
    spec = spec or BuildingSpec()
    boxes: list[tuple[str, int, str, str, tuple, tuple]] = []
    c, h, t = spec.column_section, spec.storey_height, spec.slab_thickness
    d, bw, wt = spec.beam_depth, spec.beam_width, spec.wall_thickness
    xs = np.arange(spec.bays_x + 1) * spec.bay_width
    ys = np.arange(spec.bays_y + 1) * spec.bay_depth
    # Slab panel edges: grid lines inside, column outer faces at the perimeter.
    slab_x = np.concatenate([[xs[0] - c / 2], xs[1:-1], [xs[-1] + c / 2]])
    slab_y = np.concatenate([[ys[0] - c / 2], ys[1:-1], [ys[-1] + c / 2]])
    frame, wall_mat = spec.frame_material, spec.wall_material

    m = spec.foundation_margin
    boxes.append(("foundation", -1, frame, "", (slab_x[0] - m, slab_y[0] - m, -spec.foundation_depth),
                  (slab_x[-1] + m, slab_y[-1] + m, 0.0)))
    for s in range(spec.storeys):
        z0, z_soffit = s * h, (s + 1) * h - t
        z_beam = z_soffit - d
        for x in xs:
            for y in ys:
                boxes.append(("column", s, frame, "", (x - c / 2, y - c / 2, z0), (x + c / 2, y + c / 2, z_soffit)))
        for y in ys:
            for i in range(spec.bays_x):
                boxes.append(("beam", s, frame, "", (xs[i] + c / 2, y - bw / 2, z_beam),
                              (xs[i + 1] - c / 2, y + bw / 2, z_soffit)))
        for x in xs:
            for j in range(spec.bays_y):
                boxes.append(("beam", s, frame, "", (x - bw / 2, ys[j] + c / 2, z_beam),
                              (x + bw / 2, ys[j + 1] - c / 2, z_soffit)))
        for i in range(spec.bays_x):
            for j in range(spec.bays_y):
                boxes.append(("slab", s, frame, "", (slab_x[i], slab_y[j], z_soffit),
                              (slab_x[i + 1], slab_y[j + 1], z0 + h)))
        for facade in spec.facades:
            along_x = facade in ("south", "north")
            grid, line = (xs, ys[0] if facade == "south" else ys[-1]) if along_x else \
                (ys, xs[0] if facade == "west" else xs[-1])
            for k in range(len(grid) - 1):
                for part, (u0, u1, v0, v1) in _wall_pieces(spec, grid[k] + c / 2, grid[k + 1] - c / 2, z0):
                    if along_x:
                        lo, hi = (u0, line - wt / 2, v0), (u1, line + wt / 2, v1)
                    else:
                        lo, hi = (line - wt / 2, u0, v0), (line + wt / 2, u1, v1)
                    boxes.append(("wall", s, wall_mat, part, lo, hi))
    elements = [Element(i, kind, storey, mat, np.array(lo, float), np.array(hi, float), part)
                for i, (kind, storey, mat, part, lo, hi) in enumerate(boxes)]
    lo = np.array([e.lo for e in elements])
    hi = np.array([e.hi for e in elements])
    return Building(spec, elements, element_box_contacts(lo, hi))


def _wall_pieces(spec: BuildingSpec, u0: float, u1: float, z0: float):
    """Split one wall panel (u along the facade, v up) into convex pieces around its window."""
    v1 = z0 + spec.wall_clear_height
    if spec.window_width <= 0 or u1 - u0 < spec.window_width + 0.2:
        return [("panel", (u0, u1, z0, v1))]
    mid = 0.5 * (u0 + u1)
    w0, w1 = mid - spec.window_width / 2, mid + spec.window_width / 2
    sill_top = z0 + spec.window_sill
    head = sill_top + spec.window_height
    pieces = [("pier", (u0, w0, z0, v1)), ("pier", (w1, u1, z0, v1))]
    if spec.window_sill > 0:
        pieces.append(("spandrel", (w0, w1, z0, sill_top)))
    pieces.append(("lintel", (w0, w1, head, v1)))
    return pieces
