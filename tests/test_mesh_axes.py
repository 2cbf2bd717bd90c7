"""Axes and placement of mesh sources, with real bpy: an OBJ written by Blender's own exporter
(Y up) stands upright through the CLI route and the add-on's Mesh File source, and a cube away
from the origin gives the same shards in the same place through the Selected route and the CLI.
"""

from __future__ import annotations

import re

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


def _shard_hashes(shards) -> list[str]:
    """One SHA-256 per shard of its world-space vertices and polygon loops, exactly as built."""
    import hashlib

    out = []
    for i in range(shards.count):
        vertices, sizes, loops, _ = shards.shard_mesh(i)
        out.append(hashlib.sha256(b"".join(np.ascontiguousarray(a, dtype).tobytes() for a, dtype in
                                           ((vertices, np.float64), (sizes, np.int64),
                                            (loops, np.int64)))).hexdigest())
    return out


def _both_routes(bpy, tmp_path, objects, overrides, scene_keys, cells=30):
    """(building, shards) of the panel's Selected route and of the CLI's [mesh] route from the
    .blend file holding ``objects``."""
    blend = tmp_path / "objects.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    settings = load_scene(f'seed = 4\n[mesh]\npath = "{blend}"\n{scene_keys}\n'
                          f'[fracture]\ncell_count = {cells}\n')
    building, shards, _ = api.fracture_selected(settings, objects, overrides, repair=False)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return (building, shards), api.make_shards(settings, None)


def test_two_objects_and_an_anchor_give_the_same_shards_selected_and_through_the_cli(
        clean_scene, bpy_module, tmp_path):
    bpy = bpy_module
    objects = [_object(bpy, "Small", (-1, -1, 0), (1, 1, 2), location=(20.0, 5.0, 0.5)),
               _object(bpy, "Big", (-2, -1, 0), (2, 1, 3), location=(24.0, 5.0, 0.5)),
               _object(bpy, "Plinth", (-4, -2, -0.5), (4, 2, 0), location=(22.0, 5.0, 0.5))]
    (sel_building, selected), (cli_building, cli) = _both_routes(
        bpy, tmp_path, objects, [("AUTO", False), ("AUTO", False), ("AUTO", True)],
        'objects = "Small, Big, Plinth"\nanchors = "Plinth"', cells=30)
    assert _shard_hashes(selected) == _shard_hashes(cli)
    assert np.array_equal(selected.element, cli.element)
    per_object = np.bincount(cli.element, minlength=3)
    assert per_object[2] == 1 and per_object[1] > 2 * per_object[0]  # 24 m^3 against 8 m^3
    for building in (sel_building, cli_building):
        assert [(e.part, e.kind) for e in building.elements] == [
            ("Small", "mesh"), ("Big", "mesh"), ("Plinth", "foundation")]
    plinth = cli_building.elements[2]
    assert np.allclose(plinth.lo, (18, 3, 0)) and np.allclose(plinth.hi, (26, 7, 0.5))  # in place
    for a, b in zip(sel_building.elements, cli_building.elements, strict=True):
        assert np.array_equal(a.lo, b.lo) and np.array_equal(a.hi, b.hi)


def test_a_modifier_reads_the_same_through_the_panel_and_the_cli(clean_scene, bpy_module, tmp_path):
    bpy = bpy_module
    ob = _object(bpy, "Beveled", (-1, -1, -1), (1, 1, 1), location=(3.0, 0.0, 1.0))
    bevel = ob.modifiers.new("Bevel", "BEVEL")
    bevel.width = 0.2
    (_, selected), (_, cli) = _both_routes(bpy, tmp_path, [ob], [("AUTO", False)],
                                           'object = "Beveled"', cells=12)
    assert _shard_hashes(selected) == _shard_hashes(cli)
    assert cli.volume.sum() < 8.0 - 0.05  # the bevel cut the corners: the modifier was applied
    assert cli.vertices[:, 0].min() >= 2.0 - 1e-9


def test_unknown_blend_objects_and_anchors_are_refused_naming_the_key(clean_scene, bpy_module,
                                                                     tmp_path):
    from collapse_addon.core.errors import CollapseError

    bpy = bpy_module
    _object(bpy, "Cube", (-1, -1, -1), (1, 1, 1))
    blend = tmp_path / "cube.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    for keys, key in (('objects = "Cube, Nope"', "mesh.objects: no object 'Nope'"),
                      ('object = "Cube"\nanchors = "Plinth"', "mesh.anchors: ['Plinth']"),
                      ('objects = "*"', "mesh.objects: '*' (every object) is for CityJSON")):
        with pytest.raises(CollapseError, match=re.escape(key)):
            api.make_shards(load_scene(f'[mesh]\npath = "{blend}"\n{keys}\n'), None)
