"""Every difference between the Blender versions Collapse supports (4.2 LTS to 5.3), in one place.

The rest of the add-on calls these functions instead of testing versions or attributes itself.
Differences handled here:

- ``ImageFormatSettings.media_type`` (5.0+): before 5.0 the file format alone chooses image,
  multilayer image or video.
- The EEVEE engine id: ``BLENDER_EEVEE_NEXT`` in 4.2 to 4.5, ``BLENDER_EEVEE`` before and after.
- The sequencer's strip collection: ``SequenceEditor.strips`` (4.4+) replaces ``sequences``
  (removed in 5.0).
- Actions: slotted actions (4.4+; the legacy ``Action.fcurves`` API is gone in 5.0) against
  ``Action.fcurves`` (4.2, 4.3).
- ``bpy.data.is_dirty`` after a save in a background session: cleared from 5.1 on, left set
  before (4.5.x and 5.0.1 checked).
"""

from __future__ import annotations

import bpy

from ..core.errors import CollapseError

#: The oldest Blender Collapse runs on (the extension manifest's ``blender_version_min``).
MINIMUM = (4, 2, 0)
#: The newest Blender line Collapse was tested on; newer ones are tried, not refused.
TESTED_UP_TO = (5, 3)

VERSION: tuple[int, int, int] = tuple(bpy.app.version)


class UnsupportedBlenderError(CollapseError, RuntimeError):
    """This Blender lacks something a Collapse feature needs; the message names both."""


def version_text(version: tuple = VERSION) -> str:
    return ".".join(str(v) for v in version)


def check_supported(version: tuple = VERSION) -> None:
    """Refuse a Blender older than ``MINIMUM`` with a message saying which one to use."""
    if tuple(version) < MINIMUM:
        raise UnsupportedBlenderError(
            f"Collapse needs Blender {version_text(MINIMUM)} or newer; this is Blender "
            f"{version_text(version)}: install Blender 4.2 LTS or newer (or bpy>=4.2 from PyPI)")


def require(feature: str, minimum: tuple, version: tuple = VERSION) -> None:
    """Refuse ``feature`` on a Blender older than ``minimum`` (a clear error, not a traceback)."""
    if tuple(version) < tuple(minimum):
        raise UnsupportedBlenderError(
            f"{feature} needs Blender {version_text(minimum)} or newer; this is Blender "
            f"{version_text(version)}: use a newer Blender or turn {feature} off")


# ------------------------------------------------------------------------------------ rendering


def engine_id(engine: str, version: tuple = VERSION) -> str:
    """Blender's ``RenderSettings.engine`` value for a scene file's engine name."""
    if engine == "EEVEE":
        return "BLENDER_EEVEE_NEXT" if (4, 2) <= tuple(version)[:2] < (5, 0) else "BLENDER_EEVEE"
    return {"WORKBENCH": "BLENDER_WORKBENCH", "CYCLES": "CYCLES"}[engine]


def set_media_type(image_settings, media_type: str, version: tuple = VERSION) -> None:
    """Choose image, multilayer image or video output (5.0+); earlier the file format decides.

    Call it before setting ``file_format``: in 5.0+ the media type limits the formats allowed.
    """
    if tuple(version) >= (5, 0, 0):
        image_settings.media_type = media_type


def sequencer_strips(editor, version: tuple = VERSION):
    """The top-level strip collection of a ``SequenceEditor`` (``new_image`` etc.)."""
    return editor.strips if tuple(version) >= (4, 4, 0) else editor.sequences


# -------------------------------------------------------------------------------------- actions


def fcurve_for(action, obj, data_path: str, index: int, version: tuple = VERSION):
    """The F-curve of ``obj.data_path[index]`` in ``action`` (created if missing)."""
    if tuple(version) >= (4, 4, 0):
        return action.fcurve_ensure_for_datablock(obj, data_path, index=index)
    curve = action.fcurves.find(data_path, index=index)
    return curve if curve is not None else action.fcurves.new(data_path, index=index)


def action_slot(obj, version: tuple = VERSION):
    """The action slot ``obj`` is animated by (None before slotted actions, 4.4)."""
    if tuple(version) >= (4, 4, 0):
        return obj.animation_data.action_slot
    return None


def assign_action(obj, action, slot=None, version: tuple = VERSION) -> None:
    """Animate ``obj`` by ``action`` (and ``slot`` where Blender has slots)."""
    data = obj.animation_data_create()
    data.action = action
    if slot is not None and tuple(version) >= (4, 4, 0):
        data.action_slot = slot


def blend_file_saved(version: tuple = VERSION) -> bool:
    """True when the open .blend is on disk with no changes since it was saved.

    Before 5.1 a background session's save leaves ``is_dirty`` set (a script that saved, then
    wrote a scene file, was refused): there a file with a path counts as saved.
    """
    if not bpy.data.filepath:
        return False
    if bpy.app.background and version < (5, 1, 0):
        return True
    return not bpy.data.is_dirty
