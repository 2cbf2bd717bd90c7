"""The add-on's operators on real scenes: every operator, the UI path against the API, cancel,
the artist's own messy meshes, and a UI-written scene file rendered through the CLI.

Scenes are tiny (one bay, one storey, a few dozen shards, a dozen frames, 64 x 48 pixels).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# The shared tiny shot (conftest) with 14 frames, a later trigger and 64 x 48 default-sample frames.
OPS_SCENE = {"simulation": {"frame_end": 14}, "trigger": {"frame": 5},
             "render": {"resolution": [64, 48], "samples": None}}


@pytest.fixture
def addon(clean_scene):
    import collapse_addon

    collapse_addon.register()
    yield clean_scene
    collapse_addon.unregister()


def load_tiny(scene, tmp_path, tiny_scene):
    from collapse_addon.core.settings import load_scene
    from collapse_addon.ui.properties import load_shot_into_scene

    shot = load_scene(tiny_scene(tmp_path / "tiny.toml", OPS_SCENE))
    load_shot_into_scene(scene, shot)
    scene.collapse_shot.output.directory = str(tmp_path / "out")
    return shot


def shard_arrays(scene):
    """Vertices of every shard (world space at the current frame) and the baked transforms."""
    from collapse_addon.blender import simulation

    objects = simulation.CollapseScene.from_scene(scene).shard_objects()
    verts = []
    for ob in objects:
        co = np.empty(len(ob.data.vertices) * 3)
        ob.data.vertices.foreach_get("co", co)
        verts.append(co.reshape(-1, 3))
    return [ob.name for ob in objects], verts


def test_every_operator_runs_on_a_fixture_scene(addon, bpy_module, tmp_path, tiny_scene):
    bpy = bpy_module
    scene = addon
    load_tiny(scene, tmp_path, tiny_scene)
    ops = bpy.ops.collapse

    assert ops.generate_building() == {"FINISHED"}
    preview = [ob for ob in scene.objects if ob.get("collapse_role") == "building_preview"]
    assert len(preview) == 1 and len(preview[0].data.polygons) > 6
    assert preview[0].name == "Collapse Building"

    assert ops.preview_seeds() == {"FINISHED"}
    seeds = bpy.data.objects["Collapse Seeds"]
    assert len(seeds.data.vertices) >= 40

    scene.collapse_shot.trigger.type = "explosion"
    assert ops.add_trigger_empty() == {"FINISHED"}
    empty = scene.collapse_shot.trigger_object
    empty.location = (1.0, 2.0, 0.5)
    scene.collapse_shot.trigger.type = "demolition"

    assert ops.fracture() == {"FINISHED"}
    assert "Collapse Building" not in bpy.data.objects  # the intact preview made way
    assert scene.collapse_shot.trigger_object == empty  # the artist's placement stays
    from collapse_addon.ui.operators import collapse_handle, is_baked, scene_status

    handle = collapse_handle(scene)
    assert handle is not None and handle.shard_count >= 40
    assert ops.setup_simulation() == {"FINISHED"}
    assert collapse_handle(scene).shard_count == handle.shard_count
    assert ops.bake() == {"FINISHED"}
    assert is_baked(scene)
    assert scene_status(scene)[-1] == "Baked"

    scene.collapse_shot.export_format = "ALEMBIC"
    assert ops.export() == {"FINISHED"}
    assert (tmp_path / "out" / "collapse.abc").stat().st_size > 1000

    scene.collapse_shot.preview_frames = 2
    assert ops.render_preview() == {"FINISHED"}
    assert len(list((tmp_path / "out" / "preview").glob("*.png"))) == 2

    scene_file = tmp_path / "shot.toml"
    assert ops.write_scene(filepath=str(scene_file)) == {"FINISHED"}
    assert "[building]" in scene_file.read_text()

    user_cube = bpy.data.objects.new("artist cube", bpy.data.meshes.new("artist cube"))
    scene.collection.objects.link(user_cube)
    assert ops.clear() == {"FINISHED"}
    assert collapse_handle(scene) is None and scene.rigidbody_world is None
    assert [ob.name for ob in scene.objects] == ["artist cube"]
    assert not [k for k in scene.keys() if k.startswith("collapse") and k != "collapse_shot"]

    assert ops.load_scene(filepath=str(scene_file)) == {"FINISHED"}
    assert scene.collapse_shot.seed == 2


def test_fracture_setup_and_bake_operators_match_the_api_exactly(addon, bpy_module, tmp_path, tiny_scene):
    bpy = bpy_module
    from collapse_addon import api
    from collapse_addon.blender import simulation

    scene = addon
    shot = load_tiny(scene, tmp_path, tiny_scene)
    assert bpy.ops.collapse.fracture() == {"FINISHED"}
    assert bpy.ops.collapse.bake() == {"FINISHED"}
    # Rebuilding in place (Set Up Simulation clears the old collapse first) must change nothing.
    assert bpy.ops.collapse.setup_simulation() == {"FINISHED"}
    assert bpy.ops.collapse.bake() == {"FINISHED"}
    ui_names, ui_verts = shard_arrays(scene)
    ui_pos, ui_rot = simulation.baked_transforms(scene)
    ui_camera = np.array(scene.camera.matrix_world)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    api.build_shot(shot, scene=scene)
    api.bake_shot(shot, scene=scene)
    api_names, api_verts = shard_arrays(scene)
    api_pos, api_rot = simulation.baked_transforms(scene)
    assert np.array_equal(ui_camera, np.array(scene.camera.matrix_world))

    assert ui_names == api_names
    assert all(np.array_equal(a, b) for a, b in zip(ui_verts, api_verts, strict=True))
    assert ui_pos.shape == api_pos.shape and np.array_equal(ui_pos, api_pos)
    assert np.array_equal(ui_rot, api_rot)
    assert np.abs(ui_pos[-1] - ui_pos[0]).max() > 0.1  # the demolition moved something


def test_cancelled_bake_leaves_the_scene_as_it_was(addon, bpy_module, tmp_path, tiny_scene):
    bpy = bpy_module
    from collapse_addon.blender import simulation
    from collapse_addon.ui.bake import bake_job, free_bake
    from collapse_addon.ui.operators import is_baked, shot_from_context

    scene = addon
    load_tiny(scene, tmp_path, tiny_scene)
    assert bpy.ops.collapse.fracture() == {"FINISHED"}
    objects = simulation.CollapseScene.from_scene(scene).shard_objects()
    scene.frame_set(1)
    before = np.array([ob.matrix_world for ob in objects])
    job = bake_job(shot_from_context(bpy.context), scene)
    for _ in range(8):  # past the trigger: shards are moving
        next(job)
    job.close()
    # What COLLAPSE_OT_bake.restore does on Esc.
    free_bake(scene)
    scene.frame_set(1)
    assert not is_baked(scene)
    assert np.array_equal(np.array([ob.matrix_world for ob in objects]), before)
    assert "collapse_ui_report" not in scene.keys()


def _mesh_object(bpy, name, vertices, faces):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(v) for v in vertices], [], [list(map(int, f)) for f in faces])
    ob = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(ob)
    return ob


def test_fracture_selected_messy_mesh_offers_repair_and_keeps_the_original(addon, bpy_module,
                                                                           tmp_path, tiny_scene):
    bpy = bpy_module
    from collapse_addon.core.meshio import box_mesh
    from collapse_addon.ui.operators import collapse_handle

    scene = addon
    load_tiny(scene, tmp_path, tiny_scene)
    scene.collapse_shot.source = "SELECTED"
    scene.collapse_shot.fracture.cell_count = 12
    # A box whose faces do not share vertices (as exported face by face): open until merged.
    vertices, faces = box_mesh((0, 0, 0), (2, 1, 1.5))
    split_vertices = np.concatenate([vertices[f] for f in faces])
    split_faces = [np.arange(4 * i, 4 * i + 4) for i in range(len(faces))]
    ob = _mesh_object(bpy, "messy box", split_vertices, split_faces)
    ob.select_set(True)
    bpy.context.view_layer.objects.active = ob
    with pytest.raises(RuntimeError, match="Repair and Fracture"):
        bpy.ops.collapse.fracture()
    assert collapse_handle(scene) is None and ob.visible_get()

    assert bpy.ops.collapse.fracture(repair=True) == {"FINISHED"}
    handle = collapse_handle(scene)
    assert handle.shard_count >= 12
    assert ob.name in bpy.data.objects and len(ob.data.vertices) == 24  # untouched, only hidden
    assert ob.hide_viewport and ob.hide_render and ob.get("collapse_original")
    assert bpy.ops.collapse.clear() == {"FINISHED"}
    assert not ob.hide_viewport and not ob.hide_render


def test_fracture_selected_wall_with_window_holes_conserves_volume(addon, bpy_module, tmp_path, tiny_scene):
    bpy = bpy_module
    from collapse_addon.core.meshio import box_mesh, wall_with_windows_mesh
    from collapse_addon.ui.operators import collapse_handle

    scene = addon
    load_tiny(scene, tmp_path, tiny_scene)
    settings = scene.collapse_shot
    settings.source = "SELECTED"
    settings.fracture.cell_count = 30
    vertices, faces = wall_with_windows_mesh(length=6.0, thickness=0.3, height=3.0, windows=2,
                                             window_w=1.0, window_h=1.2)
    wall = _mesh_object(bpy, "wall", vertices, faces)
    wall.collapse_override.material = "masonry"
    base_vertices, base_faces = box_mesh((-0.5, -0.5, -0.4), (6.5, 0.8, 0.0))
    base = _mesh_object(bpy, "base", base_vertices, base_faces)
    base.collapse_override.anchor = True
    wall.select_set(True)
    base.select_set(True)
    assert bpy.ops.collapse.fracture() == {"FINISHED"}
    masses = np.array(scene["collapse_masses"])
    passive = np.array(scene["collapse_passive"], bool)
    expected = (6.0 * 3.0 - 2 * 1.0 * 1.2) * 0.3
    assert masses[~passive].sum() == pytest.approx(expected * 1900.0, rel=1e-6)  # masonry
    assert passive.sum() == 1  # the anchored base stays whole and fixed
    assert collapse_handle(scene).shard_count >= 31


def test_fracture_selected_lod2_city_model_building(addon, bpy_module, tmp_path, tiny_scene):
    bpy = bpy_module
    from collapse_addon.core.materials import MATERIALS
    from collapse_addon.core.mesh_fracture import prepare_solid
    from collapse_addon.core.meshio import load_cityjson

    scene = addon
    load_tiny(scene, tmp_path, tiny_scene)
    scene.collapse_shot.source = "SELECTED"
    scene.collapse_shot.fracture.cell_count = 20
    data = Path(__file__).parent / "data" / "3dbag_shertogenbosch_10houses_multilod.city.json"
    name, vertices, faces = load_cityjson(data)[0]
    house = _mesh_object(bpy, name, vertices, faces)
    house.select_set(True)
    assert bpy.ops.collapse.fracture() == {"FINISHED"}
    masses = np.array(scene["collapse_masses"])
    volume = prepare_solid(vertices, faces, name).volume
    density = MATERIALS[scene.collapse_shot.mesh.material].density
    assert len(masses) >= 20
    assert masses.sum() == pytest.approx(volume * density, rel=1e-6)
    assert house.hide_viewport and house.name in bpy.data.objects


def test_scene_file_written_by_the_ui_renders_identically_through_the_cli(addon, bpy_module,
                                                                         tmp_path, tiny_scene):
    bpy = bpy_module
    scene = addon
    load_tiny(scene, tmp_path, tiny_scene)
    settings = scene.collapse_shot
    settings.render.frames = "12"
    assert bpy.ops.collapse.fracture() == {"FINISHED"}
    assert bpy.ops.collapse.bake() == {"FINISHED"}
    assert bpy.ops.collapse.render() == {"FINISHED"}
    ui_frame = tmp_path / "out" / "frames" / "0012.png"
    assert ui_frame.exists()

    scene_file = tmp_path / "ui_shot.toml"
    assert bpy.ops.collapse.write_scene(filepath=str(scene_file)) == {"FINISHED"}
    cli_out = tmp_path / "cli"
    root = Path(__file__).resolve().parent.parent
    for stage in ("build", "bake", "render"):
        result = subprocess.run([sys.executable, "-m", "headless.cli", stage, str(scene_file),
                                 "--out", str(cli_out)], cwd=root, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
    cli_frames = list(cli_out.rglob("0012.png"))
    assert len(cli_frames) == 1
    ui_pixels, cli_pixels = (np.array(_pixels(bpy, p)) for p in (ui_frame, cli_frames[0]))
    assert ui_pixels.shape == cli_pixels.shape == (48 * 64 * 4,)
    assert np.array_equal(ui_pixels, cli_pixels)
    assert ui_pixels.std() > 0.01  # a real image, not a blank


def _pixels(bpy, path):
    image = bpy.data.images.load(str(path))
    try:
        return list(image.pixels)
    finally:
        bpy.data.images.remove(image)


def test_modal_bake_shows_progress_and_escape_restores_the_scene(addon, bpy_module, tmp_path,
                                                                monkeypatch, tiny_scene):
    """Drives the operators' modal code with timer and Esc events (Blender as a module has no
    event loop, so the events are plain records; the context, scene and bake are real)."""
    bpy = bpy_module
    from types import SimpleNamespace

    from collapse_addon.blender import simulation
    from collapse_addon.ui import jobs
    from collapse_addon.ui.jobs import JobOperator
    from collapse_addon.ui.operators import COLLAPSE_OT_bake, is_baked

    monkeypatch.setattr(jobs, "SLICE_SECONDS", 0.0)  # one step per timer tick

    class DrivenBake(JobOperator):
        make_job = COLLAPSE_OT_bake.make_job
        restore = COLLAPSE_OT_bake.restore

        def __init__(self):
            self.reports = []

        def report(self, kind, message):
            self.reports.append((next(iter(kind)), message))

    scene = addon
    load_tiny(scene, tmp_path, tiny_scene)
    assert bpy.ops.collapse.fracture() == {"FINISHED"}
    objects = simulation.CollapseScene.from_scene(scene).shard_objects()
    scene.frame_set(3)
    before = np.array([ob.matrix_world for ob in objects])
    context = bpy.context
    timer, escape = SimpleNamespace(type="TIMER"), SimpleNamespace(type="ESC")

    op = DrivenBake()
    op._job = op.make_job(context)
    for _ in range(9):  # set-up and frames 1-8: past the trigger at frame 5
        assert op.modal(context, timer) == {"RUNNING_MODAL"}
    assert op._last == "Baking frame 8 (8/14)"
    assert op.modal(context, escape) == {"CANCELLED"}
    assert op.reports[-1][0] == "WARNING" and op._job is None
    assert not is_baked(scene) and scene.frame_current == 3
    assert np.array_equal(np.array([ob.matrix_world for ob in objects]), before)

    op = DrivenBake()
    op._job = op.make_job(context)
    results = [op.modal(context, timer) for _ in range(200)]
    assert results.count({"FINISHED"}) == 1
    assert is_baked(scene) and op.reports[-1][1].startswith("Baked frames 1-14")


def test_selected_meshes_bake_with_the_actor_solver_on_their_own_shards(addon, bpy_module,
                                                                        tmp_path, tiny_scene):
    """The actor solver bakes the shards the artist's objects gave, not the panel's building
    (before, it re-fractured the procedural building and failed keying the wrong shard count)."""
    bpy = bpy_module
    from collapse_addon.core.meshio import box_mesh
    from collapse_addon.ui.operators import collapse_handle

    scene = addon
    load_tiny(scene, tmp_path, tiny_scene)
    settings = scene.collapse_shot
    settings.source = "SELECTED"
    settings.simulation.solver = "actors"
    settings.fracture.cell_count = 10
    tower = _mesh_object(bpy, "tower", *box_mesh((20.0, 5.0, 0.0), (21.0, 6.0, 3.0)))
    tower.select_set(True)
    assert bpy.ops.collapse.fracture() == {"FINISHED"}
    handle = collapse_handle(scene)
    assert bpy.ops.collapse.bake() == {"FINISHED"}
    report = json.loads(scene["collapse_ui_report"])
    assert report["actors"]["roof_drop"]["height_m"] == pytest.approx(3.0)  # the tower's height
    scene.frame_set(scene.frame_start)
    centres = np.array([ob.matrix_world.translation[:] for ob in handle.shard_objects()])
    assert (np.abs(centres[:, :2] - (20.5, 5.5)) <= 0.5 + 1e-9).all()  # where the tower stands


def test_open_in_cli_writes_several_objects_and_the_anchor_and_the_cli_fractures_them_alike(
        addon, bpy_module, tmp_path, tiny_scene):
    bpy = bpy_module
    from collapse_addon import api
    from collapse_addon.core.meshio import box_mesh
    from collapse_addon.core.settings import load_scene
    from collapse_addon.ui.operators import overrides, selected_meshes

    scene = addon
    load_tiny(scene, tmp_path, tiny_scene)
    scene.collapse_shot.source = "SELECTED"
    scene.collapse_shot.fracture.cell_count = 16
    house = _mesh_object(bpy, "house", *box_mesh((20.0, 5.0, 0.0), (23.0, 6.0, 3.0)))
    annex = _mesh_object(bpy, "annex", *box_mesh((23.0, 5.0, 0.0), (24.0, 6.0, 1.0)))
    base = _mesh_object(bpy, "base", *box_mesh((19.0, 4.0, -0.5), (25.0, 7.0, 0.0)))
    base.collapse_override.anchor = True
    for ob in (house, annex, base):
        ob.select_set(True)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "street.blend"))
    scene_file = tmp_path / "street.toml"
    assert bpy.ops.collapse.write_scene(filepath=str(scene_file)) == {"FINISHED"}
    shot = load_scene(scene_file)
    chosen = selected_meshes(bpy.context)  # what the Fracture operator fractures, in its order
    names = [ob.name for ob in chosen]
    assert shot.mesh.object_ids == tuple(names) and shot.mesh.anchor_ids == ("base",)
    _, selected, _ = api.fracture_selected(shot, chosen, overrides(chosen), repair=False)
    building, cli = api.make_shards(shot, None)
    assert np.array_equal(selected.centroid, cli.centroid) and np.array_equal(selected.volume, cli.volume)
    assert [e.kind for e in building.elements] == ["foundation" if n == "base" else "mesh" for n in names]
    assert np.bincount(cli.element)[names.index("base")] == 1
