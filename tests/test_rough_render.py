"""Rough breaks and rebar ends on by default, on the meshes actually written into Blender.

One small shot (2 storeys, ~200 shards, the default actor solver, rough breaks at the default
3 cm) is built and baked once through ``api.bake_stage``; the tests read the rendered objects back
from the saved file: the render twins' cut faces deviate from their planes by the scene file's RMS,
neighbours meet (gap and overlap volume < 1e-6 of the building), volumes add up to 1e-6, rebar
stubs sit where reinforced-concrete bonds broke. Subprocess tests check that bakes with rough
breaks on repeat exactly across processes (both solvers) and that opening another file afterwards
does not crash.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from collapse_addon import api
from collapse_addon.core import break_events, rebar
from collapse_addon.core.rough_cuts import ROUGHNESS
from collapse_addon.core.settings import load_scene

ROOT = Path(__file__).resolve().parent.parent
SCENE = """
seed = 3
[building]
storeys = 2
bays_x = 1
bays_y = 2
[fracture]
cell_count = 200
[simulation]
frame_end = 40
[trigger]
type = "demolition"
frame = 6
[render]
resolution = [64, 36]
samples = 1
[output]
alembic = true
"""


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    import bpy

    settings = load_scene(SCENE)
    assert settings.fx.rough_rms == pytest.approx(0.03)  # the default: rough breaks on
    paths = api.ShotPaths(tmp_path_factory.mktemp("rough") / "shot")
    report = api.bake_stage(settings, paths)
    scene = api.open_baked(paths)
    scene.frame_set(scene.frame_start)
    yield settings, paths, report, _rendered(scene)
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _rendered(scene):
    """Per shard, the object that renders (its twin or itself): world vertices at rest (the
    shard's matrix, which a twin copies), polygons as index lists, material slot names per polygon."""
    from collapse_addon.blender import rough, simulation
    from collapse_addon.blender.events import _shard_materials

    handle = simulation.CollapseScene.from_scene(scene)
    shards = handle.shard_objects()
    materials = _shard_materials(scene, handle)
    out = []
    for ob, shown in zip(shards, rough.render_objects(shards), strict=True):
        assert shown.hide_render is False and (shown is ob or ob.hide_render)
        mesh = shown.data
        co = np.empty(3 * len(mesh.vertices), np.float32)
        mesh.vertices.foreach_get("co", co)
        if shown is not ob:  # the twin follows its shard by a Copy Transforms constraint (it is
            # hidden in the viewport, so only renders and exports evaluate it)
            (follow,) = shown.constraints
            assert follow.type == "COPY_TRANSFORMS" and follow.target == ob
        m = np.array(ob.matrix_world, float)
        world = co.reshape(-1, 3).astype(float) @ m[:3, :3].T + m[:3, 3]
        polys = [list(p.vertices) for p in mesh.polygons]
        slots = [mesh.materials[p.material_index].name for p in mesh.polygons]
        base = ob.data
        bco = np.empty(3 * len(base.vertices), np.float32)
        base.vertices.foreach_get("co", bco)
        bm = np.array(ob.matrix_world, float)
        exact = bco.reshape(-1, 3).astype(float) @ bm[:3, :3].T + bm[:3, 3]
        out.append({"name": ob.name, "twin": shown is not ob, "material": materials[len(out)], "world": world, "polys": polys,
                    "slots": slots, "exact": exact,
                    "exact_polys": [list(p.vertices) for p in base.polygons],
                    "exact_interior": [p.material_index == 1 for p in base.polygons]})
    return out


def _normal(p):
    c = p.mean(0)
    n = np.cross(p - c, np.roll(p, -1, 0) - c).sum(0)
    return n / np.linalg.norm(n), 0.5 * np.linalg.norm(
        np.cross(p - c, np.roll(p, -1, 0) - c).sum(0))


def _holds(corners, normal, x) -> bool:
    """The projection of ``x`` along ``normal`` lies inside the convex polygon ``corners``."""
    edges = np.roll(corners, -1, 0) - corners
    turn = np.einsum("ij,j->i", np.cross(edges, x - corners), normal)
    return bool((turn >= -1e-9).all() or (turn <= 1e-9).all())


def _volume(world, polys):
    v = 0.0
    for poly in polys:
        p = world[poly]
        v += sum(np.dot(p[0], np.cross(p[i], p[i + 1])) for i in range(1, len(p) - 1)) / 6.0
    return v


def _is_cut(slot: str) -> bool:
    return slot.endswith("interior")


def _deviations(shards) -> np.ndarray:
    """Each rough cut face point's distance off its face's plane, over its material's factor."""
    deviations = []
    for sh in shards:
        if not sh["twin"]:
            continue
        exact = sh["exact"]
        planes = [(exact[poly], _normal(exact[poly])[0])
                  for poly, cut in zip(sh["exact_polys"], sh["exact_interior"], strict=True) if cut]
        corners = cKDTree(exact)
        inner = {v for poly, slot in zip(sh["polys"], sh["slots"], strict=True)
                 if _is_cut(slot) for v in poly}
        for v in sorted(inner):
            x = sh["world"][v]
            if corners.query(x)[0] < 1e-5:
                continue  # a corner of the exact cell: stays put
            # the cut face whose polygon holds the point's projection
            holding = [(x - p.mean(0)) @ n for p, n in planes if _holds(p, n, x)]
            assert len(holding) >= 1
            off = min(holding, key=abs)
            deviations.append(off / ROUGHNESS[sh["material"]])  # masonry breaks 0.8x as rough
    return np.array(deviations)


def test_rough_cut_faces_deviate_by_the_scene_files_rms(baked):
    settings, paths, report, shards = baked
    # every shard with a cut face renders rough (all are concrete or masonry here: factor > 0)
    assert [sh["twin"] for sh in shards] == [any(sh["exact_interior"]) for sh in shards]
    assert report["rough_shards"] == sum(sh["twin"] for sh in shards) > 20
    dev = _deviations(shards)
    assert len(dev) > 100
    rms = float(np.sqrt(np.mean(dev**2)))
    print(f"rough cut faces: {len(dev)} inner points, RMS {rms:.5f} m, largest {np.abs(dev).max():.4f} m")
    # within 1 %: where two cut faces of a shard both hold a point's projection, the nearer plane
    # is taken, which can only under-read
    assert abs(rms - settings.fx.rough_rms) < 1e-2 * settings.fx.rough_rms
    assert np.abs(dev).max() < 10 * settings.fx.rough_rms


def test_neighbours_meet_and_volumes_add_up(baked):
    settings, paths, report, shards = baked
    exact_total = sum(_volume(sh["exact"], sh["exact_polys"]) for sh in shards)
    rough_total = sum(_volume(sh["world"], [p for p, s in zip(sh["polys"], sh["slots"], strict=True)
                                            if s != rebar_slot()]) for sh in shards)
    assert abs(rough_total - exact_total) < 1e-6 * exact_total
    # every cut polygon has exactly one partner of another shard with the same corners, facing
    # the other way: the gap/overlap volume between them is at most area x corner distance
    faces = []
    for k, sh in enumerate(shards):
        for poly, slot in zip(sh["polys"], sh["slots"], strict=True):
            if _is_cut(slot):
                faces.append((k, sh["world"][poly]))
    centres = np.array([p.mean(0) for _, p in faces])
    tree = cKDTree(centres)
    gap = 0.0
    for i, (k, p) in enumerate(faces):
        near = [j for j in tree.query_ball_point(centres[i], 1e-4) if j != i]
        assert len(near) == 1, f"cut face {i} of shard {k} has {len(near)} partners"
        j = near[0]
        q = faces[j][1]
        assert faces[j][0] != k and len(q) == len(p)
        d = max(np.min(np.linalg.norm(q - x, axis=1)) for x in p)
        n, area = _normal(p)
        assert _normal(q)[0] @ n < -0.999
        gap += 0.5 * area * d  # each pair counted twice
    print(f"volumes: rendered / exact - 1 = {rough_total / exact_total - 1:.2e}; gap/overlap bound "
          f"{gap / exact_total:.2e} of the building ({len(faces)} cut polygons)")
    assert gap < 1e-6 * exact_total


def rebar_slot() -> str:
    from collapse_addon.blender.rough import REBAR_MATERIAL

    return REBAR_MATERIAL


def test_rebar_ends_where_reinforced_concrete_bonds_broke(baked):
    settings, paths, report, shards = baked
    events = break_events.read_json(paths.break_events)
    rc = (events.material_a == rebar.RC) & (events.material_b == rebar.RC)
    assert rc.any()
    bars = sum(sum(s == rebar_slot() for s in sh["slots"]) for sh in shards) // 5  # 5 quads a bar
    print(f"rebar: {bars} bars at {int(rc.sum())} of {events.count} break events (RC on both sides)")
    assert bars == report["rebar_bars"] > 0
    owners = {sh["name"] for sh in shards if rebar_slot() in sh["slots"]}
    broken = {int(s) for s in np.concatenate([events.shard_a[rc], events.shard_b[rc]])}
    index = {sh["name"]: k for k, sh in enumerate(shards)}
    assert {index[name] for name in owners} <= broken


def test_the_alembic_cache_carries_the_rough_meshes(baked):
    import bpy

    settings, paths, report, shards = baked
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.ops.wm.alembic_import(filepath=str(paths.cache / "collapse.abc"))
    meshes = {ob.name.replace("_", " "): len(ob.data.vertices) for ob in bpy.context.scene.objects
              if ob.type == "MESH"}
    for sh in shards:  # each shard once, with its twin's mesh where it has one (more vertices)
        assert meshes.get(sh["name"].replace("_", " ")) == len(sh["world"]), (sh["name"], sorted(meshes)[:8])
    assert not [name for name in meshes if name.endswith("render")]


def test_changing_the_rms_after_the_bake_rebuilds_the_twins_without_a_rebake(baked):
    settings, paths, report, shards = baked
    events = paths.break_events.read_bytes()
    rougher = dataclasses.replace(settings, fx=dataclasses.replace(settings.fx, rough_rms=0.05))
    again = api.bake_stage(rougher, paths)  # only the look changed: no rebake
    assert paths.break_events.read_bytes() == events  # the bake's own events, kept
    scene = api.open_baked(paths)
    scene.frame_set(scene.frame_start)
    dev = _deviations(_rendered(scene))
    assert again["rough_shards"] == report["rough_shards"]
    assert abs(float(np.sqrt(np.mean(dev**2))) - 0.05) < 1e-2 * 0.05


DUMP = textwrap.dedent("""
    import hashlib, json, sys
    import numpy as np
    from pathlib import Path
    from collapse_addon import api
    from collapse_addon.blender import rough, simulation
    paths = api.ShotPaths(Path(sys.argv[1]))
    scene = api.open_baked(paths)
    h = hashlib.sha256(paths.break_events.read_bytes())
    shards = simulation.CollapseScene.from_scene(scene).shard_objects()
    for frame in (scene.frame_start, scene.frame_end):
        scene.frame_set(frame)
        for ob in rough.render_objects(shards):
            co = np.empty(3 * len(ob.data.vertices), np.float32)
            ob.data.vertices.foreach_get("co", co)
            h.update(co.tobytes())
            h.update(np.array(ob.matrix_world, np.float32).tobytes())
    other = Path(sys.argv[2])
    import bpy
    bpy.ops.wm.open_mainfile(filepath=str(other))   # another file after the twins: no crash
    scene = bpy.context.scene
    scene.frame_set(scene.frame_end)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    print("HASH", h.hexdigest())
""")


BAKE_THEN_OPEN = textwrap.dedent("""
    import sys
    from pathlib import Path
    import bpy
    from collapse_addon import api
    from collapse_addon.core.settings import load_scene
    api.bake_stage(load_scene(Path(sys.argv[1])), api.ShotPaths(Path(sys.argv[2])))
    bpy.ops.wm.open_mainfile(filepath=sys.argv[3])
    bpy.context.scene.frame_set(bpy.context.scene.frame_end)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    print("OPENED")
""")


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["actors", "glue"])
def test_rough_bakes_repeat_across_processes_and_open_another_file(tmp_path, tiny_scene, solver):
    """Two processes bake the same shot with rough breaks on (the CLI, and the API in a process
    that then opens the other shot's file): the same events, the same rendered meshes and motion;
    each baked file, opened in a fresh process, then opens the other without crashing."""
    scene = tiny_scene(tmp_path / "tiny.toml", {"simulation": {"solver": solver},
                                                 "fx": {"rough_rms": 0.04}})
    first = tmp_path / "out0"
    run = subprocess.run([sys.executable, "-m", "headless.cli", "bake", str(scene), "--out", str(first)],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    outs = [next(first.rglob("scene.blend")).parent, tmp_path / "out1" / "shot"]
    # the second bake through the API; the same process then opens the first shot's file
    run = subprocess.run([sys.executable, "-c", BAKE_THEN_OPEN, str(scene), str(outs[1]),
                          str(outs[0] / "scene.blend")], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert run.returncode == 0 and "OPENED" in run.stdout, run.stdout[-2000:] + run.stderr[-2000:]
    hashes = []
    for k in range(2):
        result = subprocess.run([sys.executable, "-c", DUMP, str(outs[k]), str(outs[1 - k] / "scene.blend")],
                                capture_output=True, text=True, timeout=300, cwd=ROOT)
        assert result.returncode == 0, result.stderr[-2000:]
        hashes.append([line for line in result.stdout.splitlines() if line.startswith("HASH")])
    assert hashes[0] == hashes[1] != []
    report = json.loads((outs[0] / "report.json").read_text())
    # Blender's glue bake gets no twins (opening another file after one crashed Blender)
    assert (report["rough_shards"] > 0) == (solver == "actors")
