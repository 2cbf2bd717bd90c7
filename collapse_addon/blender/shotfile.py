""".blend files of a shot: open, save atomically, start empty, read objects' meshes from a file.

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
from .scene import read_object_meshes

_GEOMETRY = ("MESH", "CURVE", "SURFACE", "META", "FONT")  # what evaluates to a mesh


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


def meshes_from_blend(path: Path, names) -> list[tuple[str, object, list]]:
    """(name, world-space vertices, polygon loops) of the objects ``names`` in the .blend file
    ``path``, with their modifiers applied: ``scene.read_object_meshes``, the panel's reader."""
    names = list(names)
    field = "mesh.object" if len(names) == 1 else "mesh.objects"
    if "*" in names:
        raise CollapseError("mesh.objects: '*' (every object) is for CityJSON and OBJ tiles; name "
                            "the .blend objects, comma-separated")
    current = bpy.data.filepath and Path(bpy.data.filepath).resolve() == path.resolve()
    if current:  # Blender cannot load from the open file: read the objects in place, untouched
        known = bpy.data.objects.keys()
    else:
        with bpy.data.libraries.load(str(path), link=False) as (src, _):
            known = list(src.objects)
    missing = [n for n in names if n not in known]
    if missing:
        raise CollapseError(f"{field}: no object {missing[0]!r} in {path} (objects: "
                            f"{', '.join(known[:20])})")
    if current:
        objects = [bpy.data.objects[n] for n in names]
    else:
        with bpy.data.libraries.load(str(path), link=False) as (_, dst):
            dst.objects = list(names)  # Blender fills this list with the objects
        objects = list(dst.objects)
    wrong = [ob for ob in objects if ob.type not in _GEOMETRY]
    if wrong:
        raise CollapseError(f"{field}: {names[objects.index(wrong[0])]!r} in {path} is a "
                            f"{wrong[0].type} object, not a mesh (name a mesh object)")
    # An object is only evaluated (modifiers, world matrix) once it is in the view layer.
    scene = bpy.context.scene
    linked = [ob for ob in objects if scene.objects.get(ob.name) is not ob]
    for ob in linked:
        scene.collection.objects.link(ob)
    try:
        return [(n, *mesh) for n, mesh in zip(names, read_object_meshes(objects), strict=True)]
    finally:
        for ob in linked:
            if current:
                scene.collection.objects.unlink(ob)
            else:
                bpy.data.objects.remove(ob)


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
