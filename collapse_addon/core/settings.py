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
output settings defined here. Every field is declared once with ``field_meta.spec_field`` (doc,
unit, range, value set) and checked by the one generic validator ``field_meta.check_fields``;
``scene_reference.reference_markdown()`` documents every key from these declarations, so the
reference cannot drift from the code (a test checks the committed copy).
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

from .building import BuildingSpec
from .errors import SpecError
from .field_meta import check_fields, spec_field
from .limits import MAX_NESTING, MAX_SCENE_BYTES, nesting_depth, parse_frame_runs, parse_frames
from .materials import MATERIALS, Material
from .physics import SimulationSpec, TriggerSpec, validate_trigger_timing
from .seeds import FractureSpec

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


# ----------------------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class MeshSource:
    """The artist's own building instead of the procedural one."""

    path: str = spec_field("",
                           doc="Mesh file to fracture: .obj, .city.json (CityJSON), .blend, .ifc or .glb; "
                               "relative paths are relative to the scene file. Empty: use [building]."
                               " Where it is placed: see placement.")
    object: str = spec_field("",
                             doc="Object name inside a .blend file (required for .blend), or the "
                                 "CityObject id in a CityJSON file (default: its first building).")
    material: str = spec_field("reinforced_concrete", choices=tuple(MATERIALS),
                               doc="Material preset of the whole mesh.")
    scale: float = spec_field(1.0, limits=(1e-6, 1e6),
                              doc="Uniform scale applied on import (e.g. 0.01 for centimetres).")
    up_axis: str = spec_field("auto", choices=("auto", "Z", "Y", "X", "-Y"),
                              doc="The file's up axis, turned to Z; auto: Y for an OBJ written by "
                                  "Blender (its exporter's default), else Z.")
    repair: bool = spec_field(False,
                              doc="Repair a mesh that is not a clean solid; a step that makes it "
                                  "worse is undone.")
    solidify: bool = spec_field(True,
                                doc="Rebuild a mesh still not solid from its winding number (the "
                                    "volume change is logged); false: refuse it, naming the defect.")
    solidify_step: float | None = spec_field(None, limits=(1e-4, 100.0), unit="m",
                                             doc="Solidify's grid step (default: longest side / 64).")
    lod: str = spec_field("highest", doc="CityJSON level of detail (\"1\", \"2.2\", ...) or highest.")
    objects: str = spec_field("",
                              doc="Tile: building ids (OBJ: object names), comma-separated, or * for "
                                  "all; each its own element. Empty: one building. .blend: "
                                  "several object names instead of object.")
    anchors: str = spec_field("",
                              doc="Objects (names or ids, comma-separated) kept whole as the "
                                  "building's anchored foundation, like the panel's Anchor.")
    bbox: tuple[float, float, float, float] | None = spec_field(
        None, limits=(-1e9, 1e9), unit="m", vector="[xmin, ymin, xmax, ymax]",
        allowed="[xmin, ymin, xmax, ymax] in metres (file coordinates), xmax > xmin, ymax > ymin",
        doc="Tile: the buildings whose footprint centre is in [xmin, ymin, xmax, ymax] (file "
            "coordinates).")
    ifc_mapping: str = spec_field("",
                                  doc="IFC: a TOML file with [kinds] and [materials] over the built-"
                                      "in tables.")
    placement: str = spec_field("auto", choices=("auto", "keep", "centre"),
                                doc="keep: file coordinates; centre: footprint centre to the origin, "
                                    "bases at z = 0; auto: centre for CityJSON.")

    def __post_init__(self):
        check_fields(self)
        if self.bbox is not None and not (self.bbox[0] < self.bbox[2] and self.bbox[1] < self.bbox[3]):
            raise SpecError("bbox", f"{list(self.bbox)} is empty", "give [xmin, ymin, xmax, ymax]")
        if self.path:
            lower = self.path.lower()
            if not lower.endswith(MESH_SUFFIXES):
                raise SpecError("path", f"{self.path!r} is not a mesh file Collapse reads",
                                f"give a file ending in {', '.join(MESH_SUFFIXES)}")
            if lower.endswith(".blend") and not (self.object or self.objects):
                raise SpecError("object", "a .blend source needs the object's name",
                                "set object = \"Name\" (or objects = \"A, B\") to the mesh "
                                "objects to fracture")

    @property
    def object_ids(self) -> tuple[str, ...]:  # ("*",): every building
        return tuple(i.strip() for i in self.objects.split(",") if i.strip())

    @property
    def anchor_ids(self) -> tuple[str, ...]:
        return tuple(i.strip() for i in self.anchors.split(",") if i.strip())


@dataclass(frozen=True)
class CameraSettings:
    """Where the shot is seen from. ``auto`` frames the building and its debris."""

    mode: str = spec_field("auto", choices=CAMERA_MODES,
                           doc="auto: frame the building and its debris from azimuth/elevation; "
                               "manual: use location and target.")
    azimuth: float = spec_field(35.0, limits=(-360, 360), unit="degrees",
                                doc="Horizontal angle of the camera around the building, from the "
                                    "south (-y) towards the east (+x).")
    elevation: float = spec_field(15.0, limits=(-10, 89), unit="degrees",
                                  doc="Camera height as an angle above the horizon.")
    lens: float = spec_field(35.0, limits=(8, 400), unit="mm", doc="Focal length (36 mm sensor).")
    margin: float = spec_field(1.12, limits=(1.0, 4.0),
                               doc="Free space around the framed volume (1: tight).")
    include_debris: bool = spec_field(True,
                                      doc="auto: also frame where the debris lands (known after the "
                                          "bake), not just the standing building.")
    debris_quantile: float = spec_field(0.95, limits=(0.5, 1.0),
                                        doc="auto: frame this fraction of the debris mass (outliers "
                                            "thrown far stay out of frame).")
    location: tuple[float, float, float] | None = spec_field(None, limits=(-1e5, 1e5), vector=True, unit="m",
                                                             doc="manual: camera position [x, y, z] "
                                                                 "in metres.")
    target: tuple[float, float, float] | None = spec_field(None, limits=(-1e5, 1e5), vector=True, unit="m",
                                                           doc="Point looked at [x, y, z]; auto: the "
                                                               "centre of the framed volume.")
    move: float = spec_field(0.06, limits=(0.0, 0.5),
                             doc="Slow push-in: start this fraction of the distance further back, end"
                                 " on the framed view (0: still).")

    def __post_init__(self):
        check_fields(self)
        if self.mode == "manual" and self.location is None:
            raise SpecError("location", "the manual camera needs a location",
                            "give location = [x, y, z] or use mode = \"auto\"")


@dataclass(frozen=True)
class LightSettings:
    """Sun, sky and ground: what makes the shot readable."""

    sun_strength: float = spec_field(4.0, limits=(0, 1000), unit="W/m^2",
                                     doc="Sun irradiance (Cycles/EEVEE).")
    sun_azimuth: float = spec_field(130.0, limits=(-360, 360), unit="degrees",
                                    doc="Direction the sunlight comes from, from the south towards "
                                        "the east.")
    sun_elevation: float = spec_field(40.0, limits=(1, 90), unit="degrees",
                                      doc="Sun height above the horizon.")
    sun_angle: float = spec_field(3.0, limits=(0, 90), unit="degrees",
                                  doc="Angular diameter of the sun (shadow softness).")
    sky_color: tuple[float, float, float] = spec_field((0.62, 0.72, 0.86), limits=(0, 100), vector="[r, g, b]",
                                                       doc="Sky colour (linear RGB).")
    sky_strength: float = spec_field(1.0, limits=(0, 1000), doc="Sky brightness.")
    shadows: bool = spec_field(True,
                               doc="Workbench: cast shadows from the sun (Cycles and EEVEE always "
                                   "do); see docs/look.md for the cost.")
    ground: bool = spec_field(True, doc="Add a visible ground plane under the building.")
    ground_color: tuple[float, float, float] = spec_field((0.30, 0.29, 0.27), limits=(0, 1), vector="[r, g, b]",
                                                          doc="Ground colour (linear RGB).")

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class RenderSettings:
    """Render engine, quality and the image files written per frame."""

    engine: str = spec_field("WORKBENCH", choices=ENGINES,
                             doc="WORKBENCH (fast previews), CYCLES (path traced) or EEVEE (needs a "
                                 "GPU to be fast).")
    device: str = spec_field("AUTO", choices=DEVICES,
                             doc="Cycles device: AUTO (a GPU if one works, else CPU), CPU or GPU (an "
                                 "error when none is present).")
    samples: int = spec_field(16, limits=(1, 65536),
                              doc="Samples per pixel (Cycles, EEVEE); Workbench anti-aliasing samples"
                                  " are derived from it.")
    denoise: bool = spec_field(False, doc="Denoise Cycles renders (OpenImageDenoise on CPU).")
    resolution: tuple[int, int] = spec_field((1280, 720), limits=(4, 16384), vector="[width, height]",
                                             doc="Image size [width, height] in pixels.")
    resolution_percentage: int = spec_field(100, limits=(1, 100), unit="%",
                                            doc="Scale of the resolution (quick drafts).")
    file_format: str = spec_field("PNG", choices=FILE_FORMATS,
                                  doc="PNG (8-bit RGB) or OPEN_EXR_MULTILAYER (half float, all "
                                      "passes).")
    padding: int = spec_field(4, limits=(1, 8), doc="Digits in frame file names (0001.png).")
    frames: str = spec_field("",
                             doc="Frames to render, e.g. \"1-48\" or \"1,5,9\"; empty: the simulation's "
                                 "whole range. --frames overrides it.")
    threads: int = spec_field(0, limits=(0, 1024),
                              doc="Render threads; 0: all cores. --threads overrides it.")
    film_transparent: bool = spec_field(False, doc="Transparent background instead of the sky.")
    gpu_backend: str = spec_field("AUTO", choices=("AUTO", "OPTIX", "CUDA", "HIP", "ONEAPI", "METAL"),
                                  doc="Cycles GPU backend for device GPU/AUTO: AUTO (the first that "
                                      "works: OPTIX, CUDA, HIP, ONEAPI, METAL) or one of them.")
    kernel_cache: str = spec_field("",
                                   doc="Folder for compiled GPU kernels (CUDA/OptiX caches), e.g. on "
                                       "a share all farm nodes see; relative to the scene file; "
                                       "empty: the driver's default.")
    frame_timeout: float = spec_field(0.0, limits=(0, 604800), unit="s",
                                      doc="Seconds one frame may take before the render counts as "
                                          "stalled (exit 4); 0: no limit.")

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

    directory: str = spec_field("out",
                                doc="Output root; the shot goes to <directory>/<scene>/<seed>/. "
                                    "Relative to the scene file and inside its folder (else --out DIR"
                                    " or --allow-outside). --out overrides it.")
    preview: bool = spec_field(True, doc="finalize: write preview.mp4 (H.264, yuv420p).")
    contact_sheet: bool = spec_field(True, doc="finalize: write contact.png, a grid of frames.")
    contact_frames: int = spec_field(12, limits=(1, 100), doc="Frames shown on the contact sheet.")
    contact_columns: int = spec_field(4, limits=(1, 20), doc="Columns of the contact sheet.")
    contact_width: int = spec_field(320, limits=(16, 2048), unit="px",
                                    doc="Width of one contact-sheet tile.")
    alembic: bool = spec_field(True, doc="bake: export the baked animation to cache/collapse.abc.")
    usd: bool = spec_field(False, doc="bake: export the baked animation to cache/collapse.usdc.")

    def __post_init__(self):
        check_fields(self)


@dataclass(frozen=True)
class FxSettings:
    """Rubble and dust emitted where and when bonds break (read from the break events)."""

    quality: str = spec_field("medium", choices=("off", "low", "medium", "high"),
                              doc="Rubble and dust amount, the cost knob (docs/look.md).")
    rubble: bool = spec_field(True,
                              doc="Emit rubble at breaks (concrete, masonry, glass, timber; not "
                                  "steel).")
    dust: bool = spec_field(True,
                            doc="Emit dust at breaks of concrete and masonry (not steel or glass).")
    rubble_size: float = spec_field(0.25, limits=(0.005, 2), unit="m",
                                    doc="Typical rubble fragment size.")
    dust_size: float = spec_field(2.0, limits=(0.01, 20.0), unit="m",
                                  doc="Radius a dust puff grows to.")
    dust_color: tuple[float, float, float] = spec_field((0.5, 0.46, 0.4), limits=(0, 1), vector="[r, g, b]",
                                                        doc="Dust colour.")
    rough_rms: float = spec_field(0.03, limits=(0.0, 0.5), unit="m",
                                  doc="Rough breaks (render only, docs/look.md): RMS of concrete cut "
                                      "faces off their plane; 0: flat.")
    rebar: bool = spec_field(True, doc="Rebar ends where reinforced-concrete bonds broke (render only).")

    def __post_init__(self):
        check_fields(self)


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

    seed: int = spec_field(0, limits=(0, 2**63 - 1), integer=True, doc=SEED_DOC, hint="e.g. seed = 1")
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
        check_fields(self)  # the seed (the sections are checked by their own classes)
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
    """The material table of a shot: the presets with the scene's overrides applied (each checked
    against ``Material``'s field table). A new dict: the presets themselves never change, so two
    shots with different overrides can be built at once (the table travels as a value)."""
    result = dict(MATERIALS)
    allowed = [f.name for f in fields(Material) if f.name != "name"]
    for name, values in overrides.items():
        if name not in MATERIALS:
            raise _unknown(path, "materials", name, list(MATERIALS), what="material")
        if not isinstance(values, dict):
            raise SceneError(path, f"materials.{name}", "must be a table of overrides",
                             f"write [materials.{name}] with keys like density = 2400")
        for key in values:
            if key not in allowed:
                raise _unknown(path, f"materials.{name}", key, allowed)
        changes = {k: _number_or_list(v) for k, v in values.items()}
        try:
            result[name] = dataclasses.replace(result[name], **changes)
        except SpecError as exc:
            raise SceneError(path, f"materials.{name}.{exc.field}", exc.problem, exc.fix) from None
    return result


def _number_or_list(value):
    """A material override as the Material field holds it: floats, lists as tuples of floats."""
    if isinstance(value, list | tuple):
        return tuple(_number_or_list(v) for v in value)
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


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
        if isinstance(value, int | float) and not isinstance(value, bool):
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
