"""``collapse bench``: Collapse against the manual Blender workflow, measured side by side.

For one scene and a list of sizes (shard counts) it runs the Collapse pipeline and the manual
baseline (``bench/manual_workflow.py``), alternating the two, every stage group in its own fresh
Python + Blender process, and reports per stage (building, fracture, assembly, bake, render,
finalize): wall time, CPU time, peak memory and throughput; the ratio manual / Collapse per stage
and for the whole shot; the time from the scene's settings to the first rendered frame after the
trigger; a scaling table with each stage's growth exponent; and, apart, the artist-time model.
Outputs: a terminal table, ``bench.json`` and ``bench.png``. See docs/benchmark.md.

Timing rules. A stage's *work* time is measured inside its process, from after Blender has opened
the stage's input file to before it saves its output (the same for both routes); each process's
own wall time, CPU time and peak resident memory (``os.wait4``) are recorded too, and the
settings-to-first-frame time counts whole processes. Per-stage peak memory is the kernel's
high-water mark, reset at the start of the stage (``/proc/self/clear_refs``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("building", "fracture", "assembly", "bake", "render", "finalize")
ROUTES = ("collapse", "manual")
# Stages that share one process on each route (the Collapse CLI builds the scene in one go;
# the artist saves the .blend after each step).
PROCESS_GROUPS = {
    "collapse": (("building", "fracture", "assembly"), ("bake",), ("render",), ("finalize",)),
    "manual": tuple((s,) for s in STAGES),
}
ENGINE_NAMES = {"WORKBENCH": "BLENDER_WORKBENCH", "EEVEE": "BLENDER_EEVEE", "CYCLES": "CYCLES"}
SCHEMA = 1
GROWTH_LIMIT = 1.3


class StageUnavailable(RuntimeError):
    """A Collapse stage whose code has not landed (reported, never faked)."""


# ------------------------------------------------------------------------------------- shot data


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


# ------------------------------------------------------------------------------- child processes


def _collapse_stage(stage: str, shot: dict, state: dict, out_dir: Path) -> None:
    """One Collapse stage inside a child process, through ``collapse_addon.api``.

    ``state`` carries objects between the stages that share a process; ``load_s``/``save_s`` it
    sets are taken out of the stage's work time, as on the manual route. building and fracture
    are ``api.make_building``/``api.make_shards``; assembly is ``api.build_shot`` less its own
    re-fracture; then ``api.bake_shot``, ``api.render_shot_frames`` and ``api.finalize_stage``.
    """
    from collapse_addon import api

    if stage == "building":
        from collapse_addon.core.settings import load_scene

        settings_path = out_dir / "scene.toml"
        settings_path.write_text(shot["settings_toml"])
        state["settings_path"] = settings_path
        state["settings"] = load_scene(settings_path)
        state["building"] = api.make_building(state["settings"])
        return
    if stage == "fracture":
        state["building"], state["shards"] = api.make_shards(state["settings"], state["building"])
        return
    settings = state.get("settings")
    if settings is None:
        from collapse_addon.core.settings import load_scene

        settings = state["settings"] = load_scene(out_dir / "scene.toml")
    try:
        from collapse_addon.blender import simulation  # noqa: F401  (the bpy side must exist)
    except ImportError as exc:
        raise StageUnavailable(f"collapse_addon.blender.simulation is missing ({exc})") from None
    import bpy

    if stage == "assembly":
        # api.build_shot is the scene build the CLI and add-on run; it fractures again inside,
        # and that part (its own fracture_s) is taken out of the assembly's work time.
        bpy.ops.wm.read_factory_settings(use_empty=True)
        t0 = time.perf_counter()
        info = api.build_shot(settings, scene=bpy.context.scene)
        state["load_s"] = min(info.get("fracture_s", 0.0), time.perf_counter() - t0)
        _save_blend(bpy, state)
        return
    t0 = time.perf_counter()
    if stage != "finalize":
        bpy.ops.wm.open_mainfile(filepath=state["blend_in"], load_ui=False)
    state["load_s"] = time.perf_counter() - t0
    scene = bpy.context.scene
    if stage == "bake":
        api.bake_shot(settings, scene=scene, export_dir=None)
        _save_blend(bpy, state)
    elif stage == "render":
        frames_dir = out_dir / "frames"
        state["frames_dir"] = str(frames_dir)
        api.render_shot_frames(settings, settings.frame_list(), frames_dir, scene=scene)
    elif stage == "finalize":
        paths = api.ShotPaths(out_dir)
        api.finalize_stage(settings, paths, state.get("settings_path", out_dir / "scene.toml"))


def _save_blend(bpy, state: dict) -> None:
    if state.get("blend_out"):
        t = time.perf_counter()
        bpy.ops.wm.save_as_mainfile(filepath=state["blend_out"], compress=False)
        state["save_s"] = time.perf_counter() - t


def reset_peak_rss() -> None:
    """Reset the kernel's high-water mark of this process's resident memory (Linux)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_bytes() -> int | None:
    """This process's peak resident memory since the last reset (Linux), or None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _frame_mtimes(frames_dir: Path) -> dict[int, float]:
    """Frame number -> modification time (epoch s) of each image written in ``frames_dir``."""
    out = {}
    for f in frames_dir.glob("*"):
        digits = "".join(ch for ch in f.stem if ch.isdigit())
        if digits and f.suffix.lower() in (".png", ".exr", ".jpg"):
            out[int(digits)] = f.stat().st_mtime
    return out


def child_main(route: str, stages: list[str], shot_path: str, blend_in: str, blend_out: str,
               result_path: str) -> int:
    """Run ``stages`` of ``route`` in this fresh process; write their timings to ``result_path``."""
    os.environ.setdefault("BLENDER_USER_EXTENSIONS", tempfile.mkdtemp(prefix="collapse-ext-"))
    shot = json.loads(Path(shot_path).read_text())
    results = []
    if route == "manual":
        sys.path.insert(0, str(ROOT / "bench"))
        import manual_workflow

        out_dir = Path(shot["output"]) / "manual"
        for stage in stages:
            r = manual_workflow.run_stage(stage, shot, None if blend_in == "-" else blend_in,
                                          None if blend_out == "-" else blend_out, out_dir)
            if stage == "render":
                r["frame_mtimes"] = _frame_mtimes(out_dir / "frames")
            results.append(r)
    else:
        out_dir = Path(shot["output"]) / "collapse"
        out_dir.mkdir(parents=True, exist_ok=True)
        state: dict = {"blend_in": None if blend_in == "-" else blend_in,
                       "blend_out": None if blend_out == "-" else blend_out, "shot": shot}
        for stage in stages:
            reset_peak_rss()
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                _collapse_stage(stage, shot, state, out_dir)
            except StageUnavailable as exc:
                results.append({"stage": stage, "unavailable": str(exc)})
                break
            r = {"stage": stage, "work_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
                 "peak_rss_bytes": peak_rss_bytes(), "load_s": state.pop("load_s", 0.0),
                 "save_s": state.pop("save_s", 0.0)}
            # Loading and saving .blend files are excluded from work, as on the manual route.
            r["work_s"] -= r["load_s"] + r["save_s"]
            if stage == "render":
                r["frame_mtimes"] = _frame_mtimes(Path(state.get("frames_dir", out_dir / "frames")))
            results.append(r)
    tmp = Path(result_path).with_suffix(".tmp")
    tmp.write_text(json.dumps(results))
    os.replace(tmp, result_path)
    return 0


def run_process(route: str, stages: tuple[str, ...], shot_path: Path, blend_in: str, blend_out: str,
                work: Path, timeout: float | None) -> dict:
    """One child process: its stages' results plus the process's own wall, CPU and peak memory."""
    name = f"{route}-{'-'.join(stages)}"
    result_path = work / f"{name}.json"
    result_path.unlink(missing_ok=True)
    log_path = work / f"{name}.log"
    cmd = [sys.executable, "-m", "headless.benchmark", "--child", route, ",".join(stages),
           str(shot_path), blend_in, blend_out, str(result_path)]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    launched = time.time()
    t0 = time.perf_counter()
    timed_out = False
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.perf_counter() - t0 > timeout:
                proc.kill()
                timed_out = True
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status)
    out = {"route": route, "stages": list(stages), "wall_s": time.perf_counter() - t0,
           "launched": launched, "cpu_s": usage.ru_utime + usage.ru_stime,
           "maxrss_bytes": usage.ru_maxrss * 1024, "returncode": proc.returncode, "log": str(log_path)}
    if proc.returncode == 0 and result_path.exists():
        out["results"] = json.loads(result_path.read_text())
    else:
        tail = log_path.read_text(errors="replace").splitlines()[-15:]
        out["error"] = f"timed out after {timeout} s" if timed_out else "\n".join(tail)
        out["results"] = []
    return out


def run_route(route: str, shot: dict, work: Path, timeout: float | None) -> dict:
    """Every stage of one route at one size; stops at the first failing or missing stage.

    ``work`` is emptied first: a rerun into the same folder must not find the frames of an
    earlier run (Collapse's render resumes and would skip them).
    """
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    shot_path = work / "shot.json"
    shot_path.write_text(json.dumps(shot))
    stages: dict[str, dict] = {}
    processes = []
    blend_in = "-"
    for group in PROCESS_GROUPS[route]:
        keeps_file = group[-1] not in ("render", "finalize")
        blend_out = str(work / f"{route}-{group[-1]}.blend") if keeps_file else "-"
        proc = run_process(route, group, shot_path, blend_in, blend_out, work, timeout)
        processes.append({k: v for k, v in proc.items() if k != "results"})
        for r in proc["results"]:
            stages[r["stage"]] = r
        if proc.get("error") or any("unavailable" in r for r in proc["results"]):
            break
        if keeps_file:
            blend_in = blend_out
    return {"route": route, "cells": shot["cells"], "stages": stages, "processes": processes,
            "first_frame_s": _first_frame_after_trigger(shot, processes, stages)}


def _first_frame_after_trigger(shot: dict, processes: list[dict], stages: dict) -> float | None:
    """Seconds of whole processes from the settings to the file of the first frame after the trigger."""
    render = stages.get("render")
    if not render or not render.get("frame_mtimes"):
        return None
    target = shot["simulation"]["trigger"]["frame"] + 1
    mtimes = {int(k): v for k, v in render["frame_mtimes"].items()}
    later = [f for f in mtimes if f >= target]
    if not later:
        return None
    before = sum(p["wall_s"] for p in processes
                 if "render" not in p["stages"] and "finalize" not in p["stages"])
    render_proc = next(p for p in processes if "render" in p["stages"])
    return before + (mtimes[min(later)] - render_proc["launched"])


# ------------------------------------------------------------------------------------- analysis


def growth_exponent(sizes, times) -> float | None:
    """Least-squares slope of log(time) on log(size); None with fewer than two usable points."""
    pts = [(s, t) for s, t in zip(sizes, times, strict=True) if t is not None and t > 0]
    if len({s for s, _ in pts}) < 2:
        return None
    x = np.log([s for s, _ in pts])
    y = np.log([t for _, t in pts])
    return float(np.polyfit(x, y, 1)[0])


def _median(values):
    vals = [v for v in values if v is not None]
    return float(np.median(vals)) if vals else None


def _spread(values):
    """(max - min) / median of repeated measurements; None with fewer than two."""
    vals = [v for v in values if v is not None]
    if len(vals) < 2 or np.median(vals) <= 0:
        return None
    return float((max(vals) - min(vals)) / np.median(vals))


def _throughput(stage: str, cells: int, frames: int, seconds: float | None) -> dict:
    if not seconds or seconds <= 0:
        return {}
    if stage in ("building", "fracture", "assembly"):
        return {"shards_per_s": cells / seconds}
    if stage in ("bake", "render", "finalize"):
        return {"frames_per_min": 60 * frames / seconds}
    return {}


def summarize(runs: list[dict], sizes: list[int], frames: int) -> dict:
    """Medians over repeats, ratios, throughput, exponents and extrapolated manual times."""
    table: dict[str, dict[int, dict]] = {r: {} for r in ROUTES}
    for route in ROUTES:
        for n in sizes:
            reps = [r for r in runs if r["route"] == route and r["cells"] == n]
            if not reps:
                continue
            row: dict = {}
            for stage in STAGES:
                done = [r["stages"].get(stage) for r in reps]
                done = [d for d in done if d and "work_s" in d]
                if not done:
                    continue
                work = [d["work_s"] for d in done]
                row[stage] = {"work_s": _median(work), "cpu_s": _median([d["cpu_s"] for d in done]),
                              "peak_rss_mb": _median([(d.get("peak_rss_bytes") or 0) / 2**20 for d in done]),
                              "spread": _spread(work), "repeats": len(done)}
                row[stage].update(_throughput(stage, n, frames, row[stage]["work_s"]))
            complete = all(s in row for s in STAGES)
            total = sum(v["work_s"] for v in row.values()) if complete else None
            row["_total"] = {"work_s": total, "shots_per_hour": 3600 / total if total else None,
                             "first_frame_s": _median([r["first_frame_s"] for r in reps]),
                             "first_frame_spread": _spread([r["first_frame_s"] for r in reps])}
            table[route][n] = row
    exponents: dict[str, dict[str, dict]] = {r: {} for r in ROUTES}
    for route in ROUTES:
        measured = sorted(table[route])
        for stage in STAGES:
            times = [table[route][n].get(stage, {}).get("work_s") for n in measured]
            high = [(n, t) for n, t in zip(measured, times, strict=True) if 1000 <= n <= 8000]
            cpu = [table[route][n].get(stage, {}).get("cpu_s") for n in measured]
            exponents[route][stage] = {
                "all": growth_exponent(measured, times),
                "1000_8000": growth_exponent([n for n, _ in high], [t for _, t in high]),
                "cpu": growth_exponent(measured, cpu),
            }
    # Manual times beyond the sizes it ran at: the power law fitted on the sizes it ran at, with
    # the exponent of the CPU times (steadier than wall times when other jobs share the machine).
    extrapolated: dict[int, dict[str, float]] = {}
    manual_sizes = sorted(table["manual"])
    for n in sizes:
        if n in table["manual"] or not manual_sizes:
            continue
        ref = max(manual_sizes)
        row = {}
        for stage in STAGES:
            k = exponents["manual"][stage]["cpu"]
            k = exponents["manual"][stage]["all"] if k is None else k
            t = table["manual"][ref].get(stage, {}).get("work_s")
            if k is not None and t is not None:
                row[stage] = t * (n / ref) ** k
        extrapolated[n] = row
    ratios: dict[int, dict] = {}
    cpu_ratios: dict[int, dict] = {}
    for n in sizes:
        c = table["collapse"].get(n)
        if not c:
            continue
        m = table["manual"].get(n)
        mt = {s: v["work_s"] for s, v in m.items() if s in STAGES} if m else extrapolated.get(n, {})
        row = {"source": "measured" if m else "extrapolated"}
        for stage in STAGES:
            if stage in c and mt.get(stage) and c[stage]["work_s"] > 0:
                row[stage] = mt[stage] / c[stage]["work_s"]
        setup_c = [c.get(s, {}).get("work_s") for s in ("fracture", "assembly")]
        setup_m = [mt.get(s) for s in ("fracture", "assembly")]
        if None not in setup_c and None not in setup_m:
            row["fracture+assembly"] = sum(setup_m) / sum(setup_c)
        if c["_total"]["work_s"] and all(mt.get(s) for s in STAGES):
            row["shot"] = sum(mt[s] for s in STAGES) / c["_total"]["work_s"]
        if not m and manual_sizes:
            # Conservative: the manual route growing only linearly beyond the largest size it ran
            # at (each of its operators touches the whole scene, so it cannot grow slower).
            ref = max(manual_sizes)
            lin = {st: table["manual"][ref][st]["work_s"] * n / ref for st in STAGES
                   if st in table["manual"][ref]}
            if all(st in lin and st in c for st in ("fracture", "assembly")):
                row["fracture+assembly_linear_bound"] = (lin["fracture"] + lin["assembly"]) / (
                    c["fracture"]["work_s"] + c["assembly"]["work_s"])
        if m and c["_total"]["first_frame_s"] and m["_total"]["first_frame_s"]:
            row["first_frame"] = m["_total"]["first_frame_s"] / c["_total"]["first_frame_s"]
        ratios[n] = row
        if m:
            cpu = {"source": "measured"}
            for stage in STAGES:
                if stage in c and stage in m and c[stage]["cpu_s"] > 0:
                    cpu[stage] = m[stage]["cpu_s"] / c[stage]["cpu_s"]
            ok = all(stage in c and stage in m for stage in STAGES)
            if ok:
                cpu["shot"] = sum(m[st]["cpu_s"] for st in STAGES) / sum(c[st]["cpu_s"] for st in STAGES)
            if all(st in c and st in m for st in ("fracture", "assembly")):
                cpu["fracture+assembly"] = (m["fracture"]["cpu_s"] + m["assembly"]["cpu_s"]) / \
                    (c["fracture"]["cpu_s"] + c["assembly"]["cpu_s"])
            cpu_ratios[n] = cpu
    return {"table": {route: {str(n): row for n, row in rows.items()} for route, rows in table.items()},
            "exponents": exponents,
            "manual_extrapolated": {str(k): v for k, v in extrapolated.items()},
            "ratios": {str(k): v for k, v in ratios.items()},
            "cpu_ratios": {str(k): v for k, v in cpu_ratios.items()}}


GROWTH_NOTES = {
    "bake": "Bullet's cost per step grows with bodies x contacts and with the size of the "
            "constraint islands; Collapse does less work per shard but keeps Bullet's growth.",
    "assembly": "Blender's view_layer.update() over the constraint empties grows faster than "
                "linearly (shared/PERFORMANCE.md).",
}


def judge_bars(summary: dict) -> list[dict]:
    """The issue's bars, each with the figure it was judged on and where that figure came from."""
    out = []
    r = summary["ratios"].get("4000")
    if r and "fracture+assembly" in r:
        value = min(r["fracture+assembly"], r.get("fracture+assembly_linear_bound", math.inf))
        source = r["source"] if value == r["fracture+assembly"] else \
            "extrapolated, manual growing only linearly beyond the sizes it ran at (a lower bound)"
        out.append({"bar": "fracture + scene setup >= 100x at 4,000 shards", "value": value,
                    "met": value >= 100, "source": source})
    measured = [(int(n), v) for n, v in summary["ratios"].items() if v["source"] == "measured"]
    for key, label, need in (("first_frame", "settings to first frame after trigger >= 10x", 10),
                             ("bake", "bake no slower than manual", 1),
                             ("render", "render no slower than manual", 1)):
        vals = [(n, v[key]) for n, v in measured if key in v]
        for n, value in vals:
            out.append({"bar": label, "value": value, "met": value >= need, "source": f"measured at {n}"})
    for stage, e in summary["exponents"]["collapse"].items():
        k = e.get("1000_8000")
        if k is not None and k > GROWTH_LIMIT:
            out.append({"bar": f"collapse {stage} grows no worse than N^{GROWTH_LIMIT} (1,000-8,000)",
                        "value": k, "met": False, "source": "measured",
                        "note": GROWTH_NOTES.get(stage, "see docs/benchmark.md")})
    return out


# ---------------------------------------------------------------------------------------- report


def _fmt(v, unit="", digits=3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 10**digits or abs(v) < 10 ** -(digits - 1)):
            return f"{v:.2e}{unit}"
        return f"{v:.{digits}g}{unit}"
    return f"{v}{unit}"


def format_report(data: dict) -> str:
    """The terminal report: per size and route, the stage table; ratios; scaling; bars; artist model."""
    s = data["summary"]
    lines = [f"Collapse bench: {data['scene']} (seed {data['seed']}, {data['frames']} frames, "
             f"{data['render']['engine']} {data['render']['resolution'][0]}x{data['render']['resolution'][1]})",
             f"machine: {data['machine']['cpu']}, {data['machine']['cores']} cores, "
             f"{data['machine']['memory_gib']} GiB; load at start {data['machine']['loadavg']}", ""]
    head = f"{'route':9}{'shards':>7} {'stage':10}{'wall s':>10}{'cpu s':>10}{'peak MiB':>10}{'spread':>8}  throughput"
    lines += ["Measured machine time (work inside each stage's process; median of repeats)", head,
              "-" * len(head)]
    for route in ROUTES:
        for n, row in s["table"][route].items():
            for stage in STAGES:
                v = row.get(stage)
                if not v:
                    continue
                tp = (f"{v['shards_per_s']:.3g} shards/s" if "shards_per_s" in v
                      else f"{v['frames_per_min']:.3g} frames/min" if "frames_per_min" in v else "")
                lines.append(f"{route:9}{n:>7} {stage:10}{_fmt(v['work_s']):>10}{_fmt(v['cpu_s']):>10}"
                             f"{_fmt(v['peak_rss_mb'], digits=4):>10}{_fmt(v['spread'], digits=2):>8}  {tp}")
            t = row["_total"]
            lines.append(f"{route:9}{n:>7} {'shot':10}{_fmt(t['work_s']):>10}{'':>28}  "
                         f"{_fmt(t['shots_per_hour'])} shots/hour; first frame after trigger "
                         f"{_fmt(t['first_frame_s'])} s")
    lines += ["", "Ratio manual / Collapse (machine time; 'extrapolated' rows use the manual fit)"]
    cols = [*STAGES, "fracture+assembly", "shot", "first_frame"]
    lines.append(f"{'shards':>7} {'source':13}" + "".join(f"{c[:12]:>13}" for c in cols))
    for n, row in s["ratios"].items():
        lines.append(f"{n:>7} {row['source']:13}" + "".join(f"{_fmt(row.get(c)):>13}" for c in cols))
    if s.get("cpu_ratios"):
        lines += ["", "Ratio manual / Collapse in CPU time (less sensitive to other jobs on the machine)"]
        for n, row in s["cpu_ratios"].items():
            lines.append(f"{n:>7} {row['source']:13}" + "".join(f"{_fmt(row.get(c)):>13}" for c in cols))
    lines += ["", "Scaling: growth exponent k (time ~ N^k, least squares on log-log)",
              f"{'route':9}" + "".join(f"{st:>11}" for st in STAGES)]
    for route in ROUTES:
        lines.append(f"{route:9}" + "".join(f"{_fmt(s['exponents'][route][st]['all'], digits=2):>11}"
                                            for st in STAGES) + "   (all sizes, wall)")
        lines.append(f"{route:9}" + "".join(f"{_fmt(s['exponents'][route][st].get('cpu'), digits=2):>11}"
                                            for st in STAGES) + "   (all sizes, CPU)")
    lines.append(f"{'collapse':9}" + "".join(
        f"{_fmt(s['exponents']['collapse'][st]['1000_8000'], digits=2):>11}" for st in STAGES)
        + "   (1,000-8,000)")
    if s["manual_extrapolated"]:
        lines += ["", "Manual route, EXTRAPOLATED (not run at these sizes; wall time at the largest size "
                  "it ran at, scaled by its CPU-time power law)"]
        for n, row in s["manual_extrapolated"].items():
            lines.append(f"{n:>7} " + "  ".join(f"{st} {_fmt(row.get(st))} s" for st in STAGES))
    lines += ["", "Bars"]
    for b in data["bars"]:
        lines.append(f"  [{'met' if b['met'] else 'NOT MET'}] {b['bar']}: {_fmt(b['value'])} "
                     f"({b['source']}){' -- ' + b['note'] if b.get('note') else ''}")
    if data.get("missing"):
        lines += ["", "Not measured: " + "; ".join(data["missing"])]
    a = data.get("artist")
    if a:
        lines += ["", "Artist-time MODEL (estimated seconds per UI action, editable; NOT measured, "
                  "never added to the machine-time ratios)"]
        for n, r in a.items():
            lines.append(f"{n:>7} shards: manual {r['manual_actions']} actions = "
                         f"{r['manual_seconds'] / 3600:.3g} h; Collapse {r['collapse_actions']} actions = "
                         f"{r['collapse_seconds'] / 60:.3g} min; ratio {r['ratio']:.3g}x")
    return "\n".join(lines)


STAGE_COLORS = {"building": "#4c72b0", "fracture": "#dd8452", "assembly": "#55a868",
                "bake": "#c44e52", "render": "#8172b3", "finalize": "#937860"}


def write_chart(data: dict, path: Path) -> None:
    """PNG: stage time against shard count for both routes, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    s = data["summary"]
    fig, (ax, rax) = plt.subplots(1, 2, figsize=(14, 6.5), dpi=100, width_ratios=(3, 2))
    for stage in STAGES:
        color = STAGE_COLORS[stage]
        for route, style, marker in (("collapse", "-", "o"), ("manual", "--", "s")):
            pts = sorted((int(n), row[stage]["work_s"]) for n, row in s["table"][route].items()
                         if stage in row and row[stage]["work_s"] > 0)
            if pts:
                ax.plot(*zip(*pts, strict=True), style, marker=marker, color=color,
                        label=f"{route} {stage}")
        ext = sorted((int(n), row[stage]) for n, row in s["manual_extrapolated"].items() if stage in row)
        measured = [(int(n), row[stage]["work_s"]) for n, row in s["table"]["manual"].items() if stage in row]
        if ext and measured:
            ax.plot(*zip(*([max(measured)] + ext), strict=True), ":", color=color, alpha=0.7)
        ratio = sorted((int(n), r[stage], r["source"]) for n, r in s["ratios"].items() if stage in r)
        if ratio:
            rax.plot([n for n, _, _ in ratio], [v for _, v, _ in ratio], "-", color=color, label=stage)
            for n, v, src in ratio:
                rax.plot(n, v, "o" if src == "measured" else "x", color=color)
    shot = sorted((int(n), r["shot"]) for n, r in s["ratios"].items() if "shot" in r)
    if shot:
        rax.plot(*zip(*shot, strict=True), "k-", lw=2.5, label="whole shot")
    rax.axhline(1.0, color="grey", lw=0.8)
    for a in (ax, rax):
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("shards")
        a.grid(True, which="both", alpha=0.3)
        a.set_xticks(data["sizes"])
        a.xaxis.set_major_formatter(ScalarFormatter())
        a.xaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("stage time, s (work inside the stage's process)")
    ax.set_title(f"Stage times: Collapse (solid) vs manual Blender (dashed; dotted: extrapolated)\n"
                 f"{Path(data['scene']).name}, {data['frames']} frames, {data['machine']['cpu']}",
                 fontsize=10)
    rax.set_ylabel("manual / Collapse (o measured, x manual extrapolated)")
    rax.set_title("How many times faster Collapse is, per stage", fontsize=10)
    ax.legend(fontsize=7, ncol=2, loc="upper left")
    rax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------- running


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        mem = float("nan")
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "platform": platform.platform(), "python": platform.python_version(),
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def check_comparable(old: dict, new: dict) -> None:
    """Refuse to compare benchmarks of different scenes or seeds (or unlike settings)."""
    for key, what in (("scene_hash", "scene file"), ("seed", "seed"), ("frames", "frame count"),
                      ("render", "render settings")):
        if old.get(key) != new.get(key):
            raise click.ClickException(f"cannot compare: the {what} differs ({old.get(key)!r} in the "
                                       f"old run, {new.get(key)!r} now); rerun with the same scene")


def compare_report(old: dict, new: dict) -> tuple[str, bool]:
    """Per size and ratio, old vs new and the relative change; within 15% counts as reproduced.

    Wall-time and CPU-time ratios are judged apart (on a shared machine the wall times move
    with other jobs; the CPU times far less). Returns the text and the wall-time verdict.
    """
    lines = []
    verdicts = {}
    for key, title in (("ratios", "wall time"), ("cpu_ratios", "CPU time")):
        ok, rows = True, []
        for n, row in new["summary"].get(key, {}).items():
            prev = old["summary"].get(key, {}).get(n)
            if not prev:
                continue
            for name, value in row.items():
                if name == "source" or not prev.get(name) or value is None:
                    continue
                change = value / prev[name] - 1
                ok &= abs(change) <= 0.15
                rows.append(f"{n:>7} {name:18} {prev[name]:10.3g} -> {value:10.3g}  ({change:+.1%})")
        if rows:
            lines += [f"Comparison with the earlier run: ratios manual / Collapse in {title}", *rows,
                      f"{title}: " + ("reproduced, every ratio within 15%" if ok
                                      else "NOT reproduced, a ratio moved by more than 15%"), ""]
            verdicts[key] = ok
    return "\n".join(lines).rstrip(), verdicts.get("ratios", True)


def artist_model(shots: dict[int, dict], table_path: Path | None) -> dict:
    sys.path.insert(0, str(ROOT / "bench"))
    import manual_workflow

    from collapse_addon.core.artist_time import (
        artist_report,
        load_action_seconds,
        manual_action_counts,
    )

    table = load_action_seconds(table_path)
    return {str(n): artist_report(manual_action_counts(manual_workflow.manual_shot_summary(shot)), table)
            for n, shot in shots.items()}


def run_bench(scene: Path, sizes: list[int], manual_sizes: list[int], out: Path, *, repeats: int = 1,
              frames: int | None = None, resolution: tuple[int, int] | None = None,
              engine: str | None = None, timeout: float | None = None,
              artist_table: Path | None = None, log=click.echo) -> dict:
    """Run both routes at every size (manual only at ``manual_sizes``), alternating, and report."""
    out.mkdir(parents=True, exist_ok=True)
    started = machine_info()
    shots = {n: make_shot(scene, n, out / f"n{n}", frames=frames, resolution=resolution, engine=engine)
             for n in sizes}
    first = shots[sizes[0]]
    frame_count = first["simulation"]["frame_end"] - first["simulation"]["frame_start"] + 1
    runs = []
    for rep in range(repeats):
        for n in sizes:
            order = ROUTES if (rep + sizes.index(n)) % 2 == 0 else ROUTES[::-1]
            for route in order:
                if route == "manual" and n not in manual_sizes:
                    continue
                log(f"[bench] {route} {n} shards, repeat {rep + 1}/{repeats} ...")
                work = out / f"n{n}" / f"{route}-r{rep}"
                shot = dict(shots[n], output=str(work))
                r = run_route(route, shot, work, timeout)
                r["repeat"] = rep
                runs.append(r)
                done = [f"{s} {v['work_s']:.3g}s" for s, v in r["stages"].items() if "work_s" in v]
                log(f"[bench]   {', '.join(done) or 'no stage finished'}")
                for p in r["processes"]:
                    if p.get("error"):
                        log(f"[bench]   {route} {'/'.join(p['stages'])} failed: {p['error'][-400:]}")
    missing = sorted({f"{r['route']} {s}: {v['unavailable']}" for r in runs
                      for s, v in r["stages"].items() if "unavailable" in v})
    summary = summarize(runs, sizes, frame_count)
    data = {"schema": SCHEMA, "scene": str(scene), "scene_hash": first["scene_hash"], "seed": first["seed"],
            "frames": frame_count, "render": first["render"], "sizes": sizes, "manual_sizes": manual_sizes,
            "repeats": repeats, "machine": started, "machine_after": machine_info(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "runs": runs,
            "summary": summary, "missing": missing}
    data["bars"] = judge_bars(summary)
    data["artist"] = artist_model({n: shots[n] for n in sizes}, artist_table)
    return data


def reanalyse(data: dict, scene: Path, artist_table: Path | None = None) -> dict:
    """Recompute summary, bars and artist model of an earlier bench.json from its raw runs."""
    from collapse_addon.core.settings import scene_hash

    if data.get("scene_hash") != scene_hash(scene):
        click.echo(f"note: {scene} has changed since bench.json measured it; the report uses the "
                   "raw runs stored in bench.json", err=True)
    data = dict(data)
    data["summary"] = summarize(data["runs"], data["sizes"], data["frames"])
    data["bars"] = judge_bars(data["summary"])
    shots = {}
    for n in data["sizes"]:
        shot_path = next((Path(p["log"]).parent / "shot.json" for r in data["runs"] if r["cells"] == n
                          for p in r["processes"]), None)
        if shot_path is not None and shot_path.exists():
            shots[n] = json.loads(shot_path.read_text())
    data["artist"] = artist_model(shots, artist_table)
    return data


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v.replace("_", "")) for v in text.split(",") if v.strip()]
    except ValueError:
        raise click.BadParameter(f"{text!r} is not a comma-separated list of shard counts") from None
    if not values or min(values) < 1:
        raise click.BadParameter("give shard counts >= 1, e.g. 250,1000,4000")
    return sorted(set(values))


@click.command("bench")
@click.argument("scene", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sizes", default="250,500,1000,2000,4000,8000", show_default=True,
              help="Shard counts for Collapse.")
@click.option("--manual-sizes", default="250,500", show_default=True,
              help="Shard counts at which the manual route also runs (it is slow; larger sizes are "
                   "extrapolated and labelled so).")
@click.option("--repeats", default=1, show_default=True, type=click.IntRange(1, 20),
              help="Runs per route and size (the report gives medians and the spread).")
@click.option("--frames", type=click.IntRange(2, 100000), default=None,
              help="Simulate and render this many frames (both routes) instead of the scene's.")
@click.option("--resolution", default=None, help="WxH for both routes, e.g. 320x180.")
@click.option("--engine", type=click.Choice(list(ENGINE_NAMES)), default=None,
              help="Render engine for both routes.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("out/bench"),
              show_default=True, help="Where bench.json, bench.png and the runs' files go.")
@click.option("--timeout", type=float, default=None, help="Seconds allowed per stage process.")
@click.option("--artist-table", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="TOML/JSON of seconds per UI action for the artist-time model.")
@click.option("--reanalyse", "reanalyse_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="Recompute the report, bench.json and chart from an earlier "
                                 "bench.json of SCENE (its raw runs) without running anything.")
@click.option("--compare", "compare_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=None, help="An earlier bench.json of the same scene and seed to compare with.")
def bench(scene, sizes, manual_sizes, repeats, frames, resolution, engine, out_dir, timeout, artist_table,
          reanalyse_path, compare_path):
    """Measure Collapse against the manual Blender workflow on SCENE, side by side.

    Writes a table to the terminal, OUT/bench.json and OUT/bench.png. The artist-time model is
    printed apart; it is an estimate, never added to the measured ratios.
    """
    from collapse_addon.core.errors import CollapseError

    sizes_list = _int_list(sizes)
    manual_list = [n for n in _int_list(manual_sizes) if n in sizes_list]
    res = None
    if resolution:
        try:
            w, h = (int(v) for v in resolution.lower().split("x"))
        except ValueError:
            raise click.BadParameter(f"{resolution!r}: write WxH, e.g. 320x180", param_hint="--resolution") from None
        res = (w, h)
    old = json.loads(compare_path.read_text()) if compare_path else None
    if reanalyse_path is not None:
        data = reanalyse(json.loads(reanalyse_path.read_text()), scene, artist_table)
        out_dir.mkdir(parents=True, exist_ok=True)
    else:
        data = None
    try:
        data = data or run_bench(scene, sizes_list, manual_list, out_dir, repeats=repeats, frames=frames,
                         resolution=res, engine=engine, timeout=timeout, artist_table=artist_table)
    except CollapseError as exc:
        raise click.ClickException(str(exc)) from None
    tmp = out_dir / "bench.json.tmp"
    tmp.write_text(json.dumps(data, indent=1, default=_json_default))
    os.replace(tmp, out_dir / "bench.json")
    # The scene as measured, beside the results (scene files change; the hash says which one).
    (out_dir / "scene.toml").write_bytes(scene.read_bytes())
    write_chart(data, out_dir / "bench.png")
    click.echo(format_report(data))
    click.echo(f"\nwrote {out_dir / 'bench.json'} and {out_dir / 'bench.png'}")
    if old is not None:
        check_comparable(old, data)
        text, _ = compare_report(old, data)
        click.echo("\n" + text)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--child":
        route, stages, shot, blend_in, blend_out, result = argv[1:7]
        return child_main(route, stages.split(","), shot, blend_in, blend_out, result)
    bench.main(args=argv, prog_name="collapse bench")
    return 0


if __name__ == "__main__":
    sys.exit(main())
