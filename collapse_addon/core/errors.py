"""User-facing error types, and the one table of exit codes.

One exception type per kind of user mistake. Every message names the field (or file and key)
and says how to fix it; the add-on reports them in the UI. Each type carries its command-line exit
code (``exit_code``); the CLI and the farm read it through ``exit_code_for`` and never match names.
"""

from __future__ import annotations

import errno

EXIT_OK, EXIT_FAILED, EXIT_SCENE_ERROR, EXIT_MISSING_INPUT, EXIT_DEVICE = 0, 1, 2, 3, 4
EXIT_MEANINGS = {EXIT_OK: "done", EXIT_FAILED: "a frame failed",
                 EXIT_SCENE_ERROR: "usage or scene error", EXIT_MISSING_INPUT: "missing input",
                 EXIT_DEVICE: "out of memory or device failure"}
# A message longer than this is cut (a 50 MB bad value must not be echoed in full).
MAX_MESSAGE = 400


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` cut to ``limit`` characters, saying how much was cut; newlines shown as \\n."""
    text = str(text).replace("\r", "\\r").replace("\n", "\\n")
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


class CollapseError(Exception):
    """Base class for every error Collapse raises on purpose (a failed stage: exit 1)."""

    exit_code = EXIT_FAILED


class SpecError(CollapseError, ValueError):
    """A setting is missing, of the wrong type or out of range."""

    exit_code = EXIT_SCENE_ERROR

    def __init__(self, field: str, problem: str, fix: str = ""):
        self.field = field
        self.problem = shorten(problem)
        self.fix = shorten(fix)
        message = f"{field}: {self.problem}"
        if fix:
            message += f" ({self.fix})"
        super().__init__(message)


class MeshError(CollapseError, ValueError):
    """An input mesh cannot be fractured as it is (open, non-manifold, flat, self-intersecting)."""

    exit_code = EXIT_SCENE_ERROR

    def __init__(self, name: str, problem: str, fix: str = ""):
        self.name = name
        self.problem = problem
        self.fix = fix
        message = f"mesh '{name}': {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class FractureError(CollapseError, RuntimeError):
    """The Voronoi backend failed on valid input (a bug or a numerical corner): never silent."""


class MissingInputError(CollapseError, FileNotFoundError):
    """A stage needs the output of an earlier one (e.g. render without a bake): exit code 3."""

    exit_code = EXIT_MISSING_INPUT


class OutputError(CollapseError, OSError):
    """The output folder cannot be used (read-only, a file in the way, outside the scene's
    folder without permission, made by another scene file): exit code 2."""

    exit_code = EXIT_SCENE_ERROR


class DiskFullError(CollapseError, OSError):
    """No space left while writing an output; nothing half-written is left in place: exit 1."""

    exit_code = EXIT_FAILED


class BrokenFileError(CollapseError, ValueError):
    """An output file (a frame, the contact sheet, the preview) is truncated or undecodable."""

    exit_code = EXIT_FAILED


class DeviceError(CollapseError, RuntimeError):
    """The render device is missing, failed or stalled: exit code 4."""

    exit_code = EXIT_DEVICE


class StageCrashed(CollapseError, RuntimeError):
    """A stage's process died (a signal such as SIGSEGV, or an unknown exit code): exit 1."""


def is_disk_full(exc: BaseException) -> bool:
    """True for 'no space left' / 'quota exceeded', also when Blender only reports it in words."""
    if isinstance(exc, DiskFullError):
        return True
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "no space left" in text or "disk quota" in text


def exit_code_for(exc: BaseException) -> int:
    """The CLI exit code of an exception: its type's ``exit_code``, else by kind."""
    if isinstance(exc, CollapseError):
        return exc.exit_code
    if isinstance(exc, MemoryError):
        return EXIT_DEVICE
    if is_disk_full(exc):
        return EXIT_FAILED
    if isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower():
        return EXIT_DEVICE
    return EXIT_FAILED
