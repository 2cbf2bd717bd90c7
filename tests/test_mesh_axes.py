"""Axes and placement of mesh sources, with real bpy: an OBJ written by Blender's own exporter
(Y up) stands upright through the CLI route and the add-on's Mesh File source, and a cube away
from the origin gives the same shards in the same place through the Selected route and the CLI.
"""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon import api
from collapse_addon.core.meshio import box_mesh
from collapse_addon.core.settings import load_scene


def _object(bpy, name, lo, hi, location=(0.0, 0.0, 0.0)):
    vertices, faces = box_mesh(lo, hi)
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([tuple(v) for v in vertices], [], [[int(i) for i in f] for f in faces])
    ob = bpy.data.objects.new(name, mesh)
    ob.location = location
    bpy.context.scene.collection.objects.link(ob)
    bpy.context.view_layer.update()
    return ob


def _export_tower(bpy, path):
    _object(bpy, "Tower", (0, 0, 0), (2, 2, 10))
    bpy.ops.wm.obj_export(filepath=str(path))  # the exporter's defaults: forward -Z, up Y
    assert path.read_text().startswith("# Blender")


def test_blender_y_up_obj_stands_upright_through_the_cli(clean_scene, bpy_module, tmp_path):
    path = tmp_path / "tower.obj"
    _export_tower(bpy_module, path)
    text = f'seed = 1\n[mesh]\npath = "{path}"\n[fracture]\ncell_count = 12\n'
    building, shards = api.make_shards(load_scene(text), None)
    assert np.allclose(building.lo, (0, 0, 0), atol=1e-6) and np.allclose(building.hi, (2, 2, 10), atol=1e-6)
    assert shards.volume.sum() == pytest.approx(40.0, rel=1e-9)
    # Read as Z up, the same file lies on its side: the key is what stands it up.
    lying, _ = api.make_shards(load_scene(text.replace("[mesh]\n", '[mesh]\nup_axis = "Z"\n')), None)
    assert np.allclose(lying.hi - lying.lo, (2, 10, 2), atol=1e-6)


def test_blender_y_up_obj_stands_upright_through_the_addon_file_source(clean_scene, bpy_module,
                                                                       tmp_path):
    import collapse_addon
    from collapse_addon.ui.properties import load_shot_into_scene

    bpy = bpy_module
    path = tmp_path / "tower.obj"
    _export_tower(bpy, path)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    collapse_addon.register()
    try:
        scene = bpy.context.scene
        shot = load_scene(f'seed = 1\n[mesh]\npath = "{path}"\n[fracture]\ncell_count = 12\n'
                          '[simulation]\nframe_end = 30\n')
        load_shot_into_scene(scene, shot)
        scene.collapse_shot.output.directory = str(tmp_path / "out")
        assert scene.collapse_shot.source == "FILE"
        assert bpy.ops.collapse.fracture() == {"FINISHED"}
        bounds = np.array(scene["collapse_bounds"])
        assert np.allclose(bounds[3:] - bounds[:3], (2, 2, 10), atol=1e-5)
    finally:
        collapse_addon.unregister()


def test_cube_off_the_origin_gives_the_same_shards_selected_and_through_the_cli(
        clean_scene, bpy_module, tmp_path):
    bpy = bpy_module
    ob = _object(bpy, "Cube", (-1, -1, -1), (1, 1, 1), location=(20.0, 5.0, 1.0))
    blend = tmp_path / "cube.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    settings = load_scene(f'seed = 4\n[mesh]\npath = "{blend}"\nobject = "Cube"\n'
                          '[fracture]\ncell_count = 25\n')
    # The panel's Selected route (what the Fracture operator calls: api.build_selected) ...
    _, selected, _ = api.fracture_selected(settings, [ob], [("AUTO", False)], repair=False)
    # ... and the CLI's [mesh] route, from the saved file.
    bpy.ops.wm.read_factory_settings(use_empty=True)
    cli_building, cli = api.make_shards(settings, None)
    assert selected.count == cli.count >= 25
    assert np.allclose(selected.centroid, cli.centroid, atol=1e-9)
    assert np.allclose(selected.volume, cli.volume, rtol=1e-12)
    assert np.allclose(cli_building.lo, (19, 4, 0)) and np.allclose(cli_building.hi, (21, 6, 2))
    centre = (cli.centroid * cli.volume[:, None]).sum(0) / cli.volume.sum()
    assert np.allclose(centre, (20, 5, 1), atol=1e-9)
