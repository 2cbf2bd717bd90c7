"""Material presets: density, contact behaviour and glue strength for each building material.

Pure data. ``bond_strength`` is the effective tensile strength of a glued joint in pascals: far
below the intact material's (concrete ~3 MPa in tension) because a shard joint stands for a cracked
section, and because a shot needs the building to fail under the loads a trigger can apply. The
rigid-body module turns it into Bullet breaking thresholds (see ``physics.glue_thresholds``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .field_meta import check_fields, spec_field
from .strength import STRENGTHS

_POSITIVE = (0, None)  # what an override may set: any number >= 0


@dataclass(frozen=True)
class Material:
    """Physical and visual preset of one building material."""

    name: str = spec_field(doc="Preset name.")
    density: float = spec_field(limits=_POSITIVE, unit="kg/m^3", doc="Density.")
    bond_strength: float = spec_field(limits=_POSITIVE, unit="Pa",
                                      doc="Effective tensile strength of a glued shard joint.")
    interface_factor: float = spec_field(limits=_POSITIVE,
                                         doc="Joint strength between two elements relative to "
                                             "inside one.")
    friction: float = spec_field(limits=_POSITIVE, doc="Friction coefficient.")
    restitution: float = spec_field(limits=_POSITIVE, doc="Bounciness (Bullet restitution).")
    linear_damping: float = spec_field(limits=_POSITIVE, doc="Linear velocity damping.")
    angular_damping: float = spec_field(limits=_POSITIVE, doc="Angular velocity damping.")
    color: tuple[float, float, float, float] = spec_field(
        limits=(0, 1), vector="[r, g, b, a]", doc="Exterior (original surface) colour, linear RGBA.")
    interior_color: tuple[float, float, float, float] = spec_field(
        limits=(0, 1), vector="[r, g, b, a]", doc="Cut-face colour, linear RGBA.")
    # Structural solver (core/strength.py, sources there): characteristic strengths in MPa, E in GPa
    compressive_strength: float = spec_field(0.0, limits=_POSITIVE, unit="MPa",
                                             doc="Characteristic compressive strength (structural "
                                                 "solver).")
    tensile_strength: float = spec_field(0.0, limits=_POSITIVE, unit="MPa",
                                         doc="Characteristic axial tensile strength (structural "
                                             "solver).")
    shear_strength: float = spec_field(0.0, limits=_POSITIVE, unit="MPa",
                                       doc="Characteristic shear strength (cohesion; structural "
                                           "solver).")
    flexural_strength: float = spec_field(0.0, limits=_POSITIVE, unit="MPa",
                                          doc="Flexural strength, extreme-fibre stress at the "
                                              "bending capacity.")
    youngs_modulus: float = spec_field(0.0, limits=_POSITIVE, unit="GPa",
                                       doc="Young's modulus (structural solver stiffness).")

    def __post_init__(self):
        check_fields(self)


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


def material(name: str, table: dict[str, Material] | None = None) -> Material:
    """Look up a material by name in ``table`` (a shot's resolved table, e.g. ``building.materials``;
    None: the presets), with an error that lists the choices."""
    from .errors import SpecError

    table = MATERIALS if table is None else table
    try:
        return table[name]
    except KeyError:
        raise SpecError("material", f"unknown material {name!r}",
                        f"choose from {', '.join(table)}") from None
