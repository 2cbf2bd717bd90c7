"""Shared test setup.

bpy must find a throwaway extensions folder before it is first imported, so this runs at collection
time. Tests that need Blender take the ``clean_scene`` fixture, which resets to factory settings;
core tests never import bpy (``test_layers.py`` checks that). ``tiny_scene`` writes the one tiny
test shot every end-to-end test starts from.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("BLENDER_USER_EXTENSIONS", tempfile.mkdtemp(prefix="collapse-ext-"))
os.environ.setdefault("BLENDER_USER_SCRIPTS", tempfile.mkdtemp(prefix="collapse-scripts-"))


@pytest.fixture
def bpy_module():
    """Blender as a module, imported lazily so core-only runs never load it."""
    import bpy

    return bpy


@pytest.fixture
def clean_scene(bpy_module):
    """An empty factory scene before and after each bpy test."""
    bpy_module.ops.wm.read_factory_settings(use_empty=True)
    yield bpy_module.context.scene
    bpy_module.ops.wm.read_factory_settings(use_empty=True)


# The tiny shot: one storey, one bay, 40 shards, 12 frames of 64 x 36 Workbench, no Alembic, on
# Blender's glue bake (the CLI, farm, add-on and bench tests pin that route; test_actors.py covers
# the actor solver). A test changes only what it is about (see ``tiny_scene_toml``).
TINY_SCENE = {
    "seed": 2,
    "building": {"storeys": 1, "bays_x": 1, "bays_y": 1},
    "fracture": {"cell_count": 40},
    "simulation": {"frame_end": 12, "solver": "glue"},
    "trigger": {"type": "demolition", "frame": 3},
    "render": {"resolution": [64, 36], "samples": 1},
    "output": {"alembic": False},
}


def tiny_scene_toml(changes: dict | None = None) -> str:
    """The tiny shot as scene-file text, with ``changes`` applied.

    ``changes`` maps ``"seed"`` to a seed, or a section to ``{key: value}``; a value of None
    removes the key (it takes its default).
    """
    scene = copy.deepcopy(TINY_SCENE)
    for section, keys in (changes or {}).items():
        if not isinstance(keys, dict):
            scene[section] = keys
            continue
        table = scene.setdefault(section, {})
        for key, value in keys.items():
            if value is None:
                table.pop(key, None)
            else:
                table[key] = value
    # JSON writes these values (numbers, booleans, strings, lists of them) as TOML does.
    lines = [f"{key} = {json.dumps(value)}" for key, value in scene.items() if not isinstance(value, dict)]
    for section, table in scene.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]", *(f"{k} = {json.dumps(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="session")
def tiny_scene():
    """``tiny_scene(path, changes=None) -> path``: write the tiny shot (with ``changes``) there."""

    def write(path: Path, changes: dict | None = None) -> Path:
        path.write_text(tiny_scene_toml(changes))
        return path

    return write
