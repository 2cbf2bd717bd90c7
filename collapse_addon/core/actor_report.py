"""The actor solver's additions to the collapse report (pure numpy, never bpy).

Actors over time, bonds broken by cause, the roof drop with its real time window, and the share
of the moving mass that lands inside the building's footprint.
"""

from __future__ import annotations

import math

import numpy as np

from .break_events import CAUSES, BreakEvents

#: The roof counts as down once it is below this share of the building's height.
ROOF_DOWN = 0.4


def free_fall_time(height: float, gravity: float) -> float:
    """Seconds to fall ``height`` metres from rest."""
    return math.sqrt(2.0 * max(height, 0.0) / gravity) if gravity > 0 else math.inf


def actor_report(bake, events: BreakEvents, *, masses: np.ndarray, n_bonds: int, roof_height: float,
                 ground_height: float, footprint: tuple, trigger_frame: int | None, fps: float,
                 gravity: float, margin: float = 2.0) -> dict:
    """Numbers of an ``ActorBake``; ``footprint`` is ``(x0, y0, x1, y1)`` of the building's plan."""
    frames = bake.frames
    seconds = 1.0 / fps
    by_cause = {c: int((np.asarray(events.cause) == c).sum()) for c in CAUSES}
    height = roof_height - ground_height
    pos = bake.positions
    top_shards = pos[0, :, 2] >= pos[0, :, 2].max() - 0.25 * max(height, 1e-9) / 10
    roof_z = pos[:, top_shards, 2].mean(1) - ground_height
    roof = {"height_m": float(height), "start_m": float(roof_z[0]), "min_m": float(roof_z.min())}
    if trigger_frame is not None:
        window = free_fall_time(height, gravity) * 2.0 + 1.0
        after = frames >= trigger_frame
        shot_s = float((frames[-1] - trigger_frame) * seconds)
        down = np.nonzero(after & (roof_z < ROOF_DOWN * roof_z[0]))[0]
        roof.update({
            "window_s": window,
            "shot_after_trigger_s": shot_s,
            "window_covered": shot_s >= window,
            "below_40pct_after_s": (float((frames[down[0]] - trigger_frame) * seconds)
                                    if len(down) else None),
            "drop_fraction_in_window": float(1 - roof_z[after & (frames <= trigger_frame + window * fps)].min()
                                             / max(roof_z[0], 1e-9)),
        })
        if not roof["window_covered"]:
            roof["note"] = (f"the shot ends {shot_s:.2f} s after the trigger, before the "
                            f"{window:.2f} s window: the drop is measured over the shorter time")
    moved = np.linalg.norm(pos[-1] - pos[0], axis=1) > 0.05
    x0, y0, x1, y1 = footprint
    end = pos[-1]
    inside = ((end[:, 0] >= x0 - margin) & (end[:, 0] <= x1 + margin)
              & (end[:, 1] >= y0 - margin) & (end[:, 1] <= y1 + margin))
    moving_mass = float(masses[moved].sum())
    return {
        "solver": "actors",
        "actors_per_frame": [int(v) for v in bake.actors],
        "pieces_per_frame": [int(v) for v in bake.pieces],
        "max_actors": int(bake.actors.max(initial=0)),
        "bonds": int(n_bonds),
        "bonds_broken": int(events.count),
        "bonds_broken_by_cause": by_cause,
        "roof_drop": roof,
        "moving_mass_kg": moving_mass,
        "debris_inside_footprint_fraction": (float(masses[moved & inside].sum() / moving_mass)
                                             if moving_mass > 0 else None),
        "footprint_margin_m": float(margin),
        "stress_solves": int(bake.settle_calls),
    }
