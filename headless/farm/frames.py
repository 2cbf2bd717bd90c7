"""Frame lists: write them back compactly and cut them into chunks of a given size.

Pure Python. Specs (``1-48``, ``1,5,9``, ``1-48x2``) are read by the scene settings' own
``parse_frames``, so the farm accepts exactly what ``collapse render --frames`` accepts.
"""

from __future__ import annotations

from collapse_addon.core.errors import SpecError
from collapse_addon.core.settings import parse_frames

__all__ = ["chunk_frames", "format_frames", "parse_frames"]


def format_frames(frames: list[int]) -> str:
    """Write frames back compactly: ``[1, 2, 3, 5]`` -> ``"1-3,5"``."""
    if not frames:
        return ""
    ordered = sorted(set(frames))
    runs: list[str] = []
    start = prev = ordered[0]
    for frame in ordered[1:] + [None]:
        if frame is not None and frame == prev + 1:
            prev = frame
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if frame is not None:
            start = prev = frame
    return ",".join(runs)


def chunk_frames(frames: list[int], chunk_size: int) -> list[list[int]]:
    """Cut frames into consecutive chunks of at most ``chunk_size`` frames, in order."""
    if chunk_size < 1:
        raise SpecError("--chunk-size", f"is {chunk_size}", "give a chunk size of 1 frame or more")
    ordered = sorted(set(frames))
    return [ordered[i:i + chunk_size] for i in range(0, len(ordered), chunk_size)]
