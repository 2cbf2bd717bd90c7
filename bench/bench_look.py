"""Benchmark of the film look (issue 15): Workbench preview and bake cost, measured side by side.

Run: ``.venv/bin/python bench/bench_look.py [--quick] [--frames N]``.

1. Workbench preview: the demo shot (``scenes/demo.toml``, 640x360, 5 AA samples) baked once with
   the full look, then the same frames rendered alternately as today's preview (no shadows, no
   rubble or dust, exact shards) and with the look (sun shadows, cavity, rubble and dust, rough
   twins with rebar), and the look at today's AA, best of two each. Bar: look / today <= 1.2.
2. Bake cost: ``scenes/demolition-10.toml`` baked through ``api.bake_stage`` with ``fx.quality``
   "off" (and rough breaks and rebar off) and then the defaults (the full look); the extra seconds
   of the look (rubble, dust, rough twins with rebar, and the larger Alembic export) over the whole
   bake stage. Bar: <= 30 %.
   ``--quick`` uses the demo shot instead (minutes less, same code path).
Times are CPU seconds of this process (render threads included) and wall-clock; the machine may
be shared, so ratios are printed, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BLENDER_USER_EXTENSIONS", tempfile.mkdtemp(prefix="collapse-ext-"))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bpy  # noqa: E402

from collapse_addon import api  # noqa: E402
from collapse_addon.blender import render as rnd  # noqa: E402
from collapse_addon.core.settings import load_scene  # noqa: E402


def _timed(fn):
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def workbench_preview(work: Path, frames: int) -> dict:
    settings = load_scene(ROOT / "scenes" / "demo.toml")
    paths = api.ShotPaths(work / "demo")
    api.bake_stage(settings, paths)
    scene = api.open_baked(paths)
    fx = [ob for ob in scene.objects if ob.get("collapse_role") == "fx"]
    twins = [ob for ob in scene.objects if ob.get("collapse_role") == "rough"]  # rough + rebar
    start, end = settings.frame_range()
    first = min(end - frames + 1, settings.trigger.frame + 12)
    picks = list(range(first, first + frames))  # contiguous: no warm-up frames
    today_aa = rnd.workbench_aa_level(settings.render.samples)

    def render(look: bool, tag: str, equal_aa: bool = False):
        scene.display.shading.show_shadows = look
        rnd.configure_render(scene, settings.render, fps=settings.simulation.fps)
        if not look or equal_aa:
            scene.display.render_aa = today_aa  # today: no shadows, AA from the samples
        for ob in fx:
            ob.hide_render = not look
        for twin in twins:  # today: the exact shards; the look: their rough twins with rebar
            twin.hide_render = not look
            twin.constraints[0].target.hide_render = look
        out = work / f"frames-{tag}"
        out.mkdir(exist_ok=True)
        for f in out.glob("*"):
            f.unlink()
        return _timed(lambda: rnd.render_frames(scene, picks, out, settings.render))

    render(False, "warm")  # shader compilation and first-frame set-up out of the comparison
    times = {"today": [], "look": [], "look_equal_aa": []}
    for rep in range(2):
        times["today"].append(render(False, f"today-{rep}"))
        times["look"].append(render(True, f"look-{rep}"))
        look_aa = scene.display.render_aa
        times["look_equal_aa"].append(render(True, f"equal-{rep}", equal_aa=True))
    best = {k: min(v) for k, v in times.items()}
    return {"frames": frames, "today_aa": today_aa, "look_aa": look_aa, "twins": len(twins),
            "look_equal_aa_cpu_s": best["look_equal_aa"][0],
            "ratio_equal_aa_cpu": best["look_equal_aa"][0] / best["today"][0],
            "today_cpu_s": best["today"][0], "look_cpu_s": best["look"][0],
            "today_wall_s": min(t[1] for t in times["today"]),
            "look_wall_s": min(t[1] for t in times["look"]),
            "ratio_cpu": best["look"][0] / best["today"][0],
            "ratio_wall": min(t[1] for t in times["look"]) / min(t[1] for t in times["today"])}


def bake_cost(work: Path, scene_file: Path) -> dict:
    base = load_scene(scene_file)
    out = {}
    for quality in ("off", "medium"):
        # off: no rubble, dust, rough breaks or rebar; medium: the defaults (the full look)
        fx = dataclasses.replace(base.fx, quality="off", rough_rms=0.0, rebar=False) \
            if quality == "off" else base.fx
        settings = dataclasses.replace(base, fx=fx)
        paths = api.ShotPaths(work / f"bake-{quality}")
        api.build_stage(settings, paths)
        cpu, wall = _timed(lambda s=settings, p=paths: api.bake_stage(s, p))
        report = json.loads(paths.report.read_text())
        clock = report["wall_clock_s"]
        out[quality] = {"cpu_s": cpu, "wall_s": wall, "bake_s": clock.get("bake_s"),
                        "events_s": clock.get("events_s"), "fx_s": clock.get("fx_s"),
                        "export_s": clock.get("export_s"), "shards": report["shards"],
                        "break_events": report["break_events"], "rubble": report["rubble"],
                        "dust": report["dust"], "rough_shards": report.get("rough_shards", 0),
                        "rebar_bars": report.get("rebar_bars", 0)}
    off, full = out["off"], out["medium"]
    look_s = full["fx_s"] - off["fx_s"] + max(0.0, (full["export_s"] or 0) - (off["export_s"] or 0))
    out["look_extra_s"] = look_s
    out["look_fraction_of_bake_stage"] = look_s / off["wall_s"]
    out["wall_ratio"] = full["wall_s"] / off["wall_s"]
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bake cost on the demo shot")
    parser.add_argument("--frames", type=int, default=12, help="preview frames rendered per pass")
    parser.add_argument("--skip-preview", action="store_true")
    parser.add_argument("--skip-bake", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="collapse-look-") as tmp:
        work = Path(tmp)
        if not args.skip_preview:
            p = workbench_preview(work, args.frames)
            print(f"Workbench preview, {p['frames']} frames of the demo (AA {p['today_aa']} -> "
                  f"{p['look_aa']}): today {p['today_cpu_s']:.2f} "
                  f"CPU s ({p['today_wall_s']:.2f} s wall), with the look {p['look_cpu_s']:.2f} CPU s "
                  f"({p['look_wall_s']:.2f} s wall): ratio {p['ratio_cpu']:.2f} CPU, "
                  f"{p['ratio_wall']:.2f} wall (bar <= 1.2); at equal AA ({p['today_aa']}) "
                  f"{p['look_equal_aa_cpu_s']:.2f} CPU s, ratio {p['ratio_equal_aa_cpu']:.2f}; "
                  f"{p['twins']} render twins")
        if not args.skip_bake:
            scene = ROOT / "scenes" / ("demo.toml" if args.quick else "demolition-10.toml")
            b = bake_cost(work, scene)
            for q in ("off", "medium"):
                r = b[q]
                print(f"bake {scene.name} fx={q}: {r['wall_s']:.1f} s wall ({r['cpu_s']:.1f} CPU s); "
                      f"events {r['events_s']:.2f} s, fx (rubble, dust, twins) {r['fx_s']:.2f} s, "
                      f"export {r['export_s'] or 0:.2f} s; {r['shards']} shards, {r['break_events']} "
                      f"events, {r['rubble']} rubble, {r['dust']} dust, {r['rough_shards']} rough "
                      f"twins, {r['rebar_bars']} rebar bars")
            print(f"look adds {b['look_extra_s']:.2f} s = {100 * b['look_fraction_of_bake_stage']:.1f} % "
                  f"of the bake stage without it (bar <= 30 %); whole-stage wall ratio "
                  f"{b['wall_ratio']:.2f}")
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
