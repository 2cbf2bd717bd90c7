"""Export the baked collapse to Alembic and USD (static meshes once, transforms per frame)."""

from __future__ import annotations

import os
from pathlib import Path

import bpy


def _select_only(view_layer, objects) -> None:
    for obj in view_layer.objects:
        if obj.select_get(view_layer=view_layer):
            obj.select_set(False, view_layer=view_layer)
    for obj in objects:
        obj.select_set(True, view_layer=view_layer)


def _atomic(path, suffix: str, write) -> Path:
    """Write through a temporary name next to ``path`` (same extension, with the process id, so
    that the CLI's clean-up of a killed task's temporaries knows it), then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}{suffix}")
    try:
        write(str(tmp))
        if not tmp.exists():
            raise RuntimeError(f"the exporter wrote nothing to {tmp}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def export_alembic(path, scene, objects, frame_start: int, frame_end: int) -> Path:
    """Alembic archive of ``objects`` over the frame range (meshes once, transforms per frame)."""
    view_layer = scene.view_layers[0]
    _select_only(view_layer, objects)

    def write(tmp):
        with bpy.context.temp_override(scene=scene, view_layer=view_layer):
            bpy.ops.wm.alembic_export(filepath=tmp, start=frame_start, end=frame_end, selected=True,
                                      flatten=True, uvs=False, face_sets=True,
                                      export_hair=False, export_particles=False,
                                      export_custom_properties=False, as_background_job=False,
                                      evaluation_mode="RENDER")

    return _atomic(path, ".abc", write)


def export_usd(path, scene, objects, frame_start: int, frame_end: int) -> Path:
    """USD stage of ``objects`` with their animation over the frame range (.usd/.usda/.usdc)."""
    view_layer = scene.view_layers[0]
    _select_only(view_layer, objects)
    suffix = Path(path).suffix or ".usdc"
    saved = scene.frame_start, scene.frame_end
    scene.frame_start, scene.frame_end = frame_start, frame_end

    def write(tmp):
        with bpy.context.temp_override(scene=scene, view_layer=view_layer):
            bpy.ops.wm.usd_export(filepath=tmp, selected_objects_only=True, export_animation=True,
                                  export_materials=True, export_custom_properties=False,
                                  evaluation_mode="RENDER")

    try:
        return _atomic(path, suffix, write)
    finally:
        scene.frame_start, scene.frame_end = saved


def export_shot(scene, export_dir: Path, *, alembic: bool, usd: bool, frame_start: int,
                frame_end: int) -> list[Path]:
    """The shot's exports: ``collapse.abc`` and/or ``collapse.usdc`` in ``export_dir`` with the
    baked shards (their rough twins where those render), the ball and the break-event points."""
    from . import rough, simulation  # simulation imports this module

    handle = simulation.CollapseScene.from_scene(scene)
    objects = handle.shard_objects()
    swapped = rough.swap_in(objects)  # shards with a render twin export its rough mesh
    objects += [bpy.data.objects[handle.ball]] if handle.ball else []
    objects += [ob for ob in scene.objects if ob.get("collapse_role") == "break_events"]
    written = []
    try:
        if alembic:
            written.append(export_alembic(Path(export_dir) / "collapse.abc", scene, objects,
                                          frame_start, frame_end))
        if usd:
            written.append(export_usd(Path(export_dir) / "collapse.usdc", scene, objects,
                                      frame_start, frame_end))
    finally:
        for ob in objects:
            ob.select_set(False)
        rough.swap_out(swapped)
    return written
