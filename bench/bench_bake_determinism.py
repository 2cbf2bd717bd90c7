"""Bake one built shot N times, each in a fresh process, and count the distinct results.

    python bench/bench_bake_determinism.py scenes/demo.toml --runs 30

Builds the shot once (``collapse build``), then runs ``collapse bake`` on a copy of the built shot
per run (every 5th killed once mid-bake and baked again) and hashes every shard's baked transforms
at every frame. Prints the number of
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

READ_ALL = """
import sys
import bpy
import numpy as np
from collapse_addon.blender import simulation
for blend, out in zip(sys.argv[1::2], sys.argv[2::2]):
    bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
    positions, rotations = simulation.baked_transforms(bpy.context.scene)
    np.savez(out, positions=positions, rotations=rotations)
import os
os._exit(0)
"""


def bake_copies(scene: Path, built: Path, runs: int, work: Path, kill_every: int) -> list[Path]:
    """`collapse bake` of a copy of the built shot, once per run, each in its own process;
    every ``kill_every``-th run is killed once mid-bake and baked again."""
    blends = []
    for i in range(runs):
        out = work / f"run{i}"
        shutil.copytree(built, out / built.relative_to(built.parents[1]))
        argv = [sys.executable, "-m", "headless.cli", "bake", str(scene), "--out", str(out)]
        if kill_every and i % kill_every == kill_every - 1:
            process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, text=True)
            for line in process.stdout:
                if line.startswith("Bake: frame"):
                    break
            process.kill()
            process.wait()
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
        blends.append(out / built.relative_to(built.parents[1]) / "scene.blend")
    arrays = [work / f"bake{i}.npz" for i in range(runs)]
    subprocess.run([sys.executable, "-c", READ_ALL,
                    *[str(a) for pair in zip(blends, arrays, strict=True) for a in pair]],
                   cwd=ROOT, check=True, capture_output=True)
    return arrays


def digest(path: Path) -> str:
    data = np.load(path)
    return hashlib.sha256(data["positions"].tobytes() + data["rotations"].tobytes()).hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", type=Path)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--kill-every", type=int, default=5,
                        help="Kill every N-th bake once mid-way and bake it again (0: never).")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="collapse-determinism-"))
    try:
        subprocess.run([sys.executable, "-m", "headless.cli", "build", str(args.scene.resolve()),
                        "--out", str(work / "out")], cwd=ROOT, check=True, capture_output=True)
        built = next((work / "out").rglob("scene.blend")).parent
        start = time.perf_counter()
        results = bake_copies(args.scene.resolve(), built, args.runs, work, args.kill_every)
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
