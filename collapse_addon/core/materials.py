"""Material presets: density, contact behaviour and glue strength for each building material.

Pure data. ``bond_strength`` is the effective tensile strength of a glued joint in pascals: far
below the intact material's (concrete ~3 MPa in tension) because a shard joint stands for a cracked
section, and because a shot needs the building to fail under the loads a trigger can apply. The
rigid-body module turns it into Bullet breaking thresholds (see ``physics.glue_thresholds``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .strength import STRENGTHS


@dataclass(frozen=True)
class Material:
    """Physical and visual preset of one building material."""

    name: str
    density: float  # kg/m^3
    bond_strength: float  # Pa, effective tensile strength of a glued shard joint
    interface_factor: float  # joint strength between two elements / inside one element
    friction: float
    restitution: float
    linear_damping: float
    angular_damping: float
    color: tuple[float, float, float, float]  # exterior (original surface), linear RGBA
    interior_color: tuple[float, float, float, float]  # cut faces
    # Structural solver (core/strength.py, sources there): characteristic strengths in MPa, E in GPa
    compressive_strength: float = 0.0
    tensile_strength: float = 0.0
    shear_strength: float = 0.0
    flexural_strength: float = 0.0
    youngs_modulus: float = 0.0


MATERIALS: dict[str, Material] = {
    m.name: replace(m, **STRENGTHS[m.name])
    for m in (
        Material("reinforced_concrete", 2400.0, 60e3, 0.6, 0.8, 0.05, 0.10, 0.20,
                 (0.55, 0.54, 0.52, 1.0), (0.42, 0.40, 0.37, 1.0)),
        Material("concrete", 2300.0, 30e3, 0.5, 0.8, 0.05, 0.10, 0.20,
                 (0.60, 0.59, 0.56, 1.0), (0.45, 0.43, 0.40, 1.0)),
        Material("masonry", 1900.0, 15e3, 0.4, 0.75, 0.05, 0.10, 0.25,
                 (0.55, 0.27, 0.18, 1.0), (0.62, 0.45, 0.36, 1.0)),
        Material("timber", 550.0, 40e3, 0.5, 0.6, 0.15, 0.10, 0.20,
                 (0.55, 0.38, 0.22, 1.0), (0.75, 0.60, 0.42, 1.0)),
        Material("steel", 7850.0, 400e3, 0.8, 0.5, 0.10, 0.05, 0.10,
                 (0.40, 0.42, 0.45, 1.0), (0.55, 0.57, 0.60, 1.0)),
        Material("glass", 2500.0, 8e3, 0.3, 0.4, 0.10, 0.05, 0.10,
                 (0.60, 0.75, 0.80, 1.0), (0.70, 0.85, 0.88, 1.0)),
    )
}


def material(name: str) -> Material:
    """Look up a preset by name, with an error that lists the choices."""
    from .errors import SpecError

    try:
        return MATERIALS[name]
    except KeyError:
        raise SpecError("material", f"unknown material {name!r}",
                        f"choose from {', '.join(MATERIALS)}") from None
