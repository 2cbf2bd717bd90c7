"""Render overhead of the CLI against Blender's own animation render, side by side.

    .venv/bin/python bench/bench_render.py [SCENE] [--frames N] [--repeats R] [--threads T]

Builds and bakes SCENE once (default scenes/demo.toml), then renders the same N frames of the same
baked .blend, alternating:

- blender: a fresh Python process that opens scene.blend, sets ``render.filepath`` and calls
  ``bpy.ops.render.render(animation=True)`` -- Blender's own batch render, nothing else;
- collapse: ``collapse render SCENE --frames 1-N`` in a fresh process (settings, resume checks,
  temporary names and renames, per-frame records, progress lines, its log).

Both are timed as whole processes (start to exit) and, inside, as the render call alone. The bar:
the CLI costs at most 1.1x Blender's own render. Prints a table and writes bench/results/render.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAST_CPU = 0.0

BLENDER_RENDER = """
import os, sys, tempfile, time
os.environ.setdefault("BLENDER_USER_EXTENSIONS", tempfile.mkdtemp())
import bpy
blend, out, last, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
scene = bpy.context.scene
scene.frame_start, scene.frame_end = 1, last
scene.render.filepath = os.path.join(out, "####")
if threads:
    scene.render.threads_mode, scene.render.threads = "FIXED", threads
t = time.perf_counter()
bpy.ops.render.render(animation=True)
print("RENDER_SECONDS", time.perf_counter() - t)
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv, **kwargs) -> tuple[float, str]:
    """Run a process; returns (wall seconds, stdout). Its CPU seconds go to ``LAST_CPU``."""
    global LAST_CPU
    cpu = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, **kwargs)
    seconds = time.perf_counter() - start
    LAST_CPU = _children_cpu() - cpu
    if result.returncode != 0:
        sys.exit(f"{' '.join(map(str, argv))} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def cli(*args) -> list[str]:
    return [sys.executable, "-m", "headless.cli", *map(str, args)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scene", nargs="?", default=str(ROOT / "scenes" / "demo.toml"))
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--out", default=None, help="work folder (default: a temporary one)")
    args = parser.parse_args()

    work = Path(args.out or tempfile.mkdtemp(prefix="bench-render-"))
    scene = Path(args.scene).resolve()
    sys.path.insert(0, str(ROOT))
    from collapse_addon.core.settings import load_scene

    settings = load_scene(scene)
    shot = work / scene.stem / str(settings.seed)
    print(f"Building and baking {scene.name} into {work} ...", flush=True)
    run(cli("bake", scene, "--out", work))  # builds first if needed; a no-op when up to date
    blend = shot / "scene.blend"
    frames = min(args.frames, settings.simulation.frame_end - settings.simulation.frame_start + 1)
    native_out = work / "native"
    rows = []
    for repeat in range(args.repeats):
        # Alternate the order so drift on a shared machine hits both sides alike.
        order = ("blender", "collapse") if repeat % 2 == 0 else ("collapse", "blender")
        row = {}
        for side in order:
            if side == "blender":
                shutil.rmtree(native_out, ignore_errors=True)
                seconds, out = run([sys.executable, "-c", BLENDER_RENDER, str(blend), str(native_out),
                                    str(frames), str(args.threads)])
                inner = float(out.split("RENDER_SECONDS")[1].split()[0])
            else:
                shutil.rmtree(shot / "frames", ignore_errors=True)
                shutil.rmtree(shot / "logs" / "frames", ignore_errors=True)
                seconds, out = run(cli("render", scene, "--out", work, "--frames", f"1-{frames}",
                                       "--threads", args.threads))
                inner = float(out.split("== render done in ")[1].split()[0])
            row[side] = {"process_s": seconds, "render_s": inner, "cpu_s": LAST_CPU}
        row["ratio_process"] = row["collapse"]["process_s"] / row["blender"]["process_s"]
        row["ratio_cpu"] = row["collapse"]["cpu_s"] / row["blender"]["cpu_s"]
        row["ratio_render"] = row["collapse"]["render_s"] / row["blender"]["render_s"]
        rows.append(row)
        print(f"repeat {repeat + 1}: blender {row['blender']['process_s']:.2f} s "
              f"(render {row['blender']['render_s']:.2f}), collapse {row['collapse']['process_s']:.2f} s "
              f"(render {row['collapse']['render_s']:.2f}); ratio {row['ratio_process']:.3f} "
              f"(render call {row['ratio_render']:.3f}, CPU {row['ratio_cpu']:.3f})", flush=True)
    ratio = statistics.median(r["ratio_process"] for r in rows)
    ratio_render = statistics.median(r["ratio_render"] for r in rows)
    ratio_cpu = statistics.median(r["ratio_cpu"] for r in rows)
    per_frame = statistics.median(r["blender"]["render_s"] for r in rows) / frames
    print(f"\n{frames} frames of {scene.name} ({settings.render.engine}, "
          f"{settings.render.resolution[0]}x{settings.render.resolution[1]}), median of {len(rows)}:")
    print(f"  Blender render(animation=True): {per_frame:.3f} s/frame")
    print(f"  CLI / Blender, whole process:   {ratio:.3f}x  (bar: <= 1.1x) "
          f"{'PASS' if ratio <= 1.1 else 'FAIL'}")
    print(f"  CLI / Blender, render call:     {ratio_render:.3f}x")
    print(f"  CLI / Blender, process CPU:     {ratio_cpu:.3f}x  (less sensitive to a busy machine)")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "render.json").write_text(json.dumps(
        {"scene": scene.name, "frames": frames, "threads": args.threads, "cores": os.cpu_count(),
         "rows": rows, "median_ratio_process": ratio, "median_ratio_render": ratio_render,
         "median_ratio_cpu": ratio_cpu,
         "blender_s_per_frame": per_frame}, indent=2) + "\n")
    if not args.out:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
