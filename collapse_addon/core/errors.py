"""User-facing error types.

One exception type per kind of user mistake. Every message names the field (or file and key)
and says how to fix it; the CLI maps the types to exit codes and the add-on reports them in the UI.
"""

from __future__ import annotations


class CollapseError(Exception):
    """Base class for every error Collapse raises on purpose."""


class SpecError(CollapseError, ValueError):
    """A setting is missing, of the wrong type or out of range."""

    def __init__(self, field: str, problem: str, fix: str = ""):
        self.field = field
        self.problem = problem
        self.fix = fix
        message = f"{field}: {problem}"
        if fix:
            message += f" ({fix})"
        super().__init__(message)


class MeshError(CollapseError, ValueError):
    """An input mesh cannot be fractured as it is (open, non-manifold, flat, self-intersecting)."""

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
