"""Baked motion -> native, scrubbable keyframes, written in bulk (``keyframe_points.add`` + ``foreach_set``).

Blender 4.2-4.3 keep an action's F-curves in ``action.fcurves``; 4.4+ use layered actions (layers,
strips, channelbags per slot) and 5.0 removed ``action.fcurves``. ``ensure_fcurve`` is the one
place that difference lives.
"""

from __future__ import annotations

import bpy
import numpy as np

# Keyframe interpolation enum values as ``foreach_set`` takes them (CONSTANT 0, LINEAR 1, BEZIER 2).
LINEAR = 1


def ensure_fcurve(action, obj, data_path: str, index: int):
    """The F-curve of ``obj``'s ``data_path[index]`` in ``action`` (made if missing)."""
    if hasattr(action, "fcurve_ensure_for_datablock"):  # 4.4+: layered action, the object's slot
        return action.fcurve_ensure_for_datablock(obj, data_path, index=index)
    curve = action.fcurves.find(data_path, index=index)  # 4.2-4.3: legacy action
    return curve if curve is not None else action.fcurves.new(data_path, index=index)


def write_curve(curve, frames: np.ndarray, values: np.ndarray, *, _co=None, _linear=None) -> None:
    """All keys of one F-curve at once, LINEAR (``_co``/``_linear``: the arrays it sets, made by
    the caller for many curves at once)."""
    points = curve.keyframe_points
    points.add(len(frames))
    if _co is None:
        _co = np.column_stack([frames, values]).astype(np.float32).ravel()
    points.foreach_set("co", _co)
    points.foreach_set("interpolation", np.full(len(frames), LINEAR, np.int32) if _linear is None
                       else _linear)
    curve.update()


def key_transforms(obj, frames: np.ndarray, location: np.ndarray, quaternion: np.ndarray,
                   name: str | None = None) -> None:
    """Key ``obj``'s location (F, 3) and rotation quaternion (F, 4, w first) at ``frames``."""
    obj.rotation_mode = "QUATERNION"
    action = bpy.data.actions.new(name or f"{obj.name} motion")
    obj.animation_data_create().action = action
    frames = np.asarray(frames, float)
    co = np.empty((7, len(frames), 2), np.float32)  # (frame, value) pairs of the 7 curves
    co[:, :, 0] = frames
    co[:3, :, 1] = np.asarray(location).T
    co[3:, :, 1] = np.asarray(quaternion).T
    linear = np.full(len(frames), LINEAR, np.int32)
    for k in range(7):
        path, index = ("location", k) if k < 3 else ("rotation_quaternion", k - 3)
        write_curve(ensure_fcurve(action, obj, path, index), frames, None, _co=co[k].ravel(),
                    _linear=linear)


def clear_motion(objects) -> None:
    """Drop the motion actions of ``objects`` (a re-bake starts from the rest pose)."""
    for obj in objects:
        data = obj.animation_data
        if data is not None and data.action is not None:
            action = data.action
            data.action = None
            if action.users == 0:
                bpy.data.actions.remove(action)
