"""Seed points for the Voronoi fracture: how many cells each element gets, and where.

All randomness flows from one seed through ``numpy.random.SeedSequence`` children, one per element,
so an element's seeds do not change when another element is added or removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError
from .field_meta import check_fields, spec_field

PATTERNS = ("uniform", "impact", "graded")
MAX_CELLS = 200_000


@dataclass(frozen=True)
class FractureSpec:
    """How to fracture: how many cells, in which pattern, from which random seed.

    ``cell_count`` is the total over every fractured element, split by volume (weighted by the
    pattern's density); ``shard_size`` (metres, a typical shard's edge) replaces it when given.
    ``pattern``: ``uniform``; ``impact`` (``concentration`` of the seeds clustered in a Gaussian of
    ``radius`` around ``focus``); ``graded`` (density rising up to ``grade_ratio`` times towards
    ``focus``, or towards the height ``focus_height`` when no focus point is given). ``gap`` shrinks
    every cut face by half of it, leaving an explicit gap between neighbouring shards (0: exact).
    """

    cell_count: int = spec_field(600, limits=(1, MAX_CELLS), integer=True, soft_limits=(10, 20_000),
                                 hint="fewer cells bake faster; 300-5,000 suits most shots",
                                 doc="Shards over the whole building, split by volume.")
    shard_size: float | None = spec_field(None, limits=(0, None), open_low=True, unit="m",
                                          soft_limits=(0.05, 5.0), ui={"min": 0.001},
                                          hint="give a typical shard edge in metres, e.g. 0.5",
                                          doc="Typical shard edge; replaces cell_count when set.")
    pattern: str = spec_field("uniform", choices=PATTERNS,
                              doc="Seed pattern: uniform, impact (clustered at the focus) or graded "
                                  "(denser towards the focus).")
    focus: tuple[float, float, float] | None = spec_field(
        None, limits=(None, None), unit="m", vector=True,
        doc="impact/graded: the point [x, y, z] where shards are finest.")
    focus_height: float | None = spec_field(None, limits=(None, None), unit="m",
                                            ui={"min": -1e5, "max": 1e5},
                                            doc="graded without focus: the height where shards are "
                                                "finest.")
    radius: float = spec_field(2.0, limits=(0, None), open_low=True, unit="m", hint="e.g. 2.0",
                               soft_limits=(0.1, 20.0), ui={"min": 0.001},
                               doc="impact/graded: radius of the fine region.")
    concentration: float = spec_field(0.7, limits=(0, 1), ui={"factor": True},
                                      hint="the fraction of seeds clustered around the focus",
                                      doc="impact: fraction of the seeds clustered at the focus.")
    grade_ratio: float = spec_field(8.0, limits=(0, None), open_low=True, hint="e.g. 8.0",
                                    soft_limits=(1.0, 50.0), ui={"min": 0.001},
                                    doc="graded: how many times denser the seeds are at the focus.")
    min_cells_per_element: int = spec_field(1, limits=(1, None), integer=True, soft_limits=(1, 50),
                                            hint="use 1 to let small elements stay whole",
                                            doc="Fewest shards per fractured element (1 lets small "
                                                "ones stay whole).")
    gap: float = spec_field(0.0, limits=(0, 0.5), unit="m", hint="0 keeps shards exact",
                            soft_limits=(0.0, 0.05),
                            doc="Gap left between neighbouring shards (0: exact, touching shards).")
    stress_refine: float = spec_field(0.0, limits=(0, 50), soft_limits=(0.0, 8.0),
                                      hint="e.g. 4: up to 4x denser cells where the structure is loaded; 0: off",
                                      doc="Multi-level fracture (docs/look.md): up to this many times denser "
                                          "cells where a coarse pass is highly utilised under gravity and "
                                          "the trigger (0: off).")
    seed: int = spec_field(0, limits=(0, 2**63 - 1), integer=True,
                           doc="Random seed: the same seed gives the same shards (set by the shot's "
                               "top-level seed).")
    # m^3: smaller cells lose their seed (core/slivers.py); 0: off
    min_shard_volume: float = spec_field(0.0005, limits=(0, 1000), unit="m^3", soft_limits=(0.0, 0.01),
                                         hint="e.g. 0.0005 (half a litre); 0 keeps every cell",
                                         doc="No shard below this volume: the seed of a smaller cell is"
                                             " dropped and its element re-fractured (at most 1/10 of "
                                             "the element's mean shard; 0: off).")

    def __post_init__(self):
        if self.focus is not None:
            object.__setattr__(self, "focus", tuple(float(v) for v in self.focus))
        validate_fracture_spec(self)


def validate_fracture_spec(spec: FractureSpec) -> None:
    """Raise SpecError naming the first unusable field."""
    # the field table: types, value sets, ranges (cell_count only counts without a shard_size)
    check_fields(spec, skip=() if spec.shard_size is None else ("cell_count",))
    if spec.pattern == "impact" and spec.focus is None:
        raise SpecError("focus", "the impact pattern needs a focus point", "give focus = [x, y, z]")
    if spec.pattern == "graded" and spec.focus is None and spec.focus_height is None:
        raise SpecError("focus", "the graded pattern needs a focus point or a focus_height",
                        "give focus = [x, y, z] or focus_height = z")


def _box_nearest(lo: np.ndarray, hi: np.ndarray, point: np.ndarray) -> np.ndarray:
    return np.clip(point, lo, hi)


def density(spec: FractureSpec, points: np.ndarray) -> np.ndarray:
    """Relative seed density of the pattern at ``points`` (N, 3); 1 far from any focus."""
    points = np.atleast_2d(points)
    if spec.pattern == "uniform":
        return np.ones(len(points))
    if spec.pattern == "impact":
        d2 = np.sum((points - np.asarray(spec.focus)) ** 2, axis=1)
        # 1 - c of uniform background, c of a Gaussian whose peak is 1/(1-c) times the background
        peak = spec.concentration / max(1e-6, 1 - spec.concentration) * 50.0
        return 1.0 + peak * np.exp(-0.5 * d2 / spec.radius**2)
    if spec.focus is not None:
        dist = np.linalg.norm(points - np.asarray(spec.focus), axis=1)
    else:
        dist = np.abs(points[:, 2] - spec.focus_height)
    return 1.0 + (spec.grade_ratio - 1.0) / (1.0 + (dist / spec.radius) ** 2)


def _max_density_in_box(spec: FractureSpec, lo, hi) -> float:
    if spec.pattern == "uniform":
        return 1.0
    if spec.focus is not None:
        return float(density(spec, _box_nearest(lo, hi, np.asarray(spec.focus))[None])[0])
    z = np.clip(spec.focus_height, lo[2], hi[2])
    return float(density(spec, np.array([[lo[0], lo[1], z]]))[0])


def _mean_density_in_box(spec: FractureSpec, lo, hi, samples: int = 27) -> float:
    if spec.pattern == "uniform":
        return 1.0
    t = (np.arange(3) + 0.5) / 3
    grid = np.stack(np.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3)
    return float(density(spec, lo + grid * (hi - lo)).mean())


def allocate_cells(spec: FractureSpec, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Cells per box (rows of ``lo``/``hi``): proportional to volume x mean pattern density.

    Largest-remainder rounding keeps the total exact; every box gets at least
    ``min_cells_per_element``.
    """
    volume = np.prod(hi - lo, axis=1)
    weight = volume * np.array([_mean_density_in_box(spec, a, b) for a, b in zip(lo, hi, strict=True)])
    if spec.shard_size is not None:
        total = int(round(volume.sum() / spec.shard_size**3 * weight.sum() / volume.sum()))
        if total > MAX_CELLS:
            raise SpecError("shard_size", f"{spec.shard_size} m gives {total} cells, over {MAX_CELLS}",
                            f"use at least {(volume.sum() / MAX_CELLS) ** (1 / 3):.3g} m")
    else:
        total = spec.cell_count
    floor = spec.min_cells_per_element
    total = max(total, floor * len(lo))
    share = weight / weight.sum() * total
    counts = np.floor(share).astype(np.int64)
    remainder = int(total - counts.sum())
    if remainder > 0:
        counts[np.argsort(-(share - counts), kind="stable")[:remainder]] += 1
    # Raise small elements to the floor, taking the cells back from the most generous shares.
    excess = int(np.clip(floor - counts, 0, None).sum())
    counts = np.maximum(counts, floor)
    while excess > 0:
        spare = counts - floor
        order = np.argsort(-(counts - share), kind="stable")
        take = order[spare[order] > 0][:excess]
        counts[take] -= 1
        excess -= len(take)
    return counts


def sample_seeds(spec: FractureSpec, lo, hi, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` seeds strictly inside the box, drawn from the pattern's density by rejection."""
    lo = np.asarray(lo, float)
    hi = np.asarray(hi, float)
    # Keep seeds off the faces: Voro++ drops points on its container's boundary.
    inset = 1e-6 * (hi - lo)
    lo_in, hi_in = lo + inset, hi - inset
    if spec.pattern == "uniform":
        return rng.uniform(lo_in, hi_in, size=(count, 3))
    peak = _max_density_in_box(spec, lo, hi)
    chosen = []
    have = 0
    while have < count:
        batch = max(64, 2 * (count - have))
        cand = rng.uniform(lo_in, hi_in, size=(batch, 3))
        keep = cand[rng.uniform(0, peak, batch) < density(spec, cand)]
        chosen.append(keep)
        have += len(keep)
    return np.concatenate(chosen)[:count]


def element_generators(seed: int, n: int) -> list[np.random.Generator]:
    """One independent generator per element, all from ``seed``."""
    return [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(n)]
