"""Break events, rubble and dust of a real glue bake, and the film look, in real Blender.

One small demolition (3 storeys, ~200 shards, 48 frames) is built and baked once for the module
through the same stages as ``collapse bake``; the dust check renders four 96x54 Cycles frames.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from collapse_addon import api
from collapse_addon.core import break_events
from collapse_addon.core.settings import load_scene

SCENE = """
seed = 1
[building]
storeys = 3
bays_x = 2
bays_y = 2
[fracture]
cell_count = 200
[simulation]
solver = "glue"  # events derived from the glue that let go (test_actors covers the actor solver's)
frame_end = 48
[trigger]
type = "demolition"
frame = 12
[render]
resolution = [96, 54]
samples = 4
[output]
alembic = true
"""


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    import bpy

    settings = load_scene(SCENE)
    paths = api.ShotPaths(tmp_path_factory.mktemp("look") / "shot")
    report = api.bake_stage(settings, paths)
    yield settings, paths, report
    bpy.ops.wm.read_factory_settings(use_empty=True)


def _open(paths):
    return api.open_baked(paths)


def test_every_broken_bond_has_one_event_on_its_contact_face(baked):
    from collapse_addon.blender import simulation

    settings, paths, report = baked
    events = break_events.read_json(paths.break_events)
    broken = round(report["glue_broken_fraction"][-1] * report["glue_joints"])
    assert events.count == broken == report["break_events"] > 0
    assert (events.frame >= settings.trigger.frame).all()  # nothing breaks before the trigger
    assert set(events.cause.tolist()) == {"glue"} and (events.impulse >= 0).all()
    # back to rest: each position, carried by shard a, is on the face it shares with shard b
    building, shards = api.make_shards(settings, api.make_building(settings))
    contacts = {tuple(p): k for k, p in enumerate(shards.contacts.pairs.tolist())}
    scene = _open(paths)
    positions, rotations = simulation.baked_transforms(scene)
    k = events.frame - settings.simulation.frame_start
    a = events.shard_a
    rest = (np.einsum("nji,nj->ni", rotations[k, a], events.position - positions[k, a])
            + shards.centroid[a])
    rows = np.array([contacts[(int(i), int(j))] for i, j in zip(a, events.shard_b, strict=True)])
    normal = shards.contacts.normal[rows]
    off_plane = np.einsum("ni,ni->n", rest - shards.contacts.centroid[rows], normal)
    assert np.abs(off_plane).max() < 1e-4
    # inside the face: the point is on both shards' surfaces (within both cells' bounds)
    for s in (a, events.shard_b):
        lo = np.array([shards.vertices[shards.vertex_start[i]:shards.vertex_start[i + 1]].min(0)
                       for i in s])
        hi = np.array([shards.vertices[shards.vertex_start[i]:shards.vertex_start[i + 1]].max(0)
                       for i in s])
        assert ((rest >= lo - 1e-4) & (rest <= hi + 1e-4)).all()
    np.testing.assert_allclose(np.linalg.norm(events.normal, axis=1), 1.0, atol=1e-9)


def test_events_are_points_in_the_alembic_cache(baked):
    import bpy

    settings, paths, report = baked
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    bpy.ops.wm.alembic_import(filepath=str(paths.cache / "collapse.abc"))
    ob = next(ob for ob in scene.objects if "break" in ob.name)
    counts = []
    for frame in (settings.trigger.frame - 1, settings.simulation.frame_end):
        scene.frame_set(frame)
        mesh = ob.evaluated_get(bpy.context.evaluated_depsgraph_get()).to_mesh()
        counts.append(len(mesh.vertices))
    assert counts == [0, report["break_events"]]


def _evaluated_counts(scene, frame):
    import bpy

    scene.frame_set(frame)
    depsgraph = bpy.context.evaluated_depsgraph_get()
    out = {}
    for ob in scene.objects:
        if ob.get("collapse_role") != "fx":
            continue
        evaluated = ob.evaluated_get(depsgraph)
        if not hasattr(evaluated, "evaluated_geometry"):  # Blender < 4.3
            pytest.skip("this Blender cannot read evaluated instances from Python")
        geometry = evaluated.evaluated_geometry()
        instances = geometry.instances_pointcloud()  # rubble: one instance per fragment
        out[ob.name] = len(instances.points) if instances else 0
        if geometry.volume is not None:  # dust: a volume grid once any puff exists
            out[ob.name] += 1
    return out


def test_rubble_and_dust_appear_after_the_trigger_only(baked):
    settings, paths, report = baked
    assert report["rubble"] >= 10 * report["shards"]
    assert report["dust"] > 0
    scene = _open(paths)
    before = _evaluated_counts(scene, settings.trigger.frame - 1)
    after = _evaluated_counts(scene, settings.simulation.frame_end + 2)  # every break emitted
    assert before and sum(before.values()) == 0
    assert after.pop("Collapse dust") == 1
    assert sum(after.values()) == report["rubble"]


def _render(scene, path):
    import bpy

    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(str(path))
    channels = image.channels
    px = np.empty(image.size[0] * image.size[1] * channels, np.float32)
    image.pixels.foreach_get(px)
    bpy.data.images.remove(image)
    return px.reshape(-1, channels)[:, :3]


def dust_cover(scene, frame, tmp_path) -> float:
    """Fraction of the frame's pixels that the dust changes by more than 0.03 (of 1): the frame
    rendered with and without the dust object."""
    import bpy

    dust = bpy.data.objects["Collapse dust"]
    scene.frame_set(frame)
    with_dust = _render(scene, tmp_path / f"with-{frame}.png")
    dust.hide_render = True
    without = _render(scene, tmp_path / f"without-{frame}.png")
    dust.hide_render = False
    return float((np.abs(with_dust - without).max(axis=1) > 0.03).mean())


def test_dust_covers_part_of_a_cycles_frame_after_the_trigger_and_none_before(baked, tmp_path):
    from collapse_addon.blender import render as rnd
    from collapse_addon.core.settings import RenderSettings

    settings, paths, _report = baked
    scene = _open(paths)
    rnd.configure_render(scene, RenderSettings(engine="CYCLES", device="CPU", samples=4,
                                               resolution=(96, 54)), fps=24, seed=1)
    before = dust_cover(scene, settings.trigger.frame - 1, tmp_path)
    after = dust_cover(scene, 36, tmp_path)
    print(f"dust cover: frame {settings.trigger.frame - 1} {before:.4f}, frame 36 {after:.4f}")
    assert before == 0.0
    assert after > 0.02


def test_look_gives_textured_materials_sky_shadows_and_a_camera_move(baked):
    _settings, paths, _report = baked
    scene = _open(paths)
    import bpy

    brick = bpy.data.materials["Collapse masonry exterior"]
    kinds = {n.bl_idname for n in brick.node_tree.nodes}
    assert "ShaderNodeTexBrick" in kinds and "ShaderNodeBump" in kinds
    assert "ShaderNodeTexVoronoi" in {n.bl_idname for n in
                                     bpy.data.materials["Collapse masonry interior"].node_tree.nodes}
    assert "ShaderNodeValToRGB" in {n.bl_idname for n in scene.world.node_tree.nodes}
    shading = scene.display.shading
    assert shading.show_shadows and shading.show_cavity
    cam = scene.camera
    scene.frame_set(scene.frame_start)
    first = np.array(cam.matrix_world.translation)
    scene.frame_set(scene.frame_end)
    last = np.array(cam.matrix_world.translation)
    assert 0.1 < np.linalg.norm(first - last) < 0.2 * np.linalg.norm(last)
    shard = next(ob for ob in scene.objects if "collapse_shard" in ob)
    assert "collapse_rest" in shard.data.attributes
    assert json.loads(paths.report.read_text())["break_events"] > 0
