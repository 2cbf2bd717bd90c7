""".blend files of a shot: open, save atomically, start empty, read one object's mesh from a file.

The API's file-level stages (``api.build_stage`` ... ``api.finalize_stage``) call these; nothing
here knows about the shot's settings.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import bpy

from ..core.errors import BrokenFileError, CollapseError, DiskFullError, MissingInputError
from ..core.outputs import disk_full_here
from .scene import world_polygons


def current_scene():
    """The context's scene (the add-on's current scene, or the CLI's open file)."""
    return bpy.context.scene


def empty_scene():
    """Start from an empty factory scene (no cube, camera or light); returns it."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    return bpy.context.scene


def open_blend(path: Path):
    """Open ``path`` and return its scene; MissingInputError when it does not exist."""
    if not path.exists():
        raise MissingInputError(f"{path} does not exist (run `collapse build` first)")
    bpy.ops.wm.open_mainfile(filepath=str(path), load_ui=False)
    return bpy.context.scene


def save_blend(path: Path) -> None:
    """Save the open file atomically (a killed save never leaves a broken scene.blend)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.blend")
    try:
        try:
            bpy.ops.wm.save_as_mainfile(filepath=str(tmp), copy=True, compress=False)
            ok = tmp.is_file() and blend_is_whole(tmp)
        except RuntimeError:
            ok = False
        if not ok:  # Blender reports a full disk as "No such file or directory", or not at all
            if disk_full_here(path.parent, 16 << 20):
                raise DiskFullError(f"disk full saving {path} (free space and run the same "
                                    "command again)")
            raise BrokenFileError(f"{path}: Blender could not save the scene (see the log)")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def blend_is_whole(path: Path) -> bool:
    """An uncompressed .blend starts with BLENDER and ends with its ENDB block."""
    with open(path, "rb") as fh:
        head = fh.read(7)
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 64))
        tail = fh.read()
    return head == b"BLENDER" and b"ENDB" in tail


def mesh_from_blend(path: Path, object_name: str):
    """World-space vertices and polygon loops of ``object_name`` in the .blend file ``path``."""
    current = bpy.data.filepath and Path(bpy.data.filepath).resolve() == path.resolve()
    if current:  # Blender cannot load from the open file: read the object in place, untouched
        if object_name not in bpy.data.objects:
            raise CollapseError(f"mesh.object: no object {object_name!r} in {path} "
                                f"(objects: {', '.join(bpy.data.objects.keys()[:20])})")
        ob = bpy.data.objects[object_name]
        return world_polygons(ob.data, ob.matrix_world)
    with bpy.data.libraries.load(str(path), link=False) as (src, dst):
        if object_name not in src.objects:
            raise CollapseError(f"mesh.object: no object {object_name!r} in {path} "
                                f"(objects: {', '.join(src.objects[:20])})")
        dst.objects = [object_name]
    ob = dst.objects[0]
    # An appended object's world matrix is only evaluated once it is in a view layer.
    scene = bpy.context.scene
    scene.collection.objects.link(ob)
    bpy.context.view_layer.update()
    co, faces = world_polygons(ob.data, ob.matrix_world)
    bpy.data.objects.remove(ob)
    return co, faces


def blender_info() -> dict:
    """Blender's version and build hash (the manifest's ``blender``)."""
    return {"version": bpy.app.version_string,
            "build_hash": bpy.app.build_hash.decode(errors="replace")}


def default_scene():
    """Start from Blender's default factory scene (the cube, camera and light); returns it."""
    bpy.ops.wm.read_factory_settings(use_empty=False)
    return bpy.context.scene


def render_still(scene, path: Path) -> float:
    """Render the scene's current frame to ``path``; returns the seconds it took."""
    scene.render.filepath = str(path)
    start = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    return time.perf_counter() - start
