"""Render a small contact sheet of every preset in ``scenes/`` into ``docs/contact-sheets/``.

Run: ``.venv/bin/python tools/contact_sheets.py [--engine CYCLES] [--samples 8] [--width 320]
[--frames 8] [--out docs/contact-sheets] [scenes/hero.toml ...]``.

Each preset is built and baked as it is (its own shards, trigger and look, ``[fx]`` included),
then ``--frames`` evenly spaced frames are rendered cheaply (few Cycles samples at a small size,
or Workbench) and laid out on one labelled sheet ``<preset>.png``. The shots themselves go to a
temporary folder (``--keep DIR`` to keep them).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("BLENDER_USER_EXTENSIONS", tempfile.mkdtemp(prefix="collapse-ext-"))
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sheet_for(scene_file: Path, out_dir: Path, work: Path, args) -> Path:
    from collapse_addon import api
    from collapse_addon.blender import finalize
    from collapse_addon.blender import render as rnd
    from collapse_addon.core.settings import load_scene

    settings = load_scene(scene_file)
    width = args.width
    height = round(width * settings.render.resolution[1] / settings.render.resolution[0])
    render = dataclasses.replace(settings.render, engine=args.engine, samples=args.samples,
                                 resolution=(width, height), resolution_percentage=100,
                                 denoise=False, device="CPU", file_format="PNG")
    settings = dataclasses.replace(settings, render=render,
                                   output=dataclasses.replace(settings.output, alembic=False,
                                                              usd=False))
    paths = api.ShotPaths.for_shot(scene_file.stem, settings.seed, work)
    t = time.perf_counter()
    api.bake_stage(settings, paths, log=print)
    start, end = settings.frame_range()
    frames = sorted({round(start + i * (end - start) / max(1, args.frames - 1))
                     for i in range(args.frames)})
    api.render_stage(settings, paths, frames, log=lambda _line: None)
    files = [(f, rnd.frame_path(paths.frames, f, settings.render)) for f in frames]
    out = out_dir / f"{scene_file.stem}.png"
    finalize.write_contact_sheet(files, out, count=len(files), columns=4, tile_width=width)
    print(f"Saved: '{out}' ({len(files)} frames, {args.engine} {args.samples} samples, "
          f"{width}x{height}, {time.perf_counter() - t:.0f} s)", flush=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", nargs="*", type=Path, help="default: every scenes/*.toml")
    parser.add_argument("--engine", default="CYCLES", choices=("CYCLES", "WORKBENCH", "EEVEE"))
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "contact-sheets")
    parser.add_argument("--keep", type=Path, default=None, help="keep the shots in this folder")
    args = parser.parse_args(argv)
    scenes = args.scenes or sorted((ROOT / "scenes").glob("*.toml"))
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="collapse-sheets-"))
    try:
        for scene_file in scenes:
            sheet_for(scene_file, args.out, work, args)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
