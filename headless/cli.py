"""The ``collapse`` command line: scene files in, a finished, resumable image sequence out.

Thin over ``collapse_addon.api`` (the add-on calls the same functions). Each command is one farm
task: it writes its own log under ``<shot>/logs/``, prints Blender-style progress lines
(``Fra:``, ``Saved: '<path>'``, ``Time:``) and exits with a documented code.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import click

from collapse_addon.core.errors import CollapseError, SpecError
from headless.tasklog import hold_render_threads

EXIT_OK, EXIT_FRAME_FAILED, EXIT_SCENE_ERROR, EXIT_MISSING_INPUT, EXIT_DEVICE = 0, 1, 2, 3, 4

EXIT_CODES_HELP = """\b
Exit codes:
  0  done
  1  a frame (or a stage) failed
  2  usage or scene-file error (the message names the file, the key and the fix)
  3  missing input (e.g. render before bake)
  4  out of memory or render-device failure
  130/143  interrupted by SIGINT/SIGTERM (finished frames kept; rerun resumes)
"""

OUT_HELP = "Output root (default: the scene's output.directory, else 'out')."
SEED_HELP = "Seed of the shot (overrides the scene's seed); output goes to <out>/<scene>/<seed>/."


class StageFailed(Exception):
    """Carry an exit code out of a stage."""

    def __init__(self, code: int, message: str):
        self.code = code
        super().__init__(message)


# ------------------------------------------------------------------------------------------ helpers


def _load(scene: Path, seed: int | None):
    from collapse_addon.core.settings import load_scene

    settings = load_scene(Path(scene))
    if seed is not None:
        settings = settings.with_seed(seed)
    return settings


def _paths(scene: Path, settings, out: Path | None):
    from collapse_addon.api import ShotPaths

    root = Path(out) if out is not None else Path(settings.output.directory)
    return ShotPaths.for_shot(Path(scene).stem, settings.seed, root.resolve())


def _classify(exc: BaseException) -> int:
    from collapse_addon.api import MissingInputError

    if isinstance(exc, MissingInputError):
        return EXIT_MISSING_INPUT
    if isinstance(exc, MemoryError):
        return EXIT_DEVICE
    name = type(exc).__name__
    if name == "RenderDeviceError":
        return EXIT_DEVICE
    if name == "FrameRenderError":
        return EXIT_FRAME_FAILED
    if isinstance(exc, SpecError):
        return EXIT_SCENE_ERROR
    if isinstance(exc, CollapseError):
        # Meshes that cannot be fractured are input errors; anything else is a failed stage.
        return EXIT_SCENE_ERROR if name == "MeshError" else EXIT_FRAME_FAILED
    if isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower():
        return EXIT_DEVICE
    return EXIT_FRAME_FAILED


def _record_stage(paths, stage: str, seconds: float, extra: dict | None = None) -> None:
    from collapse_addon.blender.render import write_json_atomic

    record = {"seconds": round(seconds, 3), "host": socket.gethostname(),
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(extra or {})}
    write_json_atomic(paths.stages / f"{stage}.json", record)


class Task:
    """One command's run: its log, its errors mapped to exit codes, its stage timing."""

    def __init__(self, name: str, scene: Path, out: Path | None, seed: int | None,
                 log_suffix: str = ""):
        from headless.tasklog import TaskLog, set_active_log

        self.name = name
        try:
            self.settings = _load(scene, seed)
        except SpecError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(EXIT_SCENE_ERROR)
        self.scene = Path(scene)
        self.paths = _paths(scene, self.settings, out)
        self.log = TaskLog(self.paths.logs / f"{name}{log_suffix}.log")
        set_active_log(self.log)

    def run(self, stage: str, fn, *args, **kwargs):
        self.log(f"== {stage}: {self.scene.name} seed {self.settings.seed} -> {self.paths.root}")
        start = time.perf_counter()
        try:
            with self.log.blender_output():
                result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a documented exit code
            code = _classify(exc)
            self.log.error(f"error: {stage}: {exc}")
            if code == EXIT_FRAME_FAILED and not isinstance(exc, CollapseError):
                import traceback

                self.log.error(traceback.format_exc())
            raise StageFailed(code, str(exc)) from None
        seconds = time.perf_counter() - start
        self.log(f"== {stage} done in {seconds:.2f} s")
        return result, seconds

    def finish(self, code: int = EXIT_OK):
        from headless.tasklog import set_active_log

        set_active_log(None)
        self.log.close()
        sys.exit(code)


def _guard(task: Task, body):
    try:
        body()
    except StageFailed as exc:
        task.finish(exc.code)
    task.finish(EXIT_OK)


# ------------------------------------------------------------------------------------------ stages


def _build(task: Task) -> dict:
    from collapse_addon import api

    info, seconds = task.run("build", api.build_stage, task.settings, task.paths, task.log)
    _record_stage(task.paths, "build", seconds, info)
    return info


def _bake(task: Task) -> dict:
    from collapse_addon import api

    before = task.paths.report.stat().st_mtime_ns if task.paths.report.exists() else None
    report, seconds = task.run("bake", api.bake_stage, task.settings, task.paths, task.log)
    if task.paths.report.stat().st_mtime_ns != before:  # baked now (not already done)
        _record_stage(task.paths, "bake", seconds)
    return report


def _render(task: Task, frames_spec: str | None, chunk: str | None, threads: int | None):
    from collapse_addon import api
    from collapse_addon.blender.render import temp_dir_for
    from collapse_addon.core.settings import chunk_frames
    from headless.tasklog import remove_dir_on_signal

    try:
        frames = task.settings.frame_list(frames_spec)
        if chunk:
            frames = chunk_frames(frames, chunk)
    except SpecError as exc:
        task.log.error(f"error: {exc}")
        raise StageFailed(EXIT_SCENE_ERROR, str(exc)) from None
    remove_dir_on_signal(temp_dir_for(task.paths.frames))
    (records, skipped), seconds = task.run("render", api.render_stage, task.settings, task.paths,
                                           frames, threads=threads, log=task.log)
    rendered = len(records)
    rate = f"; {rendered / seconds * 60:.1f} frames/min" if seconds > 0 and rendered else ""
    task.log(f"Rendered {rendered} frame(s), skipped {len(skipped)} finished{rate}")
    _record_stage(task.paths, f"render{'-' + chunk.replace('/', 'of') if chunk else ''}", seconds,
                  {"frames": len(frames), "rendered": rendered, "skipped": len(skipped)})
    return records, skipped, seconds


def _finalize(task: Task, frames: str | None = None) -> dict:
    manifest, seconds = task.run("finalize", finalize_stage, task.settings, task.paths, task.scene,
                                 task.log, frames)
    _record_stage(task.paths, "finalize", seconds)
    return manifest


def finalize_stage(settings, paths, scene_file: Path, log, frames: str | None = None) -> dict:
    """Preview MP4, contact sheet and manifest.json of a rendered shot."""
    from collapse_addon import api

    return api.finalize_stage(settings, paths, scene_file, log=log, frames=frames,
                              tool={"name": "collapse", "version": _version(),
                                    "command": " ".join(sys.argv)})


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("collapse")
    except Exception:  # noqa: BLE001 - not installed as a package: running from a checkout
        return "0+checkout"


# ------------------------------------------------------------------------------------------ commands


class LazyGroup(click.Group):
    """A click group whose contributed commands are imported on first use."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, tuple[str, str]] = {}

    def add_lazy_command(self, name: str, module: str, attribute: str) -> None:
        self.lazy[name] = (module, attribute)

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx, name):
        if name in self.lazy and name not in self.commands:
            import importlib

            module, attribute = self.lazy[name]
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, epilog=EXIT_CODES_HELP)
@click.version_option(_version(), prog_name="collapse")
def cli():
    """Collapse: procedural building destruction for Blender, headless.

    A shot goes through build -> bake -> render -> finalize; `run` does all four. Every stage
    reads the same scene file (TOML, see docs/scene-reference.md) and writes into
    <out>/<scene>/<seed>/.
    """


scene_arg = click.argument("scene", type=click.Path(exists=True, dir_okay=False, path_type=Path))
out_opt = click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
                       help=OUT_HELP)
seed_opt = click.option("--seed", type=click.IntRange(0), default=None, help=SEED_HELP)
frames_opt = click.option("--frames", default=None, metavar="1-48|1,5,9",
                          help="Frames to render (default: the scene's render.frames, else all).")
chunk_opt = click.option("--chunk", default=None, metavar="N/M",
                         help="Render only chunk N of M contiguous chunks of the frames.")
threads_opt = click.option("--threads", type=click.IntRange(0), default=None,
                           help="Render threads (0: all cores; default: the scene's render.threads).")


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@seed_opt
@frames_opt
@threads_opt
def run(scene, out, seed, frames, threads):
    """Build, bake, render and finalize SCENE: the whole shot, resuming finished frames."""
    hold_render_threads(threads)
    task = Task("run", scene, out, seed)
    summary = {}

    def body():
        from collapse_addon import api

        total = time.perf_counter()
        state, _ = task.run("resume check", api.shot_state, task.settings, task.paths)
        if state in ("missing", "stale"):
            info = _build(task)
            summary["build"] = task_stage_seconds(task, "build")
        else:
            task.log(f"Already built from these settings: {task.paths.blend}")
            info = _stage_info(task, "build")
            summary["build"] = 0.0
        bake_start = time.perf_counter()
        report = _bake(task)
        summary["bake"] = time.perf_counter() - bake_start
        records, skipped, seconds = _render(task, frames, None, threads)
        summary["render"] = seconds
        _finalize(task, frames)
        summary["finalize"] = task_stage_seconds(task, "finalize")
        _summary(task, info, report, records, skipped, summary, time.perf_counter() - total)

    _guard(task, body)


def _stage_info(task: Task, stage: str) -> dict:
    try:
        return task.paths.stage_records()[stage]
    except (OSError, ValueError, KeyError):
        return {}


def task_stage_seconds(task: Task, stage: str) -> float:
    try:
        return task.paths.stage_records()[stage]["seconds"]
    except (OSError, ValueError, KeyError):
        return 0.0


def _summary(task, info, report, records, skipped, stages, total) -> None:
    log = task.log
    log("")
    log(f"Shot {task.scene.stem} seed {task.settings.seed}: {info.get('shards', '?')} shards, "
        f"{task.settings.simulation.frame_count} frames simulated")
    for stage, seconds in stages.items():
        log(f"  {stage:<9} {seconds:8.2f} s")
    log(f"  {'total':<9} {total:8.2f} s")
    if records:
        render_time = sum(r.seconds for r in records)
        log(f"  {len(records)} frames rendered at {len(records) / max(render_time, 1e-9) * 60:.1f} "
            f"frames/min ({len(skipped)} already finished)")
    p = task.paths
    log(f"Files in {p.root}:")
    for label, path in (("frames", p.frames), ("preview", p.preview), ("contact sheet", p.contact),
                        ("report", p.report), ("manifest", p.manifest), ("scene", p.blend),
                        ("logs", p.logs)):
        log(f"  {label:<14} {path}")


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@seed_opt
def build(scene, out, seed):
    """Fracture the building and build the rigid-body scene into <shot>/scene.blend."""
    task = Task("build", scene, out, seed)
    _guard(task, lambda: _build(task))


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@seed_opt
def bake(scene, out, seed):
    """Bake the simulation of a built shot; write report.json and cache/ (Alembic/USD)."""
    task = Task("bake", scene, out, seed)
    _guard(task, lambda: _bake(task))


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@seed_opt
@frames_opt
@chunk_opt
@threads_opt
def render(scene, out, seed, frames, chunk, threads):
    """Render frames of the baked shot (never simulates); skips frames already finished.

    Each frame is written under a temporary name and renamed into place, so a killed render
    leaves no broken frame and a rerun renders only what is missing.
    """
    hold_render_threads(threads)
    suffix = f"-{chunk.replace('/', 'of')}" if chunk else (f"-{frames}" if frames else "")
    suffix = "".join(c if c.isalnum() or c in "-_" else "_" for c in suffix)
    task = Task("render", scene, out, seed, log_suffix=suffix)
    _guard(task, lambda: _render(task, frames, chunk, threads))


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@seed_opt
@frames_opt
def finalize(scene, out, seed, frames):
    """Write preview.mp4 (H.264, yuv420p), contact.png and manifest.json of a rendered shot."""
    task = Task("finalize", scene, out, seed)
    _guard(task, lambda: _finalize(task, frames))


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
def check(scene):
    """Validate SCENE and print the settings it resolves to (no Blender needed)."""
    from collapse_addon.core.settings import dump_scene, load_scene

    try:
        settings = load_scene(scene)
    except SpecError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_SCENE_ERROR)
    click.echo(dump_scene(settings, full=True, header=f"{scene} resolves to:"), nl=False)


@cli.command()
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if the file is out of date.")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(__file__).resolve().parents[1] / "docs" / "scene-reference.md")
def reference(check_only, path):
    """Write the scene-file reference (docs/scene-reference.md) from the settings classes."""
    from collapse_addon.core.settings import reference_markdown

    text = reference_markdown()
    if check_only:
        same = path.exists() and path.read_text() == text
        click.echo(f"{path}: {'up to date' if same else 'OUT OF DATE (run collapse reference)'}")
        sys.exit(0 if same else 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    click.echo(f"Saved: '{path}'")


def _register_optional_groups() -> None:
    """Commands other modules contribute (benchmark, farm), imported only when used: they pull in
    heavy packages (and threads) that must not start before the signal mask is set."""
    here = Path(__file__).parent
    if (here / "bench" / "cli.py").exists():
        cli.add_lazy_command("bench", "headless.bench.cli", "bench")
    if (here / "farm" / "cli.py").exists():
        cli.add_lazy_command("farm", "headless.farm.cli", "farm")


_register_optional_groups()


def main(argv: list[str] | None = None) -> int:
    """Entry point: signals handled and faulthandler on before Blender loads, then the commands."""
    from headless.tasklog import install_signal_handling

    install_signal_handling()
    os.environ.setdefault("PYTHONFAULTHANDLER", "1")
    try:
        cli.main(args=argv, prog_name="collapse", standalone_mode=True)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
