"""Shared test setup.

bpy must find a throwaway extensions folder before it is first imported, so this runs at collection
time. Tests that need Blender take the ``clean_scene`` fixture, which resets to factory settings;
core tests never import bpy (``test_core_imports_without_bpy`` checks that).
"""

from __future__ import annotations

import os
import tempfile

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
