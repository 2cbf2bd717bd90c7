"""Unite closed parts: a mesh made of several closed pieces that overlap (an IFC window is a frame,
a sash and a pane modelled through each other; a door its leaf and lining; a stair its steps and
stringers) is refused by the exact route as self-intersecting, yet each piece is a clean solid.
Their exact union (manifold3d booleans) is the solid the modeller meant, at a fraction of the cost
of solidifying the whole soup on a grid and without losing thin panes at the grid step.

A piece that is not clean on its own is repaired (checked), else solidified alone when allowed
(its own small grid), else the route fails with that piece's defect. Pure numpy plus manifold3d;
never imports bpy.
"""

from __future__ import annotations

import numpy as np

from .errors import MeshError
from .mesh_geometry import triangulate_faces
from .mesh_solid import SolidMesh, _shells, prepare_solid, solid_from_manifold

MAX_PARTS = 2000  # more pieces than this: not an assembly of parts, leave it to solidify


def split_parts(vertices, faces, name: str = "mesh") -> list[tuple[np.ndarray, np.ndarray]]:
    """The connected pieces of a mesh (triangles sharing vertices), each as (vertices, triangles)."""
    v = np.asarray(vertices, float)
    tris, _, _ = triangulate_faces(v, faces, name)
    if len(tris) == 0:
        return []
    shell, n = _shells(tris, len(v))
    order = np.argsort(shell, kind="stable")
    bounds = np.searchsorted(shell[order], np.arange(n + 1))
    parts = []
    for s in range(n):
        sub = tris[order[bounds[s]:bounds[s + 1]]]
        used, inverse = np.unique(sub, return_inverse=True)
        parts.append((v[used], inverse.reshape(-1, 3)))
    return parts


def unite_parts(vertices, faces, name: str = "mesh", *, solidify: bool = False,
                solidify_step: float | None = None) -> tuple[SolidMesh, str]:
    """The union of a mesh's closed pieces as one checked solid, and a note saying what was done.

    Raises MeshError when the mesh is a single piece (nothing to unite), has more than
    ``MAX_PARTS`` pieces, or a piece can be neither checked, repaired nor (``solidify``)
    solidified.
    """
    import manifold3d

    from .mesh_repair import repair_mesh

    parts = split_parts(vertices, faces, name)
    if len(parts) < 2 or len(parts) > MAX_PARTS:
        raise MeshError(name, f"is {len(parts)} piece(s): not an assembly of closed parts",
                        "solidify it")
    manifolds, repaired, solidified = [], 0, 0
    for k, (pv, pt) in enumerate(parts):
        label = f"{name} (piece {k + 1} of {len(parts)})"
        try:
            manifolds.append(prepare_solid(pv, pt, label).manifold)
            continue
        except MeshError as exc:
            error = exc
        fixed = repair_mesh(pv, pt)
        if fixed.changed:
            try:
                manifolds.append(prepare_solid(fixed.vertices, fixed.faces, label).manifold)
                repaired += 1
                continue
            except MeshError as exc:
                error = exc
        if not solidify:
            raise error
        from .solidify import solidify_mesh

        manifolds.append(solidify_mesh(fixed.vertices, fixed.faces, name=label,
                                       step=solidify_step).manifold)
        solidified += 1
    united = manifold3d.Manifold.batch_boolean(manifolds, manifold3d.OpType.Add)
    if united.is_empty() or united.volume() <= 0:
        raise MeshError(name, "its pieces unite to nothing", "solidify it")
    solid = solid_from_manifold(united, name)
    extra = [f"{repaired} repaired"] if repaired else []
    extra += [f"{solidified} solidified"] if solidified else []
    note = (f"{name}: united its {len(parts)} closed pieces (exact booleans"
            f"{'; ' + ', '.join(extra) if extra else ''}): {solid.volume:.4g} m3")
    return solid, note
