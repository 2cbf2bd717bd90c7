"""Shot settings: one typed object for a whole shot, read from and written to TOML scene files.

Pure (never imports bpy). A scene file is data; ``load_scene`` validates it at the edge into a
frozen ``ShotSettings`` and every later stage trusts the typed object. Errors name the file, the
key, the allowed range and, for unknown keys, the nearest valid key. Every setting has a default,
so a three-line scene file works::

    [building]
    storeys = 3
    [trigger]
    ...

The sections are dataclasses: ``BuildingSpec`` and ``FractureSpec`` (fracture core),
``SimulationSpec`` and ``TriggerSpec`` (rigid-body module), and the camera, lights, render and
output settings defined here. ``reference_markdown()`` documents every key from these classes, so
the reference cannot drift from the code (a test checks the committed copy).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path

from .building import FACADES, BuildingSpec
from .errors import SpecError
from .limits import MAX_NESTING, MAX_SCENE_BYTES, nesting_depth, parse_frame_runs, parse_frames
from .materials import MATERIALS, Material
from .physics import SimulationSpec, TriggerSpec, validate_trigger_timing
from .seeds import MAX_CELLS, PATTERNS, FractureSpec

ENGINES = ("WORKBENCH", "CYCLES", "EEVEE")
DEVICES = ("AUTO", "CPU", "GPU")
FILE_FORMATS = ("PNG", "OPEN_EXR_MULTILAYER")
CAMERA_MODES = ("auto", "manual")
MESH_SUFFIXES = (".obj", ".city.json", ".json", ".blend", ".ifc", ".ifczip", ".glb", ".gltf")  # IFC, glTF: issue 14


class SceneError(SpecError):
    """A scene file (or a setting given on the command line) cannot be used as it is.

    ``path`` is the scene file (None for settings built in Python), ``key`` the dotted key
    (``render.samples``).
    """

    def __init__(self, path: str | Path | None, key: str, problem: str, fix: str = ""):
        self.path = None if path is None else str(path)
        self.key = key
        where = f"{self.path}: {key}" if self.path else key
        super().__init__(where, problem, fix)


def setting(default=None, doc: str = "", *, limits: tuple | None = None,
            choices: tuple | None = None, unit: str = "", default_factory=None):
    """A dataclass field with its documentation and allowed values (used by checks and docs).

    The metadata keys (doc, units, range, choices) are the ones ``physics.field_info`` uses.
    """
    meta = {"doc": doc, "range": limits, "choices": choices, "units": unit}
    if default_factory is not None:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_fields(obj) -> None:
    """Check every field of ``obj`` against its ``setting`` metadata; raise SpecError on the first bad one."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        limits, choices = f.metadata.get("range"), f.metadata.get("choices")
        if value is None:
            continue
        if choices is not None and value not in choices:
            near = difflib.get_close_matches(str(value)[:100], [str(c) for c in choices], n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise SpecError(f.name, f"unknown value {value!r}",
                            f"{hint}choose from {', '.join(map(str, choices))}")
        if limits is not None:
            items = value if isinstance(value, tuple) else (value,)
            lo, hi = limits
            for item in items:
                if not _is_number(item) or not math.isfinite(item) or not lo <= item <= hi:
                    raise SpecError(f.name, f"must be from {lo:g} to {hi:g}, got {value!r}",
                                    f"use a value from {lo:g} to {hi:g}"
                                    + (f" {f.metadata['units']}" if f.metadata.get("units") else ""))


# ----------------------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class MeshSource:
    """The artist's own building instead of the procedural one."""

    path: str = setting("", "Mesh file to fracture: .obj, .city.json (CityJSON), .blend, .ifc or .glb; "
                        "relative paths are relative to the scene file. Empty: use [building]. Where "
                        "it is placed: see placement.")
    object: str = setting("", "Object name inside a .blend file (required for .blend), or the "
                          "CityObject id in a CityJSON file (default: its first building).")
    material: str = setting("reinforced_concrete", "Material preset of the whole mesh.",
                            choices=tuple(MATERIALS))
    scale: float = setting(1.0, "Uniform scale applied on import (e.g. 0.01 for centimetres).",
                           limits=(1e-6, 1e6))
    up_axis: str = setting("auto", "The file's up axis, turned to Z; auto: Y for an OBJ written by "
                           "Blender (its exporter's default), else Z.", choices=("auto", "Z", "Y", "X", "-Y"))
    repair: bool = setting(False, "Repair a mesh that is not a clean solid; a step that makes it "
                           "worse is undone.")
    solidify: bool = setting(True, "Rebuild a mesh still not solid from its winding number (the "
                             "volume change is logged); false: refuse it, naming the defect.")
    solidify_step: float | None = setting(None, "Solidify's grid step (default: longest side / 64).",
                                          limits=(1e-4, 100.0), unit="m")
    lod: str = setting("highest", "CityJSON level of detail (\"1\", \"2.2\", ...) or highest.")
    objects: str = setting("", "Tile: building ids (OBJ: object names), comma-separated, or * for "
                           "all; each its own element. Empty: one building.")
    bbox: tuple[float, float, float, float] | None = field(default=None, metadata={
        "doc": "Tile: the buildings whose footprint centre is in [xmin, ymin, xmax, ymax] (file "
        "coordinates).", "range": None, "choices": None, "units": "m", "kind": "region"})
    ifc_mapping: str = setting("", "IFC: a TOML file with [kinds] and [materials] over the built-in tables.")
    placement: str = setting("auto", "keep: file coordinates; centre: footprint centre to the origin, "
                             "bases at z = 0; auto: centre for CityJSON.", choices=("auto", "keep", "centre"))

    def __post_init__(self):
        check_fields(self)
        if self.bbox is not None and not (self.bbox[0] < self.bbox[2] and self.bbox[1] < self.bbox[3]):
            raise SpecError("bbox", f"{list(self.bbox)} is empty", "give [xmin, ymin, xmax, ymax]")
        if self.path:
            lower = self.path.lower()
            if not lower.endswith(MESH_SUFFIXES):
                raise SpecError("path", f"{self.path!r} is not a mesh file Collapse reads",
                                f"give a file ending in {', '.join(MESH_SUFFIXES)}")
            if lower.endswith(".blend") and not self.object:
                raise SpecError("object", "a .blend source needs the object's name",
                                "set object = \"Name\" to the mesh object to fracture")

    @property
    def object_ids(self) -> tuple[str, ...]:  # ("*",): every building
        return tuple(i.strip() for i in self.objects.split(",") if i.strip())


@dataclass(frozen=True)
class CameraSettings:
    """Where the shot is seen from. ``auto`` frames the building and its debris."""

    mode: str = setting("auto", "auto: frame the building and its debris from azimuth/elevation; "
                        "manual: use location and target.", choices=CAMERA_MODES)
    azimuth: float = setting(35.0, "Horizontal angle of the camera around the building, from the "
                             "south (-y) towards the east (+x).", limits=(-360, 360), unit="degrees")
    elevation: float = setting(15.0, "Camera height as an angle above the horizon.",
                               limits=(-10, 89), unit="degrees")
    lens: float = setting(35.0, "Focal length (36 mm sensor).", limits=(8, 400), unit="mm")
    margin: float = setting(1.12, "Free space around the framed volume (1: tight).",
                            limits=(1.0, 4.0))
    include_debris: bool = setting(True, "auto: also frame where the debris lands (known after the "
                                   "bake), not just the standing building.")
    debris_quantile: float = setting(0.95, "auto: frame this fraction of the debris mass (outliers "
                                     "thrown far stay out of frame).", limits=(0.5, 1.0))
    location: tuple[float, float, float] | None = setting(
        None, "manual: camera position [x, y, z] in metres.", limits=(-1e5, 1e5))
    target: tuple[float, float, float] | None = setting(
        None, "Point looked at [x, y, z]; auto: the centre of the framed volume.", limits=(-1e5, 1e5))
    move: float = setting(0.06, "Slow push-in: start this fraction of the distance further back, "
                          "end on the framed view (0: still).", limits=(0.0, 0.5))

    def __post_init__(self):
        check_fields(self)
        if self.mode == "manual" and self.location is None:
            raise SpecError("location", "the manual camera needs a location",
                            "give location = [x, y, z] or use mode = \"auto\"")


@dataclass(frozen=True)
class LightSettings:
    """Sun, sky and ground: what makes the shot readable."""

    sun_strength: float = setting(4.0, "Sun irradiance (Cycles/EEVEE).", limits=(0, 1000), unit="W/m^2")
    sun_azimuth: float = setting(130.0, "Direction the sunlight comes from, from the south towards "
                                 "the east.", limits=(-360, 360), unit="degrees")
    sun_elevation: float = setting(40.0, "Sun height above the horizon.", limits=(1, 90),
                                   unit="degrees")
    sun_angle: float = setting(3.0, "Angular diameter of the sun (shadow softness).",
                               limits=(0, 90), unit="degrees")
    sky_color: tuple[float, float, float] = setting((0.62, 0.72, 0.86), "Sky colour (linear RGB).",
                                                   limits=(0, 100))
    sky_strength: float = setting(1.0, "Sky brightness.", limits=(0, 1000))
    shadows: bool = setting(True, "Workbench: cast shadows from the sun (Cycles and EEVEE always "
                            "do); see docs/look.md for the cost.")
    ground: bool = setting(True, "Add a visible ground plane under the building.")
    ground_color: tuple[float, float, float] = setting((0.30, 0.29, 0.27),
                                                      "Ground colour (linear RGB).", limits=(0, 1))

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class RenderSettings:
    """Render engine, quality and the image files written per frame."""

    engine: str = setting("WORKBENCH", "WORKBENCH (fast previews), CYCLES (path traced) or EEVEE "
                          "(needs a GPU to be fast).", choices=ENGINES)
    device: str = setting("AUTO", "Cycles device: AUTO (a GPU if one works, else CPU), CPU or GPU "
                          "(an error when none is present).", choices=DEVICES)
    samples: int = setting(16, "Samples per pixel (Cycles, EEVEE); Workbench anti-aliasing "
                           "samples are derived from it.", limits=(1, 65536))
    denoise: bool = setting(False, "Denoise Cycles renders (OpenImageDenoise on CPU).")
    resolution: tuple[int, int] = setting((1280, 720), "Image size [width, height] in pixels.",
                                          limits=(4, 16384))
    resolution_percentage: int = setting(100, "Scale of the resolution (quick drafts).",
                                         limits=(1, 100), unit="%")
    file_format: str = setting("PNG", "PNG (8-bit RGB) or OPEN_EXR_MULTILAYER (half float, all "
                               "passes).", choices=FILE_FORMATS)
    padding: int = setting(4, "Digits in frame file names (0001.png).", limits=(1, 8))
    frames: str = setting("", "Frames to render, e.g. \"1-48\" or \"1,5,9\"; empty: the "
                          "simulation's whole range. --frames overrides it.")
    threads: int = setting(0, "Render threads; 0: all cores. --threads overrides it.",
                           limits=(0, 1024))
    film_transparent: bool = setting(False, "Transparent background instead of the sky.")
    gpu_backend: str = setting("AUTO", "Cycles GPU backend for device GPU/AUTO: AUTO (the first "
                               "that works: OPTIX, CUDA, HIP, ONEAPI, METAL) or one of them.",
                               choices=("AUTO", "OPTIX", "CUDA", "HIP", "ONEAPI", "METAL"))
    kernel_cache: str = setting("", "Folder for compiled GPU kernels (CUDA/OptiX caches), e.g. on "
                                "a share all farm nodes see; relative to the scene file; empty: "
                                "the driver's default.")
    frame_timeout: float = setting(0.0, "Seconds one frame may take before the render counts as "
                                   "stalled (exit 4); 0: no limit.", limits=(0, 604800), unit="s")

    def __post_init__(self):
        object.__setattr__(self, "resolution", tuple(self.resolution))
        check_fields(self)
        if len(self.resolution) != 2 or not all(isinstance(v, int) for v in self.resolution):
            raise SpecError("resolution", f"must be two whole numbers, got {self.resolution!r}",
                            "e.g. resolution = [1280, 720]")
        if self.frames:
            parse_frames(self.frames)


@dataclass(frozen=True)
class OutputSettings:
    """Where the shot goes and which extra files ``finalize`` and ``bake`` write."""

    directory: str = setting("out", "Output root; the shot goes to <directory>/<scene>/<seed>/. "
                             "Relative to the scene file and inside its folder (else --out DIR "
                             "or --allow-outside). --out overrides it.")
    preview: bool = setting(True, "finalize: write preview.mp4 (H.264, yuv420p).")
    contact_sheet: bool = setting(True, "finalize: write contact.png, a grid of frames.")
    contact_frames: int = setting(12, "Frames shown on the contact sheet.", limits=(1, 100))
    contact_columns: int = setting(4, "Columns of the contact sheet.", limits=(1, 20))
    contact_width: int = setting(320, "Width of one contact-sheet tile.", limits=(16, 2048),
                                 unit="px")
    alembic: bool = setting(True, "bake: export the baked animation to cache/collapse.abc.")
    usd: bool = setting(False, "bake: export the baked animation to cache/collapse.usdc.")

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class FxSettings:
    """Rubble and dust emitted where and when bonds break (read from the break events)."""

    quality: str = setting("medium", "Rubble and dust amount, the cost knob (docs/look.md).",
                           choices=("off", "low", "medium", "high"))
    rubble: bool = setting(True, "Emit rubble at breaks (concrete, masonry, glass, timber; not steel).")
    dust: bool = setting(True, "Emit dust at breaks of concrete and masonry (not steel or glass).")
    rubble_size: float = setting(0.25, "Typical rubble fragment size.", limits=(0.005, 2), unit="m")
    dust_size: float = setting(2.0, "Radius a dust puff grows to.", limits=(0.01, 20.0), unit="m")
    dust_color: tuple[float, float, float] = setting((0.5, 0.46, 0.4), "Dust colour.", limits=(0, 1))
    rough_rms: float = setting(0.0, "Rough breaks (experimental, docs/look.md): RMS of concrete cut "
                               "faces off their plane, e.g. 0.03.", limits=(0.0, 0.5), unit="m")

    def __post_init__(self):
        check_fields(self)


# Sections that are dataclasses owned by other modules: their keys are documented here.
EXTERNAL_DOCS: dict[str, dict[str, str]] = {
    "building": {
        "bays_x": "Bays along x (1-50).",
        "bays_y": "Bays along y (1-50).",
        "bay_width": "Column spacing along x, metres.",
        "bay_depth": "Column spacing along y, metres.",
        "storeys": "Number of storeys (1-60).",
        "storey_height": "Floor-to-floor height, metres.",
        "slab_thickness": "Floor slab thickness, metres.",
        "column_section": "Square column edge, metres.",
        "beam_depth": "Beam depth under the slab, metres.",
        "beam_width": "Beam width, metres (at most column_section).",
        "wall_thickness": "Infill wall thickness, metres (at most column_section).",
        "window_width": "Window width per bay, metres; 0 with window_height 0: solid walls.",
        "window_height": "Window height, metres.",
        "window_sill": "Window sill height above the floor, metres.",
        "facades": f"Facades with infill walls, any of {', '.join(FACADES)}.",
        "foundation_depth": "Foundation slab depth below z = 0, metres.",
        "foundation_margin": "How far the foundation extends beyond the frame, metres.",
        "frame_material": "Material of columns, beams, slabs and foundation "
                          f"({', '.join(MATERIALS)}).",
        "wall_material": "Material of the infill walls.",
    },
    "fracture": {
        "cell_count": f"Shards over the whole building, split by volume (1-{MAX_CELLS}).",
        "shard_size": "Typical shard edge in metres; replaces cell_count when set.",
        "pattern": f"Seed pattern: {', '.join(PATTERNS)}.",
        "focus": "impact/graded: the point [x, y, z] where shards are finest.",
        "focus_height": "graded without focus: the height where shards are finest.",
        "radius": "impact/graded: radius of the fine region, metres.",
        "concentration": "impact: fraction of the seeds clustered at the focus (0-1).",
        "grade_ratio": "graded: how many times denser the seeds are at the focus.",
        "min_cells_per_element": "Fewest shards per fractured element (1 lets small ones stay whole).",
        "gap": "Gap left between neighbouring shards, metres (0-0.5; 0: exact).",
        "seed": "Set by the shot's top-level seed; do not set it here.",
        "min_shard_volume": "No shard below this volume, m^3: the seed of a smaller cell is dropped "
                            "and its element re-fractured (at most 1/10 of the element's mean shard; 0: off).",
    },
}
MATERIAL_DOCS = {
    "density": "kg/m^3.",
    "bond_strength": "Effective tensile strength of a glued shard joint, Pa.",
    "interface_factor": "Joint strength between two elements relative to inside one.",
    "friction": "Bullet friction.",
    "restitution": "Bullet bounciness.",
    "linear_damping": "Linear velocity damping.",
    "angular_damping": "Angular velocity damping.",
    "color": "Exterior colour, linear RGBA.",
    "interior_color": "Cut-face colour, linear RGBA.",
    "compressive_strength": "Characteristic compressive strength, MPa (structural solver).",
    "tensile_strength": "Characteristic axial tensile strength, MPa (structural solver).",
    "shear_strength": "Characteristic shear strength (cohesion), MPa (structural solver).",
    "flexural_strength": "Flexural strength, extreme-fibre stress at the bending capacity, MPa.",
    "youngs_modulus": "Young's modulus, GPa (structural solver stiffness).",
}
SEED_DOC = ("The shot's one random seed: shards, trigger and everything random follow from it. "
            "--seed overrides it; the output goes to <directory>/<scene>/<seed>/.")


def _default_of(cls, name):
    f = next(f for f in fields(cls) if f.name == name)
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


@dataclass(frozen=True)
class ShotSettings:
    """Everything that defines a shot. Build it in Python or with ``load_scene``.

    The shot ``seed`` is copied into ``fracture.seed`` (and ``trigger.seed`` where the trigger
    has one), so one number drives every random choice.
    """

    seed: int = 0
    building: BuildingSpec = field(default_factory=BuildingSpec)
    mesh: MeshSource = field(default_factory=MeshSource)
    materials: dict[str, dict[str, object]] = field(default_factory=dict)
    fracture: FractureSpec = field(default_factory=FractureSpec)
    simulation: SimulationSpec = field(default_factory=SimulationSpec)
    trigger: TriggerSpec = field(default_factory=TriggerSpec)
    camera: CameraSettings = field(default_factory=CameraSettings)
    lights: LightSettings = field(default_factory=LightSettings)
    render: RenderSettings = field(default_factory=RenderSettings)
    output: OutputSettings = field(default_factory=OutputSettings)
    fx: FxSettings = field(default_factory=FxSettings)

    def __post_init__(self):
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or not 0 <= self.seed < 2**63:
            raise SpecError("seed", f"must be a whole number >= 0, got {self.seed!r}", "e.g. seed = 1")
        if self.fracture.seed != self.seed:
            object.__setattr__(self, "fracture", dataclasses.replace(self.fracture, seed=self.seed))
        if hasattr(self.trigger, "seed") and self.trigger.seed != self.seed:
            object.__setattr__(self, "trigger", dataclasses.replace(self.trigger, seed=self.seed))
        resolve_materials(self.materials)
        try:
            validate_trigger_timing(self.simulation, self.trigger)
        except SpecError as exc:
            raise SpecError(f"trigger.{exc.field}", exc.problem, exc.fix) from None

    def with_seed(self, seed: int) -> ShotSettings:
        return dataclasses.replace(self, seed=seed)

    @property
    def uses_mesh(self) -> bool:
        return bool(self.mesh.path)

    def frame_range(self) -> tuple[int, int]:
        """First and last frame of the simulation (and so of the shot)."""
        return self.simulation.frame_start, self.simulation.frame_end

    def frame_list(self, override: str | None = None) -> list[int]:
        """Frames to render: ``override`` ("1-48", "1,5,9"), else ``render.frames``, else all."""
        start, end = self.frame_range()
        spec = override or self.render.frames
        if not spec:
            return list(range(start, end + 1))
        runs = parse_frame_runs(spec)
        for a, b, _ in runs:  # checked before the runs are expanded
            if not (start <= a <= end and start <= b <= end):
                bad = a if not start <= a <= end else b
                raise SpecError("frames", f"frame {bad} is outside the simulation's "
                                f"{start}-{end}", f"pick frames from {start} to {end}")
        return parse_frames(spec)


SECTIONS: dict[str, type] = {
    "building": BuildingSpec,
    "mesh": MeshSource,
    "fracture": FractureSpec,
    "simulation": SimulationSpec,
    "trigger": TriggerSpec,
    "camera": CameraSettings,
    "lights": LightSettings,
    "render": RenderSettings,
    "output": OutputSettings,
    "fx": FxSettings,
}
TOP_KEYS = ("seed", "materials", *SECTIONS)
# Keys that the shot sets itself; a scene file setting them would be silently overridden.
DERIVED_KEYS = {("fracture", "seed"), ("trigger", "seed")}


# ------------------------------------------------------------------------------------ frame lists


def chunk_frames(frames: list[int], chunk: str) -> list[int]:
    """Chunk "N/M" (1-based) of ``frames``: M contiguous, near-equal slices; together all frames."""
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(chunk))
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise SpecError("chunk", f"cannot read {chunk!r}", "write N/M with 1 <= N <= M, e.g. 2/4")
    n, total = int(m.group(1)), int(m.group(2))
    lo = (n - 1) * len(frames) // total
    hi = n * len(frames) // total
    return frames[lo:hi]


# ----------------------------------------------------------------------------------------- loading


def resolve_materials(overrides: dict[str, dict[str, object]], path=None) -> dict[str, Material]:
    """The material presets with the scene's overrides applied (each checked)."""
    result = dict(MATERIALS)
    allowed = [f.name for f in fields(Material) if f.name != "name"]
    for name, values in overrides.items():
        if name not in MATERIALS:
            raise _unknown(path, "materials", name, list(MATERIALS), what="material")
        if not isinstance(values, dict):
            raise SceneError(path, f"materials.{name}", "must be a table of overrides",
                             f"write [materials.{name}] with keys like density = 2400")
        for key, value in values.items():
            if key not in allowed:
                raise _unknown(path, f"materials.{name}", key, allowed)
            if key.endswith("color"):
                ok = (isinstance(value, list | tuple) and len(value) == 4
                      and all(_is_number(v) and 0 <= v <= 1 for v in value))
                if not ok:
                    raise SceneError(path, f"materials.{name}.{key}", f"must be [r, g, b, a] from 0 "
                                     f"to 1, got {value!r}", "e.g. [0.55, 0.54, 0.52, 1.0]")
                value = tuple(float(v) for v in value)
            elif not (_is_number(value) and math.isfinite(value) and value >= 0):
                raise SceneError(path, f"materials.{name}.{key}", f"must be a number >= 0, got "
                                 f"{value!r}", MATERIAL_DOCS[key])
            result[name] = dataclasses.replace(result[name], **{key: value})
    return result


def _unknown(path, section: str, key: str, allowed: list[str], what: str = "key") -> SceneError:
    near = difflib.get_close_matches(key, allowed, n=1, cutoff=0.5)
    elsewhere = [f"[{s}] {key}" for s, cls in SECTIONS.items()
                 if s != section and key in {f.name for f in fields(cls)}]
    if near:
        fix = f"did you mean '{near[0]}'?"
    elif elsewhere:
        fix = f"it belongs in {elsewhere[0]}"
    else:
        fix = f"valid {what}s: {', '.join(allowed)}"
    return SceneError(path, f"{section}.{key}" if section else key, f"unknown {what}", fix)


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "none")


def _coerce(value, tp, key: str, path):
    """Check a TOML value against the field's annotation; lists become tuples, ints floats."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _coerce(value, option, key, path)
            except SceneError as exc:
                errors.append(exc)
        raise errors[0]
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise SceneError(path, key, f"must be a list, got {value!r}",
                             f"write it as [{', '.join('...' for _ in args[:3])}]")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(v, args[0], key, path) for v in value)
        if len(value) != len(args):
            raise SceneError(path, key, f"must have {len(args)} items, got {len(value)}",
                             f"write [{', '.join(_type_name(a) for a in args)}]")
        return tuple(_coerce(v, a, key, path) for v, a in zip(value, args, strict=True))
    if tp is float:
        if _is_number(value):
            return float(value)
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif tp is bool or tp is str:
        if isinstance(value, tp):
            return value
    else:
        return value
    raise SceneError(path, key, f"must be {'a' if tp is not int else 'a whole'} "
                     f"{ {float: 'number', int: 'number', bool: 'true or false', str: 'string'}[tp]}, "
                     f"got {value!r}", "check the type of the value")


def _build_section(name: str, cls: type, table, path):
    if not isinstance(table, dict):
        raise SceneError(path, name, f"must be a table, got {table!r}", f"write [{name}] and its keys")
    hints = typing.get_type_hints(cls)
    allowed = [f.name for f in fields(cls) if f.init]
    kwargs = {}
    for key, value in table.items():
        if key not in allowed:
            raise _unknown(path, name, key, [k for k in allowed if (name, k) not in DERIVED_KEYS])
        if (name, key) in DERIVED_KEYS:
            raise SceneError(path, f"{name}.{key}", "is set from the shot's seed",
                             "write seed = N at the top of the file (before any [section])")
        kwargs[key] = _coerce(value, hints[key], f"{name}.{key}", path)
    try:
        return cls(**kwargs)
    except SpecError as exc:
        if isinstance(exc, SceneError):
            raise
        raise SceneError(path, f"{name}.{exc.field}", exc.problem, exc.fix) from None
    except (TypeError, ValueError) as exc:
        raise SceneError(path, name, str(exc), "check the section's keys") from None


def settings_from_dict(data: dict, path: str | Path | None = None) -> ShotSettings:
    """Validate parsed TOML (a dict) into ShotSettings; errors name ``path`` and the key."""
    for key in data:
        if key not in TOP_KEYS:
            raise _unknown(path, "", key, list(TOP_KEYS))
    kwargs = {}
    for name, cls in SECTIONS.items():
        if name in data:
            kwargs[name] = _build_section(name, cls, data[name], path)
    if "building" in data and data.get("mesh", {}).get("path"):
        raise SceneError(path, "mesh.path", "a scene has either [building] or a [mesh] path",
                         "remove [building] to fracture the mesh, or mesh.path for the procedural one")
    if "materials" in data:
        resolve_materials(data["materials"], path)
        kwargs["materials"] = {k: {kk: (tuple(vv) if isinstance(vv, list) else vv)
                                   for kk, vv in v.items()} for k, v in data["materials"].items()}
    if "seed" in data:
        kwargs["seed"] = _coerce(data["seed"], int, "seed", path)
    try:
        return ShotSettings(**kwargs)
    except SceneError:
        raise
    except SpecError as exc:
        raise SceneError(path, exc.field, exc.problem, exc.fix) from None


def load_scene(source: str | Path) -> ShotSettings:
    """Read a scene: a path to a .toml file, or TOML text (anything with a newline or '=')."""
    path = None
    if isinstance(source, Path) or ("\n" not in source and "=" not in source):
        path = Path(source)
        try:
            if path.is_dir():
                raise SceneError(path, "(file)", "is a folder", "give the path of a .toml file")
            if path.stat().st_size > MAX_SCENE_BYTES:
                raise SceneError(path, "(file)", f"is {path.stat().st_size} bytes",
                                 f"a scene file has at most {MAX_SCENE_BYTES} bytes")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SceneError(path, "(file)", "no such scene file",
                             "check the path; scenes/ has examples") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SceneError(path, "(file)", f"cannot read it: {exc}", "give a UTF-8 TOML file") from None
    else:
        text = source
    if len(text) > MAX_SCENE_BYTES:
        raise SceneError(path, "(file)", f"is {len(text)} characters",
                         f"a scene has at most {MAX_SCENE_BYTES} bytes")
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise SceneError(path, "(syntax)", f"arrays or tables nested {depth} deep",
                         f"nest at most {MAX_NESTING} deep")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SceneError(path, "(syntax)", str(exc), "fix the TOML syntax at that line") from None
    except RecursionError:
        raise SceneError(path, "(syntax)", "nested too deeply", "nest arrays less deeply") from None
    settings = settings_from_dict(data, path)
    if settings.uses_mesh and path is not None and not Path(settings.mesh.path).is_absolute():
        mesh = dataclasses.replace(settings.mesh, path=str((path.parent / settings.mesh.path).resolve()))
        settings = dataclasses.replace(settings, mesh=mesh)
    if settings.uses_mesh and Path(settings.mesh.path).is_dir():
        raise SceneError(path, "mesh.path", f"{settings.mesh.path} is a folder",
                         "give the path of a mesh file")
    return settings


def scene_hash(path: str | Path) -> str:
    """sha256 of a scene file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ----------------------------------------------------------------------------------------- writing


def _toml_value(value) -> str:
    if type(value).__module__ == "numpy":
        value = value.tolist()  # NumPy scalar/array -> Python (NumPy 2's repr is np.float64(...))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(float(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def _section_lines(obj, cls, name: str, full: bool) -> list[str]:
    lines = []
    default = cls()
    for f in fields(cls):
        if (name, f.name) in DERIVED_KEYS or not f.init:
            continue
        value = getattr(obj, f.name)
        if value is None or (not full and value == getattr(default, f.name)):
            continue
        lines.append(f"{f.name} = {_toml_value(value)}")
    return lines


def settings_to_dict(settings: ShotSettings) -> dict:
    """Plain JSON-able dict of every setting (for manifests)."""
    out = {"seed": settings.seed, "materials": settings.materials}
    for name in SECTIONS:
        out[name] = dataclasses.asdict(getattr(settings, name))
    return out


def dump_scene(settings: ShotSettings, *, full: bool = False, header: str = "") -> str:
    """TOML text that ``load_scene`` reads back to equal settings.

    Only values that differ from the defaults are written unless ``full``.
    """
    out = [f"# {line}" for line in header.splitlines()]
    out.append(f"seed = {settings.seed}")
    for name, cls in SECTIONS.items():
        if name == "building" and settings.uses_mesh:
            continue
        if name == "mesh" and not settings.uses_mesh:
            continue
        lines = _section_lines(getattr(settings, name), cls, name, full)
        if lines or full:
            out += ["", f"[{name}]", *lines]
    for mat, values in settings.materials.items():
        out += ["", f"[materials.{mat}]"] + [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(out) + "\n"
