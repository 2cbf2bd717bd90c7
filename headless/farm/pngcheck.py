"""Frame decoding for the farm: the checks live in ``collapse_addon.core.imagecheck`` (the renderer
uses them too)."""

from collapse_addon.core.imagecheck import PngError, check_image, decode_png

__all__ = ["PngError", "check_image", "decode_png"]
