"""Check a shot's frames after a farm job: every frame present and whole."""

from __future__ import annotations

from dataclasses import dataclass, field

from .commands import Shot
from .pngcheck import PngError, check_image


@dataclass
class FrameCheck:
    """Frames of one shot that are missing, or present but not decodable."""

    shot: Shot
    checked: int = 0
    missing: list[int] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.broken


def check_frames(shot: Shot, frames: list[int]) -> FrameCheck:
    """Decode every PNG frame fully (EXR: header, offset table and last chunk); report what is missing or broken."""
    result = FrameCheck(shot)
    for frame in frames:
        path = shot.frame_file(frame)
        result.checked += 1
        if not path.is_file():
            result.missing.append(frame)
            continue
        try:
            check_image(path)
        except PngError as exc:
            result.broken.append(str(exc))
    return result
