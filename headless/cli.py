"""The ``collapse`` command line."""

from __future__ import annotations

import sys
import time
import tomllib
from pathlib import Path

import click

from collapse_addon.core.building import BuildingSpec, generate_building
from collapse_addon.core.errors import CollapseError
from collapse_addon.core.fracture import fracture_building
from collapse_addon.core.seeds import FractureSpec


@click.group()
def main():
    """Collapse: procedural building destruction for Blender."""


@main.command()
@click.argument("scene", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def run(scene: Path):
    """Fracture the building of SCENE and print a summary."""
    try:
        data = tomllib.loads(scene.read_text())
        building = generate_building(BuildingSpec(**data.get("building", {})))
        t = time.perf_counter()
        shards = fracture_building(building, FractureSpec(**data.get("fracture", {})))
        dt = time.perf_counter() - t
    except CollapseError as exc:
        click.echo(f"error: {scene}: {exc}", err=True)
        sys.exit(2)
    click.echo(f"{scene.name}: {len(building.elements)} elements, {shards.count} shards, "
               f"{shards.contacts.count} contacts, volume {shards.volume.sum():.3f} m^3, "
               f"fractured in {dt:.2f} s")
