"""Mesh sources read from Blender: a .blend object (scene files) keeps its volume, mirrored or not."""

from __future__ import annotations

import numpy as np
import pytest

from collapse_addon import api
from collapse_addon.core.meshio import l_block_mesh
from collapse_addon.core.settings import load_scene


def _mesh_volume(vertices, faces) -> float:
    total = 0.0
    for loop in faces:
        p = np.asarray(vertices)[loop]
        for k in range(1, len(p) - 1):
            total += np.dot(p[0], np.cross(p[k], p[k + 1])) / 6
    return total


@pytest.mark.parametrize("mirror", [False, True])
def test_blend_object_source_fractures_to_its_volume(clean_scene, bpy_module, tmp_path, mirror):
    bpy = bpy_module
    vertices, faces = l_block_mesh()
    mesh = bpy.data.meshes.new("block")
    mesh.from_pydata([tuple(v) for v in np.asarray(vertices, float)], [],
                     [[int(i) for i in f] for f in faces])
    ob = bpy.data.objects.new("Block", mesh)
    clean_scene.collection.objects.link(ob)
    ob.scale = (-1.0 if mirror else 1.0, 2.0, 1.0)  # a mirror turns the faces inside out
    bpy.context.view_layer.update()
    blend = tmp_path / "source.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    expected = 2.0 * abs(_mesh_volume(vertices, faces))

    settings = load_scene(f'seed = 1\n[mesh]\npath = "{blend}"\nobject = "Block"\n'
                          '[fracture]\ncell_count = 30\n')
    # from the open file (the add-on's case), then from another file (the CLI's case)
    for case in ("open", "other"):
        building, shards = api.make_shards(settings, api.make_building(settings))
        assert building.elements[0].kind == "mesh"
        assert shards.volume.sum() == pytest.approx(expected, rel=1e-6)
        assert (shards.volume > 0).all()
        if case == "open":
            assert "Block" in bpy.data.objects  # the user's object is read, never removed
            bpy.ops.wm.read_factory_settings(use_empty=True)
        else:
            assert "Block" not in bpy.data.objects  # the appended copy is cleaned up
