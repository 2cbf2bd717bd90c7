"""From whatever mesh the artist has to a fracturable solid: the exact route when the mesh is
clean, else the checked repair, else solidify (if allowed), else a clear error.

Checks run on the file's own coordinates (so an error names the place in the file); the axis
change, unit scale and placement apply afterwards to the checked solid (``transform_solid``),
which keeps every check valid: they are invariant under rotation, uniform scale and translation.
Pure numpy plus manifold3d; never imports bpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import MeshError, SpecError
from .mesh_repair import repair_mesh
from .mesh_solid import SolidMesh, prepare_solid, solid_from_manifold

UP_AXES = ("auto", "Z", "Y", "X", "-Y")

# File axes -> Blender's (z up). Y up is the OBJ/glTF convention: Blender's own OBJ exporter
# writes y = z_blender, z = -y_blender by default (forward -Z, up Y).
_ROTATIONS = {
    "Z": np.eye(3),
    "Y": np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]]),
    "X": np.array([[0, 0, 1.0], [0, 1.0, 0], [-1.0, 0, 0]]),
    "-Y": np.array([[1.0, 0, 0], [0, 0, 1.0], [0, -1.0, 0]]),
}


@dataclass(frozen=True)
class PreparedMesh:
    """A checked solid and how it was obtained: ``route`` is exact, repaired, united (closed
    pieces joined by exact booleans, ``mesh_union``) or solidified."""

    solid: SolidMesh
    route: str
    notes: tuple = ()


def prepare_mesh(vertices, faces, name: str = "mesh", *, repair: bool = False,
                 solidify: bool = False, merge_distance: float | None = None,
                 solidify_step: float | None = None) -> PreparedMesh:
    """The exact solid when the mesh is clean; otherwise the repaired one (``repair`` or
    ``solidify``), otherwise the union of its closed pieces, otherwise the solidified one (``solidify``); otherwise MeshError naming the
    defect and both options."""
    try:
        return PreparedMesh(prepare_solid(vertices, faces, name), "exact")
    except MeshError as exc:
        error = exc
        if "NaN" in exc.problem or "is empty" in exc.problem:
            raise
    notes = []
    fixed = None
    if repair or solidify:
        # Solidify tries the checked repair first too: an exact solid beats an approximate one.
        fixed = repair_mesh(vertices, faces, merge_distance=merge_distance)
        notes.append(f"{name}: repair: {fixed.summary()}")
        if fixed.changed:
            try:
                return PreparedMesh(prepare_solid(fixed.vertices, fixed.faces, name), "repaired",
                                    tuple(notes))
            except MeshError as exc:
                error = exc
        # Several closed pieces modelled through each other (IFC windows, doors, stairs): their
        # exact union, each piece checked (and solidified alone only if it must be).
        from .mesh_union import unite_parts

        try:
            solid, note = unite_parts(fixed.vertices, fixed.faces, name, solidify=solidify,
                                      solidify_step=solidify_step)
            return PreparedMesh(solid, "united", (*notes, note))
        except MeshError:
            pass
    if solidify:
        from .solidify import solidify_mesh

        # From the repaired mesh (never worse than the input): a large face wound the wrong way
        # would pull the winding number down over the whole solid.
        result = solidify_mesh(fixed.vertices, fixed.faces, name=name, step=solidify_step)
        notes.append(f"{name}: {result.describe()} (exact route refused: {error.problem})")
        return PreparedMesh(solid_from_manifold(result.manifold, name), "solidified", tuple(notes))
    options = [] if repair else ["[mesh] repair = true"]
    options.append("[mesh] solidify = true to rebuild it as a closed solid (add-on: Repair Meshes "
                   "does both)")
    raise MeshError(name, error.problem, "; ".join(filter(None, [error.fix, "or set " + " or ".join(options)])))


def axis_rotation(up_axis: str) -> np.ndarray:
    """The rotation taking a file with ``up_axis`` up to Blender's z up."""
    if up_axis not in _ROTATIONS:
        raise SpecError("mesh.up_axis", f"{up_axis!r} is not an axis Collapse knows",
                        f"use one of {', '.join(UP_AXES)}")
    return _ROTATIONS[up_axis]


def detect_up_axis(path) -> str:
    """``Y`` for glTF (always Y up) and for an OBJ written by Blender's exporter (its default is
    Y up), ``Z`` otherwise."""
    name = str(path).lower()
    if name.endswith((".glb", ".gltf")):
        return "Y"
    if name.endswith(".obj"):
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(256)
        return "Y" if head.startswith("# Blender") else "Z"
    return "Z"


def transform_solid(solid: SolidMesh, rotation=None, scale: float = 1.0, offset=None) -> SolidMesh:
    """The checked solid rotated, scaled uniformly and moved: ``v @ rotation.T * scale + offset``."""
    import manifold3d

    rotation = np.eye(3) if rotation is None else np.asarray(rotation, float)
    offset = np.zeros(3) if offset is None else np.asarray(offset, float)
    if np.allclose(rotation, np.eye(3)) and scale == 1.0 and not offset.any():
        return solid
    det = float(np.linalg.det(rotation))
    if abs(abs(det) - 1) > 1e-9 or not scale > 0:
        raise SpecError("mesh.scale", f"needs a rotation and a positive scale, got det {det:.3g}, "
                        f"scale {scale}", "give a positive scale")
    v = solid.vertices @ rotation.T * scale + offset
    tris = solid.triangles if det > 0 else solid.triangles[:, ::-1].copy()
    manifold = manifold3d.Manifold(manifold3d.Mesh64(
        vert_properties=np.ascontiguousarray(v), tri_verts=np.ascontiguousarray(tris, dtype=np.uint64),
        face_id=np.ascontiguousarray(solid.tri_face, dtype=np.uint64)))
    return SolidMesh(solid.name, v, tris, solid.tri_face, solid.n_faces, solid.volume * scale ** 3,
                     v.min(0), v.max(0), solid.tolerance * scale, solid.shells, manifold)


def place_on_ground(solids: list[SolidMesh], *, centre: bool) -> list[SolidMesh]:
    """Each solid's base to z = 0 (the ground supports every building); with ``centre`` the
    joint footprint's centre goes to x = y = 0 (one offset for all, so neighbours stay apart)."""
    lo = np.min([s.lo for s in solids], axis=0)
    hi = np.max([s.hi for s in solids], axis=0)
    shift_xy = -0.5 * (lo[:2] + hi[:2]) if centre else np.zeros(2)
    return [transform_solid(s, offset=[shift_xy[0], shift_xy[1], -s.lo[2]]) for s in solids]
