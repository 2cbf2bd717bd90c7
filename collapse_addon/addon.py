"""Registration of the add-on's classes: every UI module's CLASSES, in order; reverse on removal."""

from __future__ import annotations

import bpy

from . import api
from .ui import operators, panels, properties

CLASSES = [*properties.CLASSES, *operators.CLASSES, *panels.CLASSES]


def register() -> None:
    """Register every class, then attach the settings to Scene and Object."""
    api.check_supported_blender()  # older than 4.2: one clear message, nothing registered
    registered = []
    try:
        for cls in CLASSES:
            bpy.utils.register_class(cls)
            registered.append(cls)
        properties.attach()
    except Exception:
        # Leave Blender as it was: a half-registered add-on cannot be enabled again.
        properties.detach()
        for cls in reversed(registered):
            bpy.utils.unregister_class(cls)
        raise


def unregister() -> None:
    """Undo ``register()``: detach the settings, unregister the classes in reverse order."""
    operators.cancel_running_jobs()
    properties.detach()
    for cls in reversed(CLASSES):
        if cls.is_registered:
            bpy.utils.unregister_class(cls)
