"""Benchmark of the rigid-body stage: scene assembly, and the optimised bake against the naive one.

Run: ``.venv/bin/python bench/bench_bake.py [--quick] [--json OUT]``. Everything is measured side by
side in one process on this machine. Bakes are timed in CPU seconds of this process (best of two,
alternated): on a shared machine wall-clock ratios swing with other jobs (0.28-0.81 seen).

1. Assembly: the default building fractured into 5,000 shards, with their glue (bar: <= 5 s).
2. The default demolition (default building and fracture, frames 1-120, trigger at 24) baked
   with the default (optimised) settings and naively (every shard awake, 10 substeps, 10
   iterations); bar: optimised <= 0.5 x naive, with the stand/fall/energy bars still holding.
   The per-frame bake cost (from the progress callback) shows where the time goes.
3. Stand: the default building and a 10-storey one with no trigger for 2 s, all shards awake
   (the honest test of the glue: asleep, nothing moves by construction), and asleep (default).
4. Raw Bullet (pybullet, optional): the same bodies and fixed constraints, all awake, 10 substeps
   and 10 iterations, for the Blender-vs-Bullet ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BLENDER_USER_EXTENSIONS", tempfile.mkdtemp(prefix="collapse-ext-"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bpy  # noqa: E402
import numpy as np  # noqa: E402

from collapse_addon.blender import simulation  # noqa: E402
from collapse_addon.core import physics  # noqa: E402
from collapse_addon.core.building import BuildingSpec, generate_building  # noqa: E402
from collapse_addon.core.fracture import fracture_building  # noqa: E402
from collapse_addon.core.physics import SimulationSpec, TriggerSpec  # noqa: E402
from collapse_addon.core.seeds import FractureSpec  # noqa: E402


def fresh():
    bpy.ops.wm.read_factory_settings(use_empty=True)


def bake_run(building, shards, sim, trigger):
    """Build, bake (recording per-frame CPU time) and report one scene.

    CPU time of this process, not wall-clock: the machine is shared, and other jobs starting
    or stopping during one bake would otherwise decide the ratio.
    """
    fresh()
    handle = simulation.build_collapse_scene(building, shards, sim, trigger)
    stamps = []
    cpu = time.process_time()
    result = simulation.bake_collapse(handle, progress=lambda f, _e: stamps.append((f, time.process_time())))
    result.cpu_seconds = time.process_time() - cpu
    report = simulation.collapse_report(handle)
    frames = np.array([f for f, _ in stamps])
    times = np.diff([t for _, t in stamps])
    per_frame = {"frames": frames[1:].tolist(), "cpu_seconds": times.tolist()}
    return handle, result, report, per_frame


def bars(report, sim):
    out = {
        "pre_trigger_drift_m": report["pre_trigger_drift_m"],
        "top_drop_fraction_4s": report["top_drop_fraction_4s"],
        "max_speed_m_s": report["max_speed_m_s"],
        "speed_limit_m_s": report["speed_limit_m_s"],
        "glue_broken_final": report["glue_broken_fraction"][-1],
    }
    out["falls"] = out["top_drop_fraction_4s"] is not None and out["top_drop_fraction_4s"] >= 0.6
    out["sane_energy"] = out["max_speed_m_s"] <= out["speed_limit_m_s"]
    return out


def raw_bullet(shards, masses, passive, glue, substeps, iterations, frames, fps=24):
    """CPU seconds for pybullet to step the same glued bodies, all awake; None when not installed."""
    try:
        import pybullet as pb
    except ImportError:
        return None
    client = pb.connect(pb.DIRECT)
    pb.setGravity(0, 0, -9.81, physicsClientId=client)
    # Blender's Bullet settings: pyramid friction, no split impulse, no residual early-out
    pb.setPhysicsEngineParameter(fixedTimeStep=1.0 / (fps * substeps), numSolverIterations=iterations,
                                 enableConeFriction=0, useSplitImpulse=0, solverResidualThreshold=0.0,
                                 physicsClientId=client)
    plane = pb.createCollisionShape(pb.GEOM_PLANE, physicsClientId=client)
    pb.createMultiBody(0, plane, basePosition=(0, 0, -0.6), useMaximalCoordinates=True,
                       physicsClientId=client)
    bodies = []
    for s in range(shards.count):
        v0, v1 = shards.vertex_start[s], shards.vertex_start[s + 1]
        local = (shards.vertices[v0:v1] - shards.centroid[s]).tolist()
        shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=local, physicsClientId=client)
        # maximal coordinates: plain btRigidBody, as in Blender (multibodies solve far slower)
        bodies.append(pb.createMultiBody(0.0 if passive[s] else float(masses[s]), shape,
                                         basePosition=shards.centroid[s].tolist(),
                                         useMaximalCoordinates=True, physicsClientId=client))
    for (a, b), pivot in zip(glue.pairs, glue.centroid, strict=True):
        pb.createConstraint(bodies[a], -1, bodies[b], -1, pb.JOINT_FIXED, (0, 0, 0),
                            (pivot - shards.centroid[a]).tolist(), (pivot - shards.centroid[b]).tolist(),
                            physicsClientId=client)
    start = time.process_time()
    for _ in range(frames * substeps):
        pb.stepSimulation(physicsClientId=client)
    seconds = time.process_time() - start
    pb.disconnect(client)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10-storey stand and pybullet")
    parser.add_argument("--json", help="write the figures to this JSON file")
    args = parser.parse_args()
    out = {}

    # 1. assembly of 5,000 shards
    building = generate_building()
    t = time.perf_counter()
    shards5k = fracture_building(building, FractureSpec(cell_count=5000))
    out["fracture_5000_s"] = time.perf_counter() - t
    for label, sim in (("default: glue on shards", SimulationSpec(solver="glue")),
                       ("glue on empties only", SimulationSpec(solver="glue", glue_on_shards=False))):
        fresh()
        handle = simulation.build_collapse_scene(building, shards5k, sim, TriggerSpec())
        empties = sum(1 for name in handle.glue_names if name.startswith("CXglue"))
        out[f"assembly_5000, {label}"] = {"shards": handle.shard_count, "constraints": handle.constraint_count,
                                          "empties": empties, "contacts": int(shards5k.contacts.count),
                                          **handle.timings}
        print(f"assembly of {handle.shard_count} shards with {handle.constraint_count} constraints "
              f"(of {shards5k.contacts.count} contacts; {empties} empties), {label}: "
              f"{handle.timings['assembly_s']:.2f} s (bar <= 5 s)",
              {k: round(v, 2) for k, v in handle.timings.items()})
    del shards5k

    # 2. default demolition: optimised vs naive, side by side
    shards = fracture_building(building)
    trigger = TriggerSpec()
    runs = {"optimised": [], "naive": []}
    # alternate the two, twice, and keep each one's fastest: the machine is shared
    for label, sim in [("optimised", SimulationSpec(solver="glue")), ("naive", SimulationSpec.naive(solver="glue"))] * 2:
        _h, result, report, per_frame = bake_run(building, shards, sim, trigger)
        run = {"bake_wall_s": result.seconds, "bake_cpu_s": result.cpu_seconds,
               "bars": bars(report, sim), "per_frame": per_frame,
               "report_top": report["top_height_m"][::12]}
        runs[label].append(run)
        pf = np.array(per_frame["cpu_seconds"])
        frames = np.array(per_frame["frames"])
        pre, post = pf[frames < trigger.frame], pf[frames >= trigger.frame]
        late = pf[frames >= frames.max() - 24]
        print(f"{label}: bake {result.cpu_seconds:.1f} s CPU ({result.seconds:.1f} s wall); CPU s/frame "
              f"before trigger {pre.mean():.3f}, after {post.mean():.3f}, last second {late.mean():.3f}; "
              f"{run['bars']}")
    best = {label: min(r["bake_cpu_s"] for r in rs) for label, rs in runs.items()}
    ratio = best["optimised"] / best["naive"]
    out["demolition"] = runs
    out["optimised_over_naive_cpu"] = ratio
    print(f"optimised / naive bake CPU time (best of 2 each): {best['optimised']:.1f} / "
          f"{best['naive']:.1f} s = {ratio:.2f} (bar <= 0.5)")

    # 3. stand: default and 10-storey, no trigger, 2 s
    out["stand"] = {}
    cases = [("default", building, shards)]
    if not args.quick:
        tall = generate_building(BuildingSpec(storeys=10))
        cases.append(("10 storeys", tall, fracture_building(tall)))
    for name, bld, shd in cases:
        for label, sim in (("awake, naive", SimulationSpec.naive(solver="glue", frame_end=49)),
                           ("awake, optimised quality", SimulationSpec(solver="glue", frame_end=49, start_asleep=False,
                                                                       use_deactivation=False)),
                           ("default (asleep)", SimulationSpec(solver="glue", frame_end=49))):
            _h, result, report, _pf = bake_run(bld, shd, sim, TriggerSpec(type="none"))
            drift = report["drift_first_2s_m"]
            out["stand"][f"{name}, {label}"] = {"drift_m": drift, "bake_cpu_s": result.cpu_seconds}
            print(f"stand {name} ({shd.count} shards), {label}: max drift in 2 s {drift * 100:.2f} cm "
                  f"(bar <= 1 cm), bake {result.cpu_seconds:.1f} s CPU")

    # 4. raw Bullet
    if not args.quick:
        masses = physics.shard_masses(building, shards)
        passive = physics.anchor_mask(building, shards)
        glue = physics.plan_glue(building, shards, SimulationSpec.naive(solver="glue"), masses, passive)
        raw = raw_bullet(shards, masses, passive, glue, 10, 10, 120)
        if raw is None:
            print("pybullet not installed: no raw-Bullet ratio")
        else:
            out["raw_bullet_naive_cpu_s"] = raw
            out["blender_naive_over_raw"] = best["naive"] / raw
            out["blender_optimised_over_raw"] = best["optimised"] / raw
            print(f"raw Bullet (pybullet), same bodies and glue, all awake, 10/10, 120 frames: {raw:.1f} s CPU; "
                  f"Blender naive / raw {out['blender_naive_over_raw']:.2f}, "
                  f"optimised / raw {out['blender_optimised_over_raw']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
