"""Batch mode: many shots of one scene -- a list of seeds and/or parameter variations -- in one job.

Each variation becomes a scene file of its own (written under ``<out>/batch-scenes/``, named after
the variation so its shot lands in ``<out>/<scene>-<key>-<value>/<seed>/``); each seed is passed as
``--seed``. All shots go into one Dask task graph (bake, render chunks, finalize per shot), so shots
bake and render in parallel, with one progress display for the whole batch.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from collapse_addon.core.errors import SpecError

from .commands import Shot, resolve_shot


@dataclass(frozen=True)
class Variation:
    """One scene key and the values it takes across the batch, e.g. ``fracture.cell_count``."""

    key: str
    values: tuple


def parse_variation(text: str) -> Variation:
    """Read ``section.key=v1,v2,...``; values are TOML values (numbers, true/false, "strings")."""
    if "=" not in text:
        raise SpecError("--vary", f"cannot read {text!r}",
                        "write SECTION.KEY=V1,V2, e.g. fracture.cell_count=300,600")
    key, _, values_text = text.partition("=")
    key = key.strip()
    if not re.fullmatch(r"[a-z_]+(\.[a-z_0-9]+)+|seed", key):
        raise SpecError("--vary", f"{key!r} is not a dotted scene key",
                        "write SECTION.KEY, e.g. fracture.cell_count (see the scene reference)")
    try:
        values = tomllib.loads(f"v = [{values_text}]")["v"]
    except tomllib.TOMLDecodeError:
        # Bare words (engine names, material presets) are strings.
        values = [v.strip() for v in values_text.split(",")]
    if not values:
        raise SpecError("--vary", f"{key} has no values", f"write {key}=V1,V2")
    return Variation(key, tuple(values))


def _slug(value) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", str(value).lower()).strip("_")


def _set_key(data: dict, dotted: str, value) -> None:
    *sections, leaf = dotted.split(".")
    table = data
    for name in sections:
        table = table.setdefault(name, {})
        if not isinstance(table, dict):
            raise SpecError("--vary", f"{dotted}: {name} is not a section", "vary a key of a section")
    table[leaf] = value


def write_variant_scenes(scene: str | Path, out: str | Path,
                         variations: list[Variation]) -> list[Path]:
    """One validated scene file per combination of the variations' values (the scene itself if none).

    Every variant is checked by the scene loader before it is written, so a bad key or value fails
    here, naming the key, before anything runs.
    """
    from collapse_addon.core.settings import dump_scene, settings_from_dict

    scene = Path(scene)
    if not variations:
        return [scene]
    folder = Path(out) / "batch-scenes"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for combo in itertools.product(*(v.values for v in variations)):
        data = tomllib.loads(scene.read_text(encoding="utf-8"))
        name_parts = [scene.stem]
        for variation, value in zip(variations, combo, strict=True):
            _set_key(data, variation.key, value)
            name_parts.append(f"{variation.key.rpartition('.')[2]}-{_slug(value)}")
        mesh = data.get("mesh")
        if isinstance(mesh, dict) and mesh.get("path") and not Path(mesh["path"]).is_absolute():
            # The variant lives elsewhere: keep the mesh path pointing where the scene meant.
            mesh["path"] = str((scene.parent / mesh["path"]).resolve())
        settings = settings_from_dict(data, f"{scene} with --vary")
        path = folder / ("-".join(name_parts) + ".toml")
        header = (f"Batch variant of {scene.name}: "
                  + ", ".join(f"{v.key} = {c!r}" for v, c in zip(variations, combo, strict=True)))
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_text(dump_scene(settings, header=header), encoding="utf-8")
        temp.replace(path)
        paths.append(path)
    return paths


def batch_shots(scene: str | Path, out: str | Path | None, seeds: list[int] | None,
                variations: list[Variation], frames: str | None = None
                ) -> list[tuple[Shot, list[int]]]:
    """Every shot of the batch with its frames: each variant scene times each seed."""
    out_root = Path(out) if out is not None else resolve_shot(scene)[0].out
    shots = []
    for variant in write_variant_scenes(scene, out_root, variations):
        for seed in seeds or [None]:
            shots.append(resolve_shot(variant, out_root, seed, frames))
    folders = [shot.folder for shot, _ in shots]
    if len(set(folders)) != len(folders):
        raise SpecError("--seeds", "two shots of the batch would share an output folder",
                        "give each seed once")
    return shots
