"""The plain-data shot both routes of the benchmark make: a scene's settings at one shard count."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

STAGES = ("building", "fracture", "assembly", "bake", "render", "finalize")
ROUTES = ("collapse", "manual")
# Stages that share one process on each route (the Collapse CLI builds the scene in one go;
# the artist saves the .blend after each step).
PROCESS_GROUPS = {
    "collapse": (("building", "fracture", "assembly"), ("bake",), ("render",), ("finalize",)),
    "manual": tuple((s,) for s in STAGES),
}
ENGINE_NAMES = {"WORKBENCH": "BLENDER_WORKBENCH", "EEVEE": "BLENDER_EEVEE", "CYCLES": "CYCLES"}


def make_shot(scene: Path, cells: int, out_dir: Path, *, frames: int | None = None,
              resolution: tuple[int, int] | None = None, engine: str | None = None) -> dict:
    """The plain-data shot both routes make: the scene's settings at ``cells`` shards.

    ``frames``/``resolution``/``engine`` override the scene's (the same for both routes).
    """
    from collapse_addon.core.settings import dump_scene, load_scene, scene_hash

    settings = load_scene(scene)
    sim = settings.simulation
    trig = settings.trigger
    if frames is not None:
        sim = dataclasses.replace(sim, frame_end=sim.frame_start + frames - 1)
    render = settings.render
    if resolution is not None:
        render = dataclasses.replace(render, resolution=tuple(resolution), resolution_percentage=100)
    if engine is not None:
        render = dataclasses.replace(render, engine=engine)
    settings = dataclasses.replace(
        settings, simulation=sim, render=render,
        fracture=dataclasses.replace(settings.fracture, cell_count=int(cells), shard_size=None),
        # The manual route exports nothing; Collapse's optional Alembic/USD export is left out too.
        output=dataclasses.replace(settings.output, directory=str(out_dir / "collapse"),
                                   alembic=False, usd=False))
    if trig.type != "demolition":
        raise click.UsageError(f"{scene}: the manual baseline replays a demolition; this scene's "
                               f"trigger is {trig.type!r} (use a demolition scene)")
    if not sim.frame_start < trig.frame <= sim.frame_end:
        raise click.UsageError(f"trigger frame {trig.frame} is outside frames {sim.frame_start}-"
                               f"{sim.frame_end}; give more --frames")
    pct = render.resolution_percentage / 100
    building = dataclasses.asdict(settings.building)
    building["facades"] = list(building["facades"])
    fracture = dataclasses.asdict(settings.fracture)
    if fracture.get("focus") is not None:
        fracture["focus"] = list(fracture["focus"])
    return {
        "scene": str(scene), "scene_hash": scene_hash(scene), "seed": settings.seed, "cells": int(cells),
        "settings_toml": dump_scene(settings, full=True),
        "building": building, "fracture": fracture,
        "simulation": {
            "frame_start": sim.frame_start, "frame_end": sim.frame_end, "fps": sim.fps,
            "time_scale": sim.time_scale, "glue_load_safety": sim.glue_load_safety,
            # The artist keeps Blender's default world quality: 10 substeps, 10 iterations.
            "substeps": 10, "iterations": 10,
            "trigger": {"type": trig.type, "frame": trig.frame,
                        "demolition_storeys": list(trig.demolition_storeys),
                        "demolition_kinds": list(trig.demolition_kinds)},
        },
        "render": {"engine": ENGINE_NAMES.get(render.engine, render.engine),
                   "resolution": [max(4, int(render.resolution[0] * pct)),
                                  max(4, int(render.resolution[1] * pct))],
                   "samples": render.samples},
        "output": str(out_dir),
    }

