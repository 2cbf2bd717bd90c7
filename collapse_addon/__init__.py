"""Collapse: procedural building collapse for Blender.

The package is both a Blender extension (imported as ``bl_ext.<repo>.collapse``) and a plain Python
package whose ``core`` runs without Blender. So nothing here imports bpy at import time: the UI is
imported inside ``register()``, which only Blender calls.
"""

from __future__ import annotations


def register() -> None:
    """Register the add-on's properties, operators and panels (called by Blender)."""
    from . import addon

    addon.register()


def unregister() -> None:
    """Remove everything ``register()`` added (called by Blender)."""
    from . import addon

    addon.unregister()
