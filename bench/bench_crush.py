"""Benchmark of progressive collapse (issue 10's bar), the crush relief on and off side by side.

Run: ``.venv/bin/python bench/bench_crush.py [--cases tower14,implosion] [--json OUT]``. Pure core
(no Blender), one process, CPU seconds of this process with wall seconds beside them.

- ``tower14``: a 14-storey, 1 x 1-bay frame (5 m spans, no walls, 400 cells) whose ground storey
  is cut; bar: the roof below 40 % of its height within 2 x the free-fall time + 1 s, the top
  storey one actor (or a few) until then.
- ``implosion``: ``scenes/implosion.toml`` (8 storeys, 3 x 3 bays, 2,000 cells); bar: the same
  roof window, and >= 70 % of the moving mass inside the footprint + 2 m.

Each case runs with ``actor_solver.CRUSH_RELIEF`` True (a storey that gives way takes only the
impulse it could carry, ``core/crush.py``) and False (the penalty contacts stop the block at every
storey), so the effect is measured side by side.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from collapse_addon.core import actor_solver  # noqa: E402
from collapse_addon.core.actor_report import actor_report  # noqa: E402


def _tower():
    from collapse_addon.core.building import BuildingSpec, generate_building
    from collapse_addon.core.fracture import FractureSpec, fracture_building
    from collapse_addon.core.physics import SimulationSpec, TriggerSpec

    building = generate_building(BuildingSpec(storeys=14, bays_x=1, bays_y=1, bay_width=5.0,
                                              bay_depth=5.0, facades=()))
    shards = fracture_building(building, FractureSpec(cell_count=400, seed=2))
    height = float(building.hi[2])
    window = 2 * np.sqrt(2 * height / 9.81) + 1.0
    sim = SimulationSpec(frame_end=12 + int(np.ceil(window * 24)))
    return building, shards, sim, TriggerSpec(type="demolition", frame=12, demolition_sweep=0.0)


def _implosion():
    from collapse_addon import api
    from collapse_addon.core.settings import load_scene

    shot = load_scene(ROOT / "scenes" / "implosion.toml")
    building, shards = api.make_shards(shot, api.make_building(shot))
    return building, shards, shot.simulation, shot.trigger


CASES = {"tower14": _tower, "implosion": _implosion}


def run_case(name: str, relief: bool) -> dict:
    building, shards, sim, trigger = CASES[name]()
    actor_solver.CRUSH_RELIEF = relief
    try:
        # the shot's materials travel on the building (``api.make_building``)
        solver = actor_solver.ActorSolver(building, shards, sim, trigger)
        top = shards.centroid[:, 2] > shards.centroid[:, 2].max() - 0.5
        share = []
        wall, cpu = time.perf_counter(), time.process_time()
        bake = solver.run(lambda f, e: share.append(
            np.bincount(np.maximum(solver.world.owner[top], 0)).max() / top.sum()
            if (solver.world.owner[top] >= 0).all() else 0.0))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        actor_solver.CRUSH_RELIEF = True
    g = solver.graph
    rep = actor_report(bake, bake.events, masses=g.mass, n_bonds=g.n_bonds,
                       roof_height=float(building.hi[2]), ground_height=float(max(building.lo[2], 0.0)),
                       footprint=(*building.lo[:2], *building.hi[:2]), trigger_frame=trigger.frame,
                       fps=1.0 / sim.frame_seconds, gravity=sim.gravity)
    roof = rep["roof_drop"]
    after = roof["below_40pct_after_s"]
    until = len(share) if after is None else int(round(after / sim.frame_seconds)) + trigger.frame - sim.frame_start
    falling = share[trigger.frame - sim.frame_start:until]
    speed = float(np.linalg.norm(np.diff(bake.positions, axis=0), axis=2).max() / sim.frame_seconds)
    out = {"case": name, "relief": relief, "shards": int(shards.count), "cpu_s": cpu, "wall_s": wall,
           "stress_solves": int(bake.settle_calls), "window_s": roof["window_s"],
           "below_40pct_after_s": after, "drop_fraction_in_window": roof["drop_fraction_in_window"],
           "top_in_one_actor_min": float(min(falling)) if falling else None,
           "inside_footprint_2m": rep["debris_inside_footprint_fraction"],
           "max_speed_m_s": speed, "speed_limit_m_s": 1.5 * float(np.sqrt(2 * sim.gravity * roof["height_m"])),
           "bonds_broken_by_cause": rep["bonds_broken_by_cause"]}
    print(f"{name:>9} relief={'on ' if relief else 'off'}: {shards.count} shards, {cpu:6.1f} s CPU "
          f"({wall:.1f} wall); roof below 40 % after {after} s (window {roof['window_s']:.2f} s, "
          f"drop {roof['drop_fraction_in_window']:.0%}); top storey in one actor >= "
          f"{out['top_in_one_actor_min']}; inside footprint+2 m {out['inside_footprint_2m']:.1%}; "
          f"top speed {speed:.1f} m/s (limit {out['speed_limit_m_s']:.1f})", flush=True)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="tower14,implosion")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = [run_case(name, relief) for name in args.cases.split(",") for relief in (True, False)]
    if args.json:
        tmp = args.json.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows, indent=1))
        tmp.replace(args.json)


if __name__ == "__main__":
    main()
