"""Material strengths for the structural solver: what a bond between two shards can carry.

Pure data and numpy (never imports bpy). Every material preset of ``core.materials`` carries
these fields (``Material.compressive_strength`` ... ``Material.youngs_modulus``), filled from
``STRENGTHS`` below, so a scene file can override them per material like any other preset field
(``[materials.masonry] tensile_strength = 0.1``).

Values are characteristic strengths of the intact material (MPa) and the mean elastic modulus
(GPa), from the design codes. No partial safety factors are applied: a shot should fail where a
real structure would, not where a designer's reserve ends.

=====================  =====  ======  =====  ======  =====  ===================================
material                f_c    f_t    f_v    f_fl    E       source
=====================  =====  ======  =====  ======  =====  ===================================
reinforced_concrete    30.0   5.0     3.0    12.0    33     EN 1992-1-1 Tab. 3.1 (C30/37: f_ck 30,
                                                             E_cm 33 GPa); tension = rho f_yk with
                                                             rho = 1 % of B500 bars (EN 1992 3.2,
                                                             ACI 318 9.6 minimum 0.18-1 %); shear
                                                             v_Rd,max of a stirruped section
                                                             (EN 1992 6.2.3, ~0.1 f_ck); flexure =
                                                             M_Rd / W of a 0.5 % slab (A_s f_yk z)
concrete               25.0   2.6     2.0    3.6     31     EN 1992-1-1 Tab. 3.1 (C25/30: f_ck 25,
                                                             f_ctm 2.6, E_cm 31); flexure f_ctm,fl
                                                             = (1.6 - h) f_ctm (3.1.8, h ~ 0.2 m);
                                                             plain-concrete shear EN 1992 12.6.3
masonry                7.0    0.15    0.3    0.4     7      EN 1996-1-1: f_k = 0.55 f_b^0.7 f_m^0.3
                                                             (3.6.1, clay f_b 15, mortar M10 ->
                                                             ~7 MPa), f_vk0 0.3 (Tab. 3.4), flexure
                                                             f_xk2 0.4 (3.6.3), E = 1000 f_k (3.7.2);
                                                             direct tension ~ f_xk1 0.1-0.2
timber                 21.0   14.5    4.0    24.0    11     EN 338 C24: f_c,0,k 21, f_t,0,k 14.5,
                                                             f_v,k 4.0, f_m,k 24, E_0,mean 11 GPa
steel                  355.0  355.0   205.0  355.0   210    EN 1993-1-1 Tab. 3.1 S355: f_y 355,
                                                             shear f_y / sqrt 3 (6.2.6), E 210 GPa
glass                  500.0  45.0    27.0   45.0    70     EN 572-1 annealed float: f_g,k 45
                                                             (bending), E 70 GPa; compression
                                                             conservatively 500 (tests: 700-900)
=====================  =====  ======  =====  ======  =====  ===================================

Joints between two elements (a beam on a column, a wall on a slab) hold ``interface_factor`` (from
the preset, 0.3-0.8) of that: EN 1992-1-1 6.2.5 rates a cold joint's cohesion at 0.025-0.5 of the
concrete's tensile strength by roughness, EN 1996 rates the mortar bed joint below the unit.

Bond capacity (N) = the weaker material's strength (Pa) x contact area (m^2) [x interface factor].
Shear capacity grows with the compression across the joint (Mohr-Coulomb, EN 1992-1-1 6.2.5:
v = c + mu sigma_n), with ``mu`` = the preset's ``friction``.
"""

from __future__ import annotations

import numpy as np

from .errors import SpecError

MPA = 1e6
GPA = 1e9

# name: (compressive, tensile, shear, flexural) MPa, Young's modulus GPa. Sources: module docstring.
STRENGTHS: dict[str, dict[str, float]] = {
    name: dict(zip(("compressive_strength", "tensile_strength", "shear_strength", "flexural_strength",
                    "youngs_modulus"), values, strict=True))
    for name, values in {
        "reinforced_concrete": (30.0, 5.0, 3.0, 12.0, 33.0),
        "concrete": (25.0, 2.6, 2.0, 3.6, 31.0),
        "masonry": (7.0, 0.15, 0.3, 0.4, 7.0),
        "timber": (21.0, 14.5, 4.0, 24.0, 11.0),
        "steel": (355.0, 355.0, 205.0, 355.0, 210.0),
        "glass": (500.0, 45.0, 27.0, 45.0, 70.0),
    }.items()
}
STRENGTH_FIELDS = ("compressive_strength", "tensile_strength", "shear_strength", "flexural_strength",
                   "youngs_modulus")


def material_table(materials=None) -> dict:
    """The material presets to use: ``materials`` when given, else ``core.materials.MATERIALS``."""
    if materials is None:
        from .materials import MATERIALS

        return MATERIALS
    return materials


def strength_arrays(names, materials=None) -> dict[str, np.ndarray]:
    """Per entry of ``names`` (material preset names): strengths in Pa, E in Pa and the factors.

    Keys: ``compressive``, ``tensile``, ``shear``, ``flexural``, ``youngs`` (Pa), ``interface``
    (joint factor), ``friction`` (Mohr-Coulomb coefficient), ``density`` (kg/m^3).
    Raises SpecError naming the material and the field when a strength is missing or not positive.
    """
    table = material_table(materials)
    unique, inverse = np.unique(np.asarray(names, dtype=object).astype(str), return_inverse=True)
    rows = []
    for name in unique:
        if name not in table:
            raise SpecError("material", f"unknown material {name!r}", f"choose from {', '.join(table)}")
        m = table[name]
        values = [getattr(m, f, None) for f in STRENGTH_FIELDS]
        for f, v in zip(STRENGTH_FIELDS, values, strict=True):
            if v is None or not np.isfinite(v) or v <= 0:
                raise SpecError(f"materials.{name}.{f}", f"must be a number > 0, got {v!r}",
                                "give the material's strength in MPa (youngs_modulus in GPa)")
        rows.append([v * MPA for v in values[:4]] + [values[4] * GPA, m.interface_factor, m.friction,
                                                     m.density])
    data = np.array(rows, float)[inverse.reshape(-1)] if len(unique) else np.zeros((0, 8))
    keys = ("compressive", "tensile", "shear", "flexural", "youngs", "interface", "friction", "density")
    return {k: data[:, i].copy() for i, k in enumerate(keys)}
