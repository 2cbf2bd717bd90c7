"""``collapse bench``: run both routes at every size, then report, chart and compare."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import click
import numpy as np

from headless.bench.analysis import check_comparable, compare_report, judge_bars, summarize
from headless.bench.probes import machine_info
from headless.bench.processes import child_main, run_route
from headless.bench.report import format_report, write_chart
from headless.bench.shot import ENGINE_NAMES, ROUTES, make_shot

SCHEMA = 1


def artist_model(shots: dict[int, dict], table_path: Path | None) -> dict:
    """The artist-time model for each size's shot (estimated, apart from the measurements)."""
    from headless.bench import manual_workflow
    from headless.bench.artist_time import artist_report, load_action_seconds, manual_action_counts

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
    # Stage groups that failed (their stages are missing from the table; the logs say why).
    missing = sorted({f"{r['route']} {r['cells']} shards {'/'.join(p['stages'])}: failed, see {p['log']}"
                      for r in runs for p in r["processes"] if p.get("error")})
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
