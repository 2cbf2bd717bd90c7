"""Bake one built shot N times, each in a fresh process, and count the distinct results.

    python bench/bench_bake_determinism.py scenes/demo.toml --runs 30

Builds the shot once (``collapse build``), then bakes a copy of its scene.blend in a new Python
process per run and hashes every shard's baked transforms at every frame. Prints the number of
distinct bakes (1 = deterministic) and, for any that differ, the first frame where they do.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]

BAKE_ONE = """
import sys
import bpy
import numpy as np
from collapse_addon.blender import simulation
bpy.ops.wm.open_mainfile(filepath=sys.argv[1], load_ui=False)
scene = bpy.context.scene
simulation.bake_collapse(scene)
positions, rotations = simulation.baked_transforms(scene)
np.savez(sys.argv[2], positions=positions, rotations=rotations)
import os
os._exit(0)
"""


def bake_copies(blend: Path, runs: int, work: Path) -> list[Path]:
    results = []
    for i in range(runs):
        copy = work / f"copy{i}.blend"
        shutil.copy(blend, copy)
        out = work / f"bake{i}.npz"
        subprocess.run([sys.executable, "-c", BAKE_ONE, str(copy), str(out)], cwd=ROOT,
                       check=True, capture_output=True)
        results.append(out)
    return results


def digest(path: Path) -> str:
    data = np.load(path)
    return hashlib.sha256(data["positions"].tobytes() + data["rotations"].tobytes()).hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", type=Path)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="collapse-determinism-"))
    try:
        subprocess.run([sys.executable, "-m", "headless.cli", "build", str(args.scene.resolve()),
                        "--out", str(work / "out")], cwd=ROOT, check=True, capture_output=True)
        blend = next((work / "out").rglob("scene.blend"))
        start = time.perf_counter()
        results = bake_copies(blend, args.runs, work)
        seconds = time.perf_counter() - start
        hashes = [digest(p) for p in results]
        distinct = sorted(set(hashes))
        print(f"{args.runs} bakes in separate processes ({seconds / args.runs:.1f} s each): "
              f"{len(distinct)} distinct result(s)")
        reference = np.load(results[0])
        for h in distinct[1:]:
            other = np.load(results[hashes.index(h)])
            diff = np.abs(other["positions"] - reference["positions"]).max(axis=(1, 2))
            first = int(np.nonzero(diff > 0)[0][0])
            print(f"  {h}: {hashes.count(h)} bake(s) differ from frame index {first} on "
                  f"(max {diff.max():.3g} m)")
        return 0 if len(distinct) == 1 else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
