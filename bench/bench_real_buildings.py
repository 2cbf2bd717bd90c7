"""Real buildings at scale (issue 14 bars): element contacts of a large procedural building, and a
whole CityJSON tile fractured and set up.

Run: ``.venv/bin/python bench/bench_real_buildings.py [--repeat 3] [--skip-bpy]``.

Prints, best of ``--repeat`` runs, with wall and CPU seconds side by side (a shared machine
inflates wall time; CPU time is what the code costs):

- ``generate_building`` for 20 storeys x 10 x 10 bays (12,021 elements; bar: <= 2 s and < 1 GB),
  its peak memory measured in a fresh process, and the grid contact search beside the all-pairs
  search it replaced on a 6 x 5 x 5-bay building (the ratio);
- the refusal of the largest spec the validator used to accept (60 x 50 x 50);
- the Delft tile (``tests/data/delft_tile_lod1.city.json``, 160 open LoD1 buildings): checked,
  repaired, fractured (pure) and then fractured and set up in Blender (``api.build_shot``), in
  buildings per second (bar: >= 20), with how many buildings fracture (bar: >= 95%).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from collapse_addon.core.building import (  # noqa: E402
    BuildingSpec,
    element_box_contacts,
    generate_building,
    grid_box_pairs,
)
from collapse_addon.core.errors import SpecError  # noqa: E402

DELFT = ROOT / "tests" / "data" / "delft_tile_lod1.city.json"


def timed(repeat, fn):
    best = None
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        row = (time.perf_counter() - wall, time.process_time() - cpu)
        best = row if best is None or row[0] < best[0] else best
    return best, result


def peak_memory_of_building(storeys, bays_x, bays_y) -> float:
    """Peak resident memory (MB) of a fresh process that imports the core and builds the spec,
    minus the same process's peak before building."""
    code = ("import resource, json\n"
            "from collapse_addon.core.building import BuildingSpec, generate_building\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            f"b = generate_building(BuildingSpec(storeys={storeys}, bays_x={bays_x}, bays_y={bays_y}))\n"
            "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "print(json.dumps([before / 1024, after / 1024]))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    before, after = json.loads(out.stdout.strip().splitlines()[-1])
    return after, after - before


def all_pairs_contacts(lo, hi):
    """The search the grid replaced: every pair compared."""
    i, j = np.triu_indices(len(lo), k=1)
    touch = ((lo[i] <= hi[j] + 1e-9) & (lo[j] <= hi[i] + 1e-9)).all(1)
    return i[touch], j[touch]


def bench_building(repeat):
    (wall, cpu), building = timed(repeat, lambda: generate_building(
        BuildingSpec(storeys=20, bays_x=10, bays_y=10)))
    total, extra = peak_memory_of_building(20, 10, 10)
    print(f"20 x 10 x 10 bays: {len(building.elements):,} elements, {len(building.contacts.pairs):,} "
          f"contacts in {wall:.2f} s wall / {cpu:.2f} s CPU (bar <= 2 s); peak memory "
          f"{total:.0f} MB for the whole process, {extra:.0f} MB for the building (bar < 1 GB)")
    small = generate_building(BuildingSpec(storeys=6, bays_x=5, bays_y=5))
    lo = np.array([e.lo for e in small.elements])
    hi = np.array([e.hi for e in small.elements])
    (old, _), _ = timed(repeat, lambda: all_pairs_contacts(lo, hi))
    (new, _), _ = timed(repeat, lambda: grid_box_pairs(lo - 1e-9, hi + 1e-9))
    (full, _), _ = timed(repeat, lambda: element_box_contacts(lo, hi))
    print(f"6 x 5 x 5 bays ({len(lo):,} elements): candidate pairs all-pairs {old * 1e3:.0f} ms, "
          f"grid {new * 1e3:.0f} ms ({old / new:.0f}x); contacts in all {full * 1e3:.0f} ms")
    try:
        BuildingSpec(storeys=60, bays_x=50, bays_y=50)
        print("60 x 50 x 50 bays: accepted (unexpected)")
    except SpecError as exc:
        print(f"60 x 50 x 50 bays: refused up front: {exc}")


def bench_tile(repeat, skip_bpy):
    from collapse_addon.core.mesh_route import fracture_mesh_file
    from collapse_addon.core.seeds import FractureSpec
    from collapse_addon.core.settings import MeshSource

    source = MeshSource(path=str(DELFT), objects="*")
    spec = FractureSpec(cell_count=1600, seed=1)
    (wall, cpu), (building, shards) = timed(repeat, lambda: fracture_mesh_file(source, spec, DELFT))
    n = len(building.elements)
    print(f"Delft tile, pure fracture: {n} of 160 buildings ({n / 160:.0%}, bar >= 95%), "
          f"{shards.count:,} shards, {wall:.2f} s wall / {cpu:.2f} s CPU = {n / wall:.0f} buildings/s "
          f"wall, {n / cpu:.0f} /s CPU")
    if skip_bpy:
        return
    from collapse_addon import api
    from collapse_addon.core.settings import load_scene

    settings = load_scene(f'seed = 1\n[mesh]\npath = "{DELFT}"\nobjects = "*"\n'
                          '[fracture]\ncell_count = 1600\n[simulation]\nframe_end = 24\n')
    import bpy

    def build():
        bpy.ops.wm.read_factory_settings(use_empty=True)
        return api.build_shot(settings)

    (wall, cpu), info = timed(repeat, build)
    print(f"Delft tile, fracture and set up in Blender: {info['elements']} buildings, "
          f"{info['shards']:,} rigid bodies, {info['constraints']:,} glue constraints in {wall:.2f} s "
          f"wall / {cpu:.2f} s CPU = {info['elements'] / wall:.0f} buildings/s wall, "
          f"{info['elements'] / cpu:.0f} /s CPU (bar >= 20)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-bpy", action="store_true")
    args = parser.parse_args(argv)
    bench_building(args.repeat)
    bench_tile(args.repeat, args.skip_bpy)


if __name__ == "__main__":
    main()
