"""Farm scaling and overhead: the demo's frames on 1 and 2 Dask workers, and the plain CLI.

Run: ``.venv/bin/python bench/bench_farm.py [--scene scenes/demo.toml] [--frames 1-48]``.

The shot is baked once; every configuration then renders the same chunks into a fresh copy of the
baked shot, each Blender process held to one render thread (``--threads 1`` and, for software GL,
``LP_NUM_THREADS=0``: see ``render_thread_env``), as one machine per worker would be:

- plain:   the chunks one after another, each ``collapse render --frames CHUNK`` (no Dask);
- dask-1:  the same chunks on a LocalCluster of 1 worker process;
- dask-2:  the same chunks on a LocalCluster of 2 worker processes.

Each configuration runs ``--repeat`` times in mirrored order (plain, 1, 2, 2, 1, plain...); the best
run of each is compared.

Bars (issue 7): dask-2 throughput >= 1.7x dask-1; Dask's per-chunk overhead versus the plain CLI
<= 5% of a chunk's time at the default chunk size. Cluster start-up is not counted (a farm's
workers are up before the job). The machine is shared: the load average is printed with the
figures; measure when it is quiet.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from headless.farm.cli import DEFAULT_CHUNK_SIZE  # noqa: E402
from headless.farm.commands import Shot, collapse_command, resolve_shot  # noqa: E402
from headless.farm.dask_farm import open_client, plan_shot, run_tasks  # noqa: E402
from headless.farm.verify import check_frames  # noqa: E402


def _spin(n: int) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(n):
        total += i
    return time.perf_counter() - start


def cpu_ceiling(n: int = 20_000_000) -> float:
    """How much faster two CPU-bound processes finish than one, right now: the best scaling any
    2-worker run can show on this (shared) machine."""
    import multiprocessing

    one = _spin(n)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        start = time.perf_counter()
        pool.map(_spin, [n, n])
        two = time.perf_counter() - start
    return 2 * one / two


def copy_baked(base: Shot, root: Path, name: str) -> Shot:
    """A fresh output root holding the baked shot without frames, so nothing is skipped."""
    shot = Shot(base.scene, root / name, base.seed, base.scene_seed, base.padding, base.extension)
    shutil.copytree(base.folder, shot.folder, ignore=shutil.ignore_patterns("frames", "logs"))
    return shot


def run_plain(shot: Shot, frames: list[int], chunk_size: int) -> tuple[float, list[float]]:
    tasks = plan_shot(shot, frames, chunk_size, threads=1, bake=False, finalize=False)
    times = []
    start = time.perf_counter()
    for task in tasks:
        t = time.perf_counter()
        subprocess.run(task.argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, **dict(task.env)})
        times.append(time.perf_counter() - t)
    return time.perf_counter() - start, times


def run_dask(shot: Shot, frames: list[int], chunk_size: int, workers: int):
    tasks = plan_shot(shot, frames, chunk_size, threads=1, bake=False, finalize=False)
    with open_client(workers=workers) as client:
        client.run(lambda: None)  # workers up and connected before the clock starts
        summary = run_tasks(client, tasks, retries=0)
    if not summary.ok:
        raise SystemExit(summary.format())
    return summary


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scene", type=Path, default=Path("scenes/demo.toml"))
    parser.add_argument("--frames", default=None, help="frames to render [default: the scene's]")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each configuration, in mirrored order (best is kept)")
    parser.add_argument("--keep", action="store_true", help="keep the output folder")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="collapse-bench-farm-"))
    # A private copy: an edit to the scene file during the run must not invalidate the bake.
    scene = root / args.scene.name
    shutil.copyfile(args.scene, scene)
    base, frames = resolve_shot(scene, root / "base", None, args.frames)
    chunks = -(-len(frames) // args.chunk_size)
    print(f"scene {args.scene}, {len(frames)} frames, chunks of {args.chunk_size} ({chunks} chunks), "
          f"1 render thread per Blender; {os.cpu_count()} cores; load before: "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t = time.perf_counter()
    for stage in ("build", "bake"):
        subprocess.run([*collapse_command(), stage, str(scene), "--out", str(base.out)],
                       check=True, stdout=subprocess.DEVNULL)
    print(f"bake (once, not compared): {time.perf_counter() - t:.1f} s")

    plain_walls, dask1_runs, dask2_runs, plain_chunks = [], [], [], []
    order = ["plain", "dask1", "dask2"]
    for run in range(args.repeat):
        for name in order if run % 2 == 0 else order[::-1]:
            shot = copy_baked(base, root, f"{name}-{run}")
            if name == "plain":
                wall, times = run_plain(shot, frames, args.chunk_size)
                plain_walls.append(wall)
                plain_chunks += times
            else:
                summary = run_dask(shot, frames, args.chunk_size, int(name[-1]))
                assert check_frames(shot, frames).ok
                (dask1_runs if name == "dask1" else dask2_runs).append(summary)
    plain_wall = min(plain_walls)
    dask1 = min(dask1_runs, key=lambda s: s.wall_seconds)
    dask2 = min(dask2_runs, key=lambda s: s.wall_seconds)

    chunk_mean = plain_wall / chunks
    in_process_1 = sum(o.seconds for o in dask1.outcomes)
    overhead_total = (dask1.wall_seconds - plain_wall) / chunks
    overhead_scheduling = (dask1.wall_seconds - in_process_1) / chunks
    print(f"{'run':8} {'wall s':>8} {'frames/min':>11} {'s/chunk':>8}")
    for name, wall in [("plain", plain_wall), ("dask-1", dask1.wall_seconds),
                       ("dask-2", dask2.wall_seconds)]:
        print(f"{name:8} {wall:8.1f} {len(frames) / wall * 60:11.1f} {wall / chunks:8.2f}")
    scaling = dask1.wall_seconds / dask2.wall_seconds
    print(f"scaling dask-2 / dask-1 throughput: {scaling:.2f}x (bar >= 1.70x); two plain CPU-bound "
          f"processes scale {cpu_ceiling():.2f}x on this machine now (the ceiling while it is shared)")
    print(f"Dask overhead per chunk vs plain CLI: {overhead_total:+.3f} s = "
          f"{overhead_total / chunk_mean:+.1%} of a {chunk_mean:.2f} s chunk (bar <= 5%); "
          f"outside the collapse process (submit, schedule, start, report): "
          f"{overhead_scheduling:.3f} s = {overhead_scheduling / chunk_mean:.1%}")
    print(f"plain chunk times: min {min(plain_chunks):.2f} s, max {max(plain_chunks):.2f} s; "
          f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.keep:
        print(f"output kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
