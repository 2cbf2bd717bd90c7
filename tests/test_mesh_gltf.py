"""glTF 2.0 in (core/gltf.py): a .gltf with an embedded buffer and node transforms reads in the
file's coordinates, a Y-up .glb stands upright through the ``[mesh]`` route, bad files get a clear
error. Pure (no bpy)."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from collapse_addon.core.errors import SpecError
from collapse_addon.core.gltf import load_gltf
from collapse_addon.core.mesh_prepare import detect_up_axis
from collapse_addon.core.mesh_route import fracture_mesh_file
from collapse_addon.core.seeds import FractureSpec
from collapse_addon.core.settings import MeshSource

KENNEY = Path(__file__).parent / "data" / "kenney_building-small-c.glb"

CUBE_V = np.array([[x, y, z] for z in (0, 1) for y in (0, 1) for x in (0, 1)], np.float32)
CUBE_T = np.array([[0, 2, 3], [0, 3, 1], [4, 5, 7], [4, 7, 6], [0, 1, 5], [0, 5, 4],
                   [2, 6, 7], [2, 7, 3], [0, 4, 6], [0, 6, 2], [1, 3, 7], [1, 7, 5]], np.uint16)


def _cube_gltf(tmp_path, node) -> Path:
    blob = CUBE_V.tobytes() + CUBE_T.tobytes()
    doc = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"children": [1], "translation": [10.0, 0.0, 0.0]}, {"mesh": 0, **node}],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0}, "indices": 1}]}],
        "buffers": [{"byteLength": len(blob),
                     "uri": "data:application/octet-stream;base64," + base64.b64encode(blob).decode()}],
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": CUBE_V.nbytes},
                        {"buffer": 0, "byteOffset": CUBE_V.nbytes, "byteLength": CUBE_T.nbytes}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 8, "type": "VEC3"},
                      {"bufferView": 1, "componentType": 5123, "count": 36, "type": "SCALAR"}],
    }
    path = tmp_path / "cube.gltf"
    path.write_text(json.dumps(doc))
    return path


def test_gltf_nodes_place_the_mesh_in_file_coordinates(tmp_path):
    # child: a quarter turn about y (quaternion x, y, z, w), scaled 2, under a parent moved +10 x
    s = np.sqrt(0.5)
    path = _cube_gltf(tmp_path, {"rotation": [0.0, s, 0.0, s], "scale": [2.0, 2.0, 2.0]})
    v, t = load_gltf(path)
    assert t.shape == (12, 3)
    # (x, y, z) -> rotated about y by 90 degrees: (z, y, -x), then x2, then +10 in x
    expected = np.column_stack([CUBE_V[:, 2], CUBE_V[:, 1], -CUBE_V[:, 0]]) * 2 + [10.0, 0.0, 0.0]
    assert np.allclose(v, expected, atol=1e-6)
    assert detect_up_axis(path) == "Y"


def test_gltf_that_is_not_readable_names_the_file(tmp_path):
    bad = tmp_path / "bad.glb"
    bad.write_bytes(b"glTF" + struct.pack("<II", 2, 12))
    with pytest.raises(SpecError, match="bad.glb"):
        load_gltf(bad)
    draco = _cube_gltf(tmp_path, {})
    doc = json.loads(draco.read_text())
    doc["extensionsRequired"] = ["KHR_draco_mesh_compression"]
    draco.write_text(json.dumps(doc))
    with pytest.raises(SpecError, match="KHR_draco_mesh_compression"):
        load_gltf(draco)


@pytest.mark.slow  # the asset is 9 open parts: repaired, united, two parts solidified (~10 s CPU)
def test_y_up_glb_game_building_stands_upright_and_fractures():
    v, t = load_gltf(KENNEY)
    assert len(t) == 834 and np.ptp(v[:, 1]) > 1.7  # Y up in the file
    lines: list[str] = []
    building, shards = fracture_mesh_file(MeshSource(path=str(KENNEY)), FractureSpec(cell_count=40, seed=1),
                                          KENNEY, log=lines.append)
    assert building.hi[2] - building.lo[2] == pytest.approx(1.75, abs=1e-3)  # upright: z up
    assert building.hi[0] - building.lo[0] == pytest.approx(1.0, abs=1e-3)
    assert shards.count >= 36
    united = next(line for line in lines if "united its" in line)
    solid_volume = float(united.rsplit(": ", 1)[1].split()[0])  # "...: 1.149 m3"
    assert shards.volume.sum() == pytest.approx(solid_volume, rel=1e-3)  # the shards fill the solid
