"""No NumPy scalar's repr in a written file: NumPy 2 writes ``np.float64(0.5)`` where NumPy 1 wrote
``0.5``. Scene files and OBJ files are written from NumPy values (scalars of every width, arrays)
and read back to the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from collapse_addon.core.meshio import box_mesh, load_obj, write_obj
from collapse_addon.core.settings import dump_scene, load_scene

NUMPY_REPR = re.compile(r"np\.|float64|float32|int64|bool_|array\(")


def test_scene_file_written_from_numpy_values_reads_back_the_same():
    settings = load_scene("seed = 3\n[building]\nstoreys = 2\n")
    settings = replace(
        settings, seed=7,
        camera=replace(settings.camera, azimuth=np.float64(35.125), lens=np.float64(50.5),
                       location=tuple(np.array([10.5, -3.25, 4.0]))),
        lights=replace(settings.lights, shadows=True,
                       sky_color=tuple(np.array([0.5, 0.625, 0.75]))),
        render=replace(settings.render, samples=8,
                       resolution=(64, 48)),
        materials={"concrete": {"density": np.float64(2300.5)}})
    text = dump_scene(settings, full=True)
    assert not NUMPY_REPR.search(text), NUMPY_REPR.search(text)
    back = load_scene(text)
    assert back.seed == 7
    assert back.camera.azimuth == 35.125 and back.camera.lens == 50.5
    assert tuple(back.camera.location) == (10.5, -3.25, 4.0)
    assert back.lights.shadows is True
    assert tuple(back.lights.sky_color) == (0.5, 0.625, 0.75)
    assert back.render.samples == 8 and tuple(back.render.resolution) == (64, 48)
    assert back.materials["concrete"]["density"] == 2300.5


def test_obj_written_from_numpy_values_reads_back_the_same(tmp_path):
    vertices, faces = box_mesh(np.float64(0.1) * np.arange(3), np.array([1.0, 2.0, 3.0], np.float32))
    faces = [np.asarray(f, np.int64) for f in faces]
    path = write_obj(tmp_path / "box.obj", vertices.astype(np.float64), faces, name="box")
    text = path.read_text()
    assert not NUMPY_REPR.search(text), NUMPY_REPR.search(text)
    assert not list(tmp_path.glob(".*.tmp"))
    v, f = load_obj(path)
    assert np.array_equal(v, vertices) and len(f) == len(faces)
    assert all(np.array_equal(a, b) for a, b in zip(f, faces, strict=True))


def test_toml_values_of_every_numpy_kind_are_plain_toml():
    from collapse_addon.core.settings import _toml_value

    assert _toml_value(np.int64(3)) == "3" and _toml_value(np.uint8(200)) == "200"
    assert _toml_value(np.bool_(True)) == "true" and _toml_value(np.bool_(False)) == "false"
    assert _toml_value(np.float64(0.1)) == "0.1" and _toml_value(np.float32(0.5)) == "0.5"
    assert _toml_value(np.float64("nan")) == "nan" and _toml_value(np.float64("-inf")) == "-inf"
    assert _toml_value(np.array([1, 2], np.int32)) == "[1, 2]"
    assert _toml_value((np.float64(1.5), np.float64(2.0))) == "[1.5, 2.0]"
