"""The benchmark's honesty: the manual baseline makes the same kind of shot, and the report's maths.

The side-by-side run uses a tiny building (about 60 shards, 20 frames, 64x36 pixels) so the whole
file stays within about a minute and a half; the real measurements live in ``collapse bench``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from collapse_addon.core.artist_time import (
    ACTION_SECONDS,
    artist_report,
    load_action_seconds,
    manual_action_counts,
)
from collapse_addon.core.errors import SpecError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import manual_workflow  # noqa: E402

from headless import benchmark  # noqa: E402

TINY_SCENE = """\
seed = 3
[building]
storeys = 2
bays_x = 1
bays_y = 1
[simulation]
solver = "glue"  # these tests pin the Bullet glue route
frame_end = 20
[trigger]
type = "demolition"
frame = 4
demolition_kinds = ["column", "wall"]
[render]
resolution = [64, 36]
"""

BLEND_PROBE = r"""
import json, sys
import bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
scene = bpy.context.scene
world = scene.rigidbody_world
active = [o for o in world.collection.objects if o.rigid_body.type == "ACTIVE"]
def heights(frame):
    scene.frame_set(frame)
    return [o.matrix_world.translation.z for o in active]
start = heights(scene.frame_start)
before = heights(int(sys.argv[2]) - 1)
end = heights(scene.frame_end)
import bmesh
volume = 0.0
for o in active:
    bm = bmesh.new(); bm.from_mesh(o.data); volume += bm.calc_volume(signed=True); bm.free()
print("PROBE" + json.dumps({"active": len(active), "constraints": len(world.constraints.objects),
      "baked": bool(world.point_cache.is_baked), "start": start, "before": before, "end": end,
      "volume": volume}))
"""


def _probe(blend: Path, trigger_frame: int) -> dict:
    out = subprocess.run([sys.executable, "-c", BLEND_PROBE, str(blend), str(trigger_frame)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    line = next(x for x in out.stdout.splitlines() if x.startswith("PROBE"))
    return json.loads(line[5:])


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    """Both routes on the tiny scene, side by side (the Collapse route as far as it exists)."""
    root = tmp_path_factory.mktemp("bench")
    scene = root / "tiny.toml"
    scene.write_text(TINY_SCENE)
    shot = benchmark.make_shot(scene, 60, root)
    manual = benchmark.run_route("manual", dict(shot, output=str(root / "manual")), root / "manual", 300)
    collapse = benchmark.run_route("collapse", dict(shot, output=str(root / "collapse")), root / "collapse", 300)
    return shot, manual, collapse, root


def test_manual_baseline_runs_every_stage(tiny_runs):
    shot, manual, _, root = tiny_runs
    errors = [p.get("error") for p in manual["processes"] if p.get("error")]
    assert not errors, errors
    assert list(manual["stages"]) == list(benchmark.STAGES)
    for stage in manual["stages"].values():
        assert stage["work_s"] > 0 and stage["cpu_s"] > 0 and stage["peak_rss_bytes"] > 0
    frames = sorted((root / "manual" / "manual" / "frames").glob("*.png"))
    assert len(frames) == shot["simulation"]["frame_end"] - shot["simulation"]["frame_start"] + 1
    assert (root / "manual" / "manual" / "preview.mp4").stat().st_size > 0
    assert manual["first_frame_s"] is not None and manual["first_frame_s"] > 0


def test_manual_baseline_fractures_into_the_same_shards_and_collapses(tiny_runs):
    """Same kind of result: the same shards (count and volume), glued, standing, then falling."""
    from collapse_addon.core.fracture import fracture_building
    from collapse_addon.core.seeds import FractureSpec

    shot, _, _, root = tiny_runs
    building = manual_workflow.shot_building(shot)
    shards = fracture_building(building, FractureSpec(**shot["fracture"]))
    movers = np.array([building.elements[e].kind != "foundation" for e in shards.element])
    probe = _probe(root / "manual" / "manual-bake.blend", shot["simulation"]["trigger"]["frame"])
    assert probe["baked"]
    assert probe["active"] == int(movers.sum())
    assert probe["volume"] == pytest.approx(shards.volume[movers].sum(), rel=1e-4)
    assert probe["constraints"] == shards.contacts.count
    start, before, end = (np.array(probe[k]) for k in ("start", "before", "end"))
    assert np.abs(before - start).max() < 0.05, "the manual building must stand before the trigger"
    assert end.max() < start.max() - 0.5, "the manual building must fall after the trigger"


def test_both_routes_render_the_same_frames(tiny_runs):
    shot, manual, collapse, root = tiny_runs
    if "render" not in collapse["stages"]:
        missing = [v.get("unavailable") or "failed" for v in collapse["stages"].values()
                   if "work_s" not in v] + [p.get("error", "")[-300:] for p in collapse["processes"]
                                            if p.get("error")]
        pytest.skip(f"the Collapse route does not render yet: {missing}")
    import bpy

    count = shot["simulation"]["frame_end"] - shot["simulation"]["frame_start"] + 1
    collapse_frames = sorted((root / "collapse" / "collapse" / "frames").glob("*.png"))
    manual_frames = sorted((root / "manual" / "manual" / "frames").glob("*.png"))
    assert len(collapse_frames) == len(manual_frames) == count
    sizes = set()
    for f in (collapse_frames[0], manual_frames[0]):
        image = bpy.data.images.load(str(f))
        sizes.add(tuple(image.size))
        bpy.data.images.remove(image)
    assert sizes == {tuple(shot["render"]["resolution"])}


def test_replay_counts_the_actions_the_artist_model_counts(tiny_runs):
    shot, manual, _, _ = tiny_runs
    replayed: dict[str, int] = {}
    for stage in manual["stages"].values():
        for kind, n in stage["actions"].items():
            replayed[kind] = replayed.get(kind, 0) + n
    model = manual_action_counts(manual_workflow.manual_shot_summary(shot))
    assert replayed == dict(model)


def test_cell_neighbours_give_the_voronoi_cells():
    """Cutting a box by each cell's bisector planes gives the exact cells (the volumes sum up)."""
    from collapse_addon.core.fracture import fracture_box

    rng = np.random.default_rng(4)
    lo, hi = np.zeros(3), np.array([2.0, 1.0, 1.5])
    seeds = rng.uniform(lo + 0.01, hi - 0.01, (25, 3))
    neighbours = manual_workflow.cell_neighbours(seeds, lo, hi)
    exact = fracture_box(lo, hi, seeds)
    inner = exact.contacts.pairs
    for a, b in inner:
        assert b in neighbours[a] and a in neighbours[b]
    for a, ns in enumerate(neighbours):
        assert len(set(ns)) == len(ns) and a not in ns


def test_artist_table_loads_user_timings(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text("[action_seconds]\nbisect = 20.0\nclick_select = 1\n")
    table = load_action_seconds(path)
    assert table["bisect"] == 20.0 and table["click_select"] == 1.0
    assert table["shortcut"] == ACTION_SECONDS["shortcut"]
    slower = artist_report({"bisect": 10}, table)
    assert slower["manual_seconds"] == 200.0
    (tmp_path / "bad.json").write_text(json.dumps({"teleport": 1}))
    with pytest.raises(SpecError, match="teleport"):
        load_action_seconds(tmp_path / "bad.json")
    (tmp_path / "neg.json").write_text(json.dumps({"bisect": -1}))
    with pytest.raises(SpecError, match="bisect"):
        load_action_seconds(tmp_path / "neg.json")


def test_growth_exponent_recovers_a_power_law():
    sizes = [250, 1000, 4000, 8000]
    assert benchmark.growth_exponent(sizes, [2e-3 * n**1.2 for n in sizes]) == pytest.approx(1.2)
    assert benchmark.growth_exponent([1000], [1.0]) is None


def _fake_run(route, n, seconds, first=None):
    return {"route": route, "cells": n, "first_frame_s": first,
            "stages": {s: {"stage": s, "work_s": seconds[s], "cpu_s": seconds[s], "peak_rss_bytes": 1}
                       for s in seconds}}


def test_summary_ratios_exponents_and_extrapolation_are_labelled():
    stages = benchmark.STAGES
    runs = []
    for n in (250, 1000, 4000):
        runs.append(_fake_run("collapse", n, {s: 0.001 * n for s in stages}, first=0.01 * n))
    for n in (250, 1000):
        runs.append(_fake_run("manual", n, {s: 0.01 * n**2 / 250 for s in stages}, first=0.5 * n))
    summary = benchmark.summarize(runs, [250, 1000, 4000], frames=10)
    assert summary["ratios"]["250"]["source"] == "measured"
    assert summary["ratios"]["250"]["bake"] == pytest.approx(10.0)
    assert summary["ratios"]["4000"]["source"] == "extrapolated"
    assert summary["exponents"]["manual"]["fracture"]["all"] == pytest.approx(2.0)
    assert summary["manual_extrapolated"]["4000"]["fracture"] == pytest.approx(0.01 * 4000**2 / 250)
    bars = benchmark.judge_bars(summary)
    setup = next(b for b in bars if b["bar"].startswith("fracture + scene setup"))
    assert setup["source"].startswith("extrapolated")
    # The bar takes the lower of the fitted and the linear (lower-bound) extrapolation.
    linear = summary["ratios"]["4000"]["fracture+assembly_linear_bound"]
    assert setup["value"] == pytest.approx(min(linear, summary["ratios"]["4000"]["fracture+assembly"]))
    assert linear == pytest.approx(2 * 40.0 * 4 / (2 * 4.0))


def test_compare_refuses_other_scenes_and_seeds():
    import click

    base = {"scene_hash": "a", "seed": 1, "frames": 10, "render": {"engine": "X"}}
    benchmark.check_comparable(base, dict(base))
    with pytest.raises(click.ClickException, match="scene file"):
        benchmark.check_comparable(base, dict(base, scene_hash="b"))
    with pytest.raises(click.ClickException, match="seed"):
        benchmark.check_comparable(base, dict(base, seed=2))
    old = {"summary": {"ratios": {"250": {"source": "measured", "bake": 10.0}}}}
    new = {"summary": {"ratios": {"250": {"source": "measured", "bake": 11.0}}}}
    assert benchmark.compare_report(old, new)[1]
    new["summary"]["ratios"]["250"]["bake"] = 13.0
    assert not benchmark.compare_report(old, new)[1]
