"""An Open Job Description template (AWS Deadline Cloud's job format) for one Collapse shot.

Four steps, each a ``collapse`` command: ``Build`` and ``Bake`` (one task each), ``Render`` (one task per chunk of
frames, through OpenJD's TASK_CHUNKING extension: the scheduler hands each task a contiguous range
such as ``1-8`` for ``collapse render --frames``) and ``Finalize`` (one task, after every chunk).
The template is checked with ``openjd-model`` before it is written; ``openjd run`` runs it locally.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .frames import format_frames, parse_frames

SPEC_VERSION = "jobtemplate-2023-09"
EXTENSIONS = ["TASK_CHUNKING"]


def _action(*args: str) -> dict:
    return {"actions": {"onRun": {"command": "{{Param.CollapseCommand}}", "args": list(args)}}}


def _path_default(path: str | Path, template_dir: Path) -> dict:
    """A PATH parameter's default, which OpenJD allows only inside the template's folder."""
    relative = os.path.relpath(Path(path).resolve(), template_dir)
    if relative.split(os.sep)[0] == "..":
        return {}  # outside: the submitter passes it (-p SceneFile=... / -p OutDir=...)
    return {"default": relative}


def openjd_template(scene: str | Path, out: str | Path, frames: str, chunk_size: int,
                    threads: int | None = None, seed: int | None = None,
                    collapse_command: str = "collapse", template_dir: str | Path = ".") -> dict:
    """The job template of one shot, as a dict ready for YAML or JSON.

    ``scene``, ``out``, ``frames`` and ``chunk_size`` become job parameters with these defaults, so
    one template serves every shot of the scene. OpenJD joins default paths to the template's
    folder, so they are written relative to ``template_dir`` (where the template will be saved).
    ``threads`` and ``seed``, when given, are fixed in the commands.
    """
    template_dir = Path(template_dir).resolve()
    frames = format_frames(parse_frames(frames))
    shot_args = ["{{Param.SceneFile}}", "--out", "{{Param.OutDir}}"]
    if seed is not None:
        shot_args += ["--seed", str(seed)]
    render_args = ["render", *shot_args, "--frames", "{{Task.Param.Frame}}"]
    if threads is not None:
        render_args += ["--threads", str(threads)]
    # The job name is an OpenJD format string: scene-derived text goes in sanitised (no "{{").
    from collapse_addon.core.shotfolder import shot_folder_name

    stem = shot_folder_name(Path(scene).stem)
    return {
        "specificationVersion": SPEC_VERSION,
        "extensions": EXTENSIONS,
        "name": f"Collapse {stem}" + (f" seed {seed}" if seed is not None else ""),
        "description": f"Build, bake, render in chunks and finalize the Collapse scene {stem}.",
        "parameterDefinitions": [
            {"name": "SceneFile", "type": "PATH", "objectType": "FILE", "dataFlow": "IN",
             **_path_default(scene, template_dir), "description": "The Collapse scene (.toml)."},
            {"name": "OutDir", "type": "PATH", "objectType": "DIRECTORY", "dataFlow": "OUT",
             **_path_default(out, template_dir),
             "description": "Output root: the shot goes to OutDir/<scene>/<seed>/."},
            {"name": "Frames", "type": "STRING", "default": frames, "minLength": 1,
             "description": "Frames to render, e.g. 1-48 or 1,5,9."},
            {"name": "ChunkSize", "type": "INT", "default": chunk_size, "minValue": 1,
             "description": "Frames per render task (one Blender process each)."},
            {"name": "CollapseCommand", "type": "STRING", "default": collapse_command,
             "minLength": 1, "description": "How a worker host starts the collapse CLI."},
        ],
        "steps": [
            {"name": "Build", "script": _action("build", *shot_args)},
            {"name": "Bake", "dependencies": [{"dependsOn": "Build"}],
             "script": _action("bake", *shot_args)},
            {"name": "Render",
             "dependencies": [{"dependsOn": "Bake"}],
             "parameterSpace": {"taskParameterDefinitions": [
                 {"name": "Frame", "type": "CHUNK[INT]", "range": "{{Param.Frames}}",
                  "chunks": {"defaultTaskCount": "{{Param.ChunkSize}}",
                             "rangeConstraint": "CONTIGUOUS"}}]},
             "script": _action(*render_args)},
            {"name": "Finalize",
             "dependencies": [{"dependsOn": "Render"}],
             "script": _action("finalize", *shot_args)},
        ],
    }


def validate_template(template: dict) -> None:
    """Check ``template`` with openjd-model; raises its DecodeValidationError when invalid."""
    from openjd.model import decode_job_template

    decode_job_template(template=template, supported_extensions=EXTENSIONS)


def write_openjd_template(path: str | Path, template: dict) -> Path:
    """Validate ``template`` and write it to ``path`` (YAML for .yaml/.yml, else JSON), atomically."""
    import yaml

    validate_template(template)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(template, sort_keys=False, width=100)
    else:
        text = json.dumps(template, indent=2) + "\n"
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    temp.replace(path)
    return path
