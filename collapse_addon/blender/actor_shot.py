"""Bake an actor shot in Blender and make its report (the API's actor route)."""

from __future__ import annotations

from ..core.actor_report import actor_report
from . import actors, simulation


def bake_and_report(scene, shot, *, progress=None, log=print):
    """Bake ``scene`` (built for the actor solver) from ``shot`` = (building, shards).

    Returns the report, the break events and the baked positions and rotation matrices (per frame,
    per shard) for the FX and the events' points.
    """
    building, shards = shot
    bake, graph = actors.bake_actor_scene(scene, building, shards, progress=progress)
    handle = simulation.CollapseScene.from_scene(scene)
    log(f"Baked {len(bake.positions)} frames with the actor solver in {bake.seconds:.2f} s "
        f"({bake.settle_calls} stress solves, {bake.events.count} bonds broken, "
        f"{handle.timings.get('keyed_objects', 0)} objects keyed)")
    rotations = _matrices(bake)
    report = dict(simulation.collapse_report(scene, bake.positions, rotations))
    report["actors"] = actor_report(
        bake, bake.events, masses=graph.mass, n_bonds=graph.n_bonds,
        roof_height=handle.roof_height, ground_height=handle.ground_height,
        footprint=(*building.lo[:2], *building.hi[:2]), trigger_frame=handle.trigger_frame,
        fps=handle.fps / handle.time_scale, gravity=handle.gravity)
    # a time, not a result: with the other wall-clock figures, which shot comparisons leave out
    report.setdefault("wall_clock_s", {})["actor_solver_s"] = float(bake.seconds)
    return report, bake.events, bake.positions, rotations


def _matrices(bake):
    from ..core.rigid import quat_matrix

    return quat_matrix(bake.quaternions)
