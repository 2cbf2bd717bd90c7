"""The benchmark's child processes: every stage group of a route in its own fresh Python + Blender.

``run_route`` runs one route at one size as a chain of ``python -m headless.bench --child ...``
processes (``PROCESS_GROUPS``), each opening the previous one's ``.blend``; ``child_main`` is what
such a process runs. Timing rules: see the package's docstring.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from headless.bench.probes import frame_mtimes, peak_rss_bytes, reset_peak_rss
from headless.bench.shot import PROCESS_GROUPS

# The folder that holds the ``headless`` and ``collapse_addon`` packages (the repository or
# site-packages): the children import the same code as their parent from there.
PACKAGE_ROOT = Path(__file__).resolve().parents[2]


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

def child_main(route: str, stages: list[str], shot_path: str, blend_in: str, blend_out: str,
               result_path: str) -> int:
    """Run ``stages`` of ``route`` in this fresh process; write their timings to ``result_path``."""
    os.environ.setdefault("BLENDER_USER_EXTENSIONS", tempfile.mkdtemp(prefix="collapse-ext-"))
    shot = json.loads(Path(shot_path).read_text())
    results = []
    if route == "manual":
        from headless.bench import manual_workflow

        out_dir = Path(shot["output"]) / "manual"
        for stage in stages:
            r = manual_workflow.run_stage(stage, shot, None if blend_in == "-" else blend_in,
                                          None if blend_out == "-" else blend_out, out_dir)
            if stage == "render":
                r["frame_mtimes"] = frame_mtimes(out_dir / "frames")
            results.append(r)
    else:
        out_dir = Path(shot["output"]) / "collapse"
        out_dir.mkdir(parents=True, exist_ok=True)
        state: dict = {"blend_in": None if blend_in == "-" else blend_in,
                       "blend_out": None if blend_out == "-" else blend_out, "shot": shot}
        for stage in stages:
            reset_peak_rss()
            w0, c0 = time.perf_counter(), time.process_time()
            _collapse_stage(stage, shot, state, out_dir)
            r = {"stage": stage, "work_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
                 "peak_rss_bytes": peak_rss_bytes(), "load_s": state.pop("load_s", 0.0),
                 "save_s": state.pop("save_s", 0.0)}
            # Loading and saving .blend files are excluded from work, as on the manual route.
            r["work_s"] -= r["load_s"] + r["save_s"]
            if stage == "render":
                r["frame_mtimes"] = frame_mtimes(Path(state.get("frames_dir", out_dir / "frames")))
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
    # Absolute paths: Blender resolves a relative one against $PWD, which a parent that changed
    # folder without a shell leaves stale (bpy 4.5 wrote to the old folder).
    def absolute(path: str) -> str:
        return path if path == "-" else str(Path(path).resolve())

    cmd = [sys.executable, "-m", "headless.bench", "--child", route, ",".join(stages),
           absolute(str(shot_path)), absolute(blend_in), absolute(blend_out),
           absolute(str(result_path))]
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    launched = time.time()
    t0 = time.perf_counter()
    timed_out = False
    with log_path.open("w") as log:
        # The child keeps this process's working folder, so relative paths mean the same there.
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
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
        if proc.get("error"):
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


