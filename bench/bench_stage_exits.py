"""Run build, bake and render N times over, each in a fresh process, and count the exit codes.

    python bench/bench_stage_exits.py scenes/demo.toml --runs 20 --frames 1-2

Every run uses a new output folder. A clean run prints ``exit codes: {0: 3N}``; a crash at
interpreter exit would show as 139 (or -11).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scene", type=Path)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--frames", default="1-2")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="collapse-exits-"))
    codes: collections.Counter = collections.Counter()
    start = time.perf_counter()
    try:
        for run in range(args.runs):
            out = work / f"out{run}"
            for stage in ("build", "bake", "render"):
                extra = ["--frames", args.frames] if stage == "render" else []
                done = subprocess.run([sys.executable, "-m", "headless.cli", stage,
                                       str(args.scene.resolve()), "--out", str(out), *extra],
                                      cwd=ROOT, capture_output=True, text=True)
                codes[(stage, done.returncode)] += 1
                if done.returncode != 0:
                    print(f"run {run} {stage}: exit {done.returncode}: {done.stderr[-300:]}")
            shutil.rmtree(out, ignore_errors=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.runs} runs of build, bake, render in {time.perf_counter() - start:.0f} s; "
          f"exit codes: {dict(sorted(codes.items()))}")
    return 0 if all(code == 0 for _, code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
