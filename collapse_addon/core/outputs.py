"""Outputs that count only once they are whole: atomic JSON, image checks, a full disk named.

Pure (no bpy): the renderer, finalize and the CLI use these on every file they present as done.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path

from .errors import BrokenFileError, DiskFullError
from .imagecheck import PngError, check_image
from .shotfolder import write_text_atomic

__all__ = ["disk_full_here", "set_aside_broken", "verify_output", "write_json_atomic"]


#: Prefix of every temporary file or folder a stage writes beside its outputs (removed on rerun).
TMP_PREFIX = ".tmp-"


def temp_dir_for(frames_dir: Path) -> Path:
    """This process's private temporary folder under ``frames_dir``."""
    return Path(frames_dir) / f"{TMP_PREFIX}{socket.gethostname().replace('-', '_')}-{os.getpid()}"


def write_json_atomic(path: Path, data) -> None:
    """Write JSON to a temporary name, flushed to disk and read back, then rename it into place
    (a full disk leaves the old file, never a truncated one)."""
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    write_text_atomic(Path(path), text)
    if Path(path).read_text(encoding="utf-8") != text:
        raise BrokenFileError(f"{path}: read back different from what was written")


def disk_full_here(path: Path, need: int = 1 << 20) -> bool:
    """True when the file system holding ``path`` has less than ``need`` bytes free."""
    path = Path(path)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free < need
    except OSError:
        return False


def verify_output(path: Path, what: str) -> None:
    """Raise DiskFullError (no space left) or BrokenFileError unless ``path`` is a whole image."""
    try:
        check_image(path)
    except PngError as exc:
        if disk_full_here(path):
            raise DiskFullError(f"disk full writing {what} {path} (free space and run the same "
                                "command again)") from None
        raise BrokenFileError(f"{what} {path} is broken: {exc}") from None


def set_aside_broken(frames_dir: Path, files: list[Path], log: Callable[[str], None]) -> list[Path]:
    """Move broken frame files into ``frames/.broken/`` (kept for a look, never counted as done)."""
    moved = []
    aside = Path(frames_dir) / ".broken"
    for path in files:
        aside.mkdir(exist_ok=True)
        target = aside / f"{path.name}.{time.strftime('%Y%m%d-%H%M%S')}.{os.getpid()}"
        os.replace(path, target)
        moved.append(target)
        log(f"Broken frame moved aside, to be rendered again: {path} -> {target}")
    return moved
