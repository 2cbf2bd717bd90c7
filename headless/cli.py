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

from collapse_addon.core.errors import (
    EXIT_DEVICE,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_SCENE_ERROR,
    CollapseError,
    DiskFullError,
    OutputError,
    SpecError,
    exit_code_for,
    is_disk_full,
    shorten,
)
from headless.field_options import FieldOption
from headless.tasklog import hold_render_threads

EXIT_FRAME_FAILED = EXIT_FAILED  # the name the farm code and older callers use

EXIT_CODES_HELP = """\b
Exit codes:
  0  done
  1  a frame or a stage failed, a stage crashed (run: the stage and its log are named), or the
     disk is full (nothing half-written is kept; free space and rerun)
  2  usage, scene-file or output-folder error (the message names the file, the key and the fix)
  3  missing input (e.g. render before bake)
  4  out of memory or render-device failure (also a render stalled past render.frame_timeout)
  130/143  interrupted by SIGINT/SIGTERM (finished frames kept; rerun resumes)
"""

OUT_HELP = ("Output root (default: the scene's output.directory, relative to the scene file).")
SEED_HELP = "Seed of the shot (overrides the scene's seed); output goes to <out>/<scene>/<seed>/."
ALLOW_HELP = ("Let the scene's output.directory be absolute or lead out of the scene file's "
              "folder.")


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


def _paths(scene: Path, settings, out: Path | None, allow_outside: bool = False):
    from collapse_addon.api import ShotPaths
    from collapse_addon.core.shotfolder import output_root

    root = output_root(Path(scene), settings.output.directory, out, allow_outside)
    return ShotPaths.for_shot(Path(scene).stem, settings.seed, root)


def _classify(exc: BaseException) -> int:
    """The exit code of an exception: the table in ``collapse_addon.core.errors``."""
    return exit_code_for(exc)


def _one_line(stage: str, exc: BaseException, root: Path | None = None) -> str:
    """The error line of a failed stage (never a traceback; long values cut)."""
    if is_disk_full(exc) and not isinstance(exc, DiskFullError):
        where = getattr(exc, "filename", None) or root or "the output folder"
        return (f"error: {stage}: disk full writing {shorten(str(where), 200)} (free space and "
                "run the same command again; finished outputs are kept, nothing half-written is)")
    return f"error: {stage}: {shorten(str(exc) or type(exc).__name__)}"


def _make_shot_folder(root: Path) -> None:
    """Create the shot folder, turning every way it can fail into one OutputError/DiskFullError."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        probe = root / f".write-test.{os.getpid()}.tmp"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(f"--out: disk full creating {root} (free space and rerun)") from None
        raise OutputError(f"--out: cannot write the shot folder {shorten(str(root), 200)}: "
                          f"{exc.strerror or exc} (give a writable folder with --out DIR)") from None


def _fail_early(exc: BaseException, stage: str = "output", root: Path | None = None) -> None:
    """Report an error found before the task's log exists: one line, the error's exit code."""
    if isinstance(exc, OSError) and not isinstance(exc, CollapseError):
        line = _one_line(stage, exc, root)
        code = EXIT_FAILED if is_disk_full(exc) else EXIT_SCENE_ERROR
    else:
        line, code = f"error: {shorten(str(exc), 600)}", exit_code_for(exc)
    click.echo(line, err=True)
    sys.exit(code)


def _frames(settings, frames_spec: str | None, chunk: str | None) -> list[int]:
    from collapse_addon.core.settings import chunk_frames

    frames = settings.frame_list(frames_spec)
    return chunk_frames(frames, chunk) if chunk else frames


def _injected_crash(stage: str) -> None:
    """Tests make a stage crash like Blender does: COLLAPSE_TEST_CRASH=<stage> sends it SIGSEGV."""
    if os.environ.get("COLLAPSE_TEST_CRASH") == stage:
        import faulthandler
        import signal

        faulthandler.disable()  # die of the signal itself, as Blender's crashes do
        os.kill(os.getpid(), signal.SIGSEGV)


def _record_stage(paths, stage: str, seconds: float, extra: dict | None = None) -> None:
    from collapse_addon.core.outputs import write_json_atomic

    record = {"seconds": round(seconds, 3), "host": socket.gethostname(),
              "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(extra or {})}
    write_json_atomic(paths.stages / f"{stage}.json", record)


class Task:
    """One command's run: its log, its errors mapped to exit codes, its stage timing."""

    def __init__(self, name: str, scene: Path, out: Path | None, seed: int | None,
                 log_suffix: str = "", allow_outside: bool = False, frames: str | None = None,
                 chunk: str | None = None):
        from collapse_addon.core.shotfolder import claim_shot_folder, remove_stale_temporaries
        from headless.tasklog import TaskLog, set_active_log

        self.name = name
        self.scene = Path(scene)
        try:
            self.settings = _load(scene, seed)
            self.frames = _frames(self.settings, frames, chunk)  # checked before writing anything
            self.paths = _paths(scene, self.settings, out, allow_outside)
            _make_shot_folder(self.paths.root)
            claim_shot_folder(self.paths.root, self.scene, self.paths.frames)
        except (CollapseError, OSError, RecursionError) as exc:
            paths = getattr(self, "paths", None)
            _fail_early(exc, name, paths.root if paths is not None else None)
        self.log = TaskLog(self.paths.logs / f"{name}{log_suffix}.log")
        set_active_log(self.log)
        for folder in (self.paths.root, self.paths.cache):  # what killed runs left half-written
            remove_stale_temporaries(folder, self.log)

    def run(self, stage: str, fn, *args, **kwargs):
        self.log(f"== {stage}: {self.scene.name} seed {self.settings.seed} -> {self.paths.root}")
        _injected_crash(stage)
        start = time.perf_counter()
        try:
            with self.log.blender_output():
                result = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a documented exit code
            code = _classify(exc)
            self.log.error(_one_line(stage, exc, self.paths.root))
            if not isinstance(exc, CollapseError) and not is_disk_full(exc):
                import traceback

                self.log.file_only(traceback.format_exc())
            raise StageFailed(code, str(exc)) from None
        seconds = time.perf_counter() - start
        self.log(f"== {stage} done in {seconds:.2f} s")
        return result, seconds

    def finish(self, code: int = EXIT_OK):
        """Close the log and exit with ``code``.

        When Blender was loaded, the process leaves with ``os._exit`` once everything is flushed:
        bpy's own teardown at interpreter exit crashed (exit 139) after complete bakes and
        renders, and there is nothing left for it to do (every output is already renamed into
        place and verified).
        """
        from headless.tasklog import set_active_log

        set_active_log(None)
        self.log.close()
        if "bpy" in sys.modules:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        sys.exit(code)


def _guard(task: Task, body):
    try:
        body()
    except StageFailed as exc:
        task.finish(exc.code)
    except Exception as exc:  # noqa: BLE001 - e.g. a full disk while recording a stage
        task.log.error(_one_line(task.name, exc, task.paths.root))
        import traceback

        task.log.file_only(traceback.format_exc())
        task.finish(_classify(exc))
    task.finish(EXIT_OK)


# ------------------------------------------------------------------------------------------ stages


def _build(task: Task) -> dict:
    from collapse_addon import api

    info, seconds = task.run("build", api.build_stage, task.settings, task.paths, task.log)
    _record_stage(task.paths, "build", seconds,
                  {**info, "sim_key": api.settings_key(task.settings, api.SIM_SECTIONS)})
    return info


def _bake(task: Task) -> dict:
    from collapse_addon import api

    before = task.paths.report.stat().st_mtime_ns if task.paths.report.exists() else None
    report, seconds = task.run("bake", api.bake_stage, task.settings, task.paths, task.log)
    if task.paths.report.stat().st_mtime_ns != before:  # baked now (not already done)
        _record_stage(task.paths, "bake", seconds)
    return report


def _render(task: Task, frames_spec: str | None, chunk: str | None, threads: int | None):
    from headless import gpu

    cache = gpu.kernel_cache_folder(task.scene, task.settings.render.kernel_cache)
    gpu.use_kernel_cache(cache)  # before Blender starts a device

    from collapse_addon import api
    from collapse_addon.core.outputs import temp_dir_for
    from headless.tasklog import remove_dir_on_signal

    frames = task.frames
    remove_dir_on_signal(temp_dir_for(task.paths.frames))
    timeout = task.settings.render.frame_timeout
    watchdog = gpu.FrameWatchdog(timeout, lambda idle: _stalled(task, timeout, idle))
    progress = gpu.RenderProgress(task.log, watchdog, cache)
    watchdog.start()
    try:
        (records, skipped), seconds = task.run("render", api.render_stage, task.settings,
                                               task.paths, frames, threads=threads, log=progress)
    finally:
        watchdog.stop()
    rendered = len(records)
    rate = f"; {rendered / seconds * 60:.1f} frames/min" if seconds > 0 and rendered else ""
    task.log(f"Rendered {rendered} frame(s), skipped {len(skipped)} finished{rate}")
    _record_stage(task.paths, f"render{'-' + chunk.replace('/', 'of') if chunk else ''}", seconds,
                  {"frames": len(frames), "rendered": rendered, "skipped": len(skipped)})
    return records, skipped, seconds


def _stalled(task: Task, timeout: float, idle: float) -> None:
    """The render made no progress for render.frame_timeout: a stalled device, exit 4 now
    (Blender's render loop cannot be interrupted from Python; finished frames are kept)."""
    from headless.tasklog import run_signal_cleanups

    task.log.error(f"error: render: the render device stalled: no frame progress for "
                   f"{idle:.1f} s (render.frame_timeout = {timeout:g} s); finished frames are "
                   "kept (check the GPU and its driver, or raise render.frame_timeout)")
    run_signal_cleanups()
    task.log.close()
    os._exit(EXIT_DEVICE)


def _finalize(task: Task, frames: str | None = None) -> dict:
    from headless.tasklog import remove_dir_on_signal

    # The preview is encoded in a private folder (see blender/finalize.encode_preview): a SIGTERM removes it.
    remove_dir_on_signal(task.paths.root / f".tmp-preview-{os.getpid()}")
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
frames_opt = click.option("--frames", cls=FieldOption, key="render.frames", default=None,
                          metavar="1-48|1,5,9")
chunk_opt = click.option("--chunk", default=None, metavar="N/M",
                         help="Render only chunk N of M contiguous chunks of the frames.")
allow_opt = click.option("--allow-outside", "allow_outside", is_flag=True, help=ALLOW_HELP)
threads_opt = click.option("--threads", cls=FieldOption, key="render.threads", type=int, default=None)


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@seed_opt
@frames_opt
@threads_opt
@allow_opt
def run(scene, out, seed, frames, threads, allow_outside):
    """Build, bake, render and finalize SCENE: the whole shot, resuming finished stages and frames.

    Each stage runs in its own process (as on a farm); a stage that crashes is named with its log.
    """
    hold_render_threads(threads)
    task = Task("run", scene, out, seed, allow_outside=allow_outside, frames=frames)

    def body():
        from collapse_addon import api
        from headless import stages

        total = time.perf_counter()
        summary = {}
        out_root = task.paths.root.parent.parent
        sim_key = api.settings_key(task.settings, api.SIM_SECTIONS)
        for stage in stages.STAGES:
            if stage == "build" and stages.built_from_these_settings(task.paths, sim_key):
                task.log(f"Already built from these settings: {task.paths.blend}")
                summary[stage] = 0.0
                continue
            argv = stages.stage_argv(stage, task.scene, out_root, task.settings.seed, frames,
                                     threads)
            try:
                summary[stage] = stages.run_stage(stage, argv, stages.stage_log(task.paths, stage),
                                                  task.log)
            except stages.StageExit as exc:
                raise StageFailed(exc.code, str(exc)) from None
            except CollapseError as exc:
                task.log.error(f"error: run: {shorten(str(exc), 1500)}")
                raise StageFailed(exc.exit_code, str(exc)) from None
        _summary(task, _stage_info(task, "build"), summary, time.perf_counter() - total)

    _guard(task, body)


def _stage_info(task: Task, stage: str) -> dict:
    try:
        return task.paths.stage_records()[stage]
    except (OSError, ValueError, KeyError):
        return {}


def _summary(task, info, stages, total) -> None:
    log = task.log
    log("")
    log(f"Shot {task.scene.stem} seed {task.settings.seed}: {info.get('shards', '?')} shards, "
        f"{task.settings.simulation.frame_count} frames simulated")
    for stage, seconds in stages.items():
        log(f"  {stage:<9} {seconds:8.2f} s")
    log(f"  {'total':<9} {total:8.2f} s")
    render = _stage_info(task, "render")
    if render.get("rendered"):
        log(f"  {render['rendered']} frames rendered at "
            f"{render['rendered'] / max(render['seconds'], 1e-9) * 60:.1f} frames/min "
            f"({render.get('skipped', 0)} already finished)")
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
@allow_opt
def build(scene, out, seed, allow_outside):
    """Fracture the building and build the rigid-body scene into <shot>/scene.blend."""
    task = Task("build", scene, out, seed, allow_outside=allow_outside)
    _guard(task, lambda: _build(task))


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@seed_opt
@allow_opt
def bake(scene, out, seed, allow_outside):
    """Bake the simulation of a built shot; write report.json and cache/ (Alembic/USD)."""
    task = Task("bake", scene, out, seed, allow_outside=allow_outside)
    _guard(task, lambda: _bake(task))


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@seed_opt
@frames_opt
@chunk_opt
@threads_opt
@allow_opt
def render(scene, out, seed, frames, chunk, threads, allow_outside):
    """Render frames of the baked shot (never simulates); skips frames already finished.

    Each frame is written under a temporary name and renamed into place, so a killed render
    leaves no broken frame and a rerun renders only what is missing.
    """
    hold_render_threads(threads)
    suffix = f"-{chunk.replace('/', 'of')}" if chunk else (f"-{frames}" if frames else "")
    suffix = "".join(c if c.isalnum() or c in "-_" else "_" for c in suffix)
    task = Task("render", scene, out, seed, log_suffix=suffix[:60], allow_outside=allow_outside,
                frames=frames, chunk=chunk)
    _guard(task, lambda: _render(task, frames, chunk, threads))


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@seed_opt
@frames_opt
@allow_opt
def finalize(scene, out, seed, frames, allow_outside):
    """Write preview.mp4 (H.264, yuv420p), contact.png and manifest.json of a rendered shot."""
    task = Task("finalize", scene, out, seed, allow_outside=allow_outside, frames=frames)
    _guard(task, lambda: _finalize(task, frames))


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
@out_opt
@allow_opt
def warmup(scene, out, allow_outside):
    """Render one tiny frame with SCENE's engine, device and GPU backend, so that a GPU's kernels
    are compiled (and kept in render.kernel_cache) before a farm job renders with them."""
    from headless import gpu

    task = Task("warmup", scene, out, None, allow_outside=allow_outside)
    _guard(task, lambda: task.run("warmup", gpu.warm_up, task.settings, task.scene, task.log))


@cli.command(epilog=EXIT_CODES_HELP)
@scene_arg
def check(scene):
    """Validate SCENE and print the settings it resolves to (no Blender needed)."""
    from collapse_addon.core.settings import SceneError, dump_scene, load_scene

    try:
        settings = load_scene(scene)
        mesh = Path(settings.mesh.path) if settings.uses_mesh else None
        if mesh is not None and not mesh.is_file():
            raise SceneError(scene, "mesh.path", f"{shorten(str(mesh), 200)} "
                             f"{'is a folder' if mesh.is_dir() else 'does not exist'}",
                             "give the path of a .obj, .city.json or .blend file")
    except (SpecError, RecursionError) as exc:
        _fail_early(exc)
    click.echo(dump_scene(settings, full=True, header=f"{scene} resolves to:"), nl=False)


@cli.command()
@click.option("--check", "check_only", is_flag=True, help="Exit 1 if the file is out of date.")
@click.option("--path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path(__file__).resolve().parents[1] / "docs" / "scene-reference.md")
def reference(check_only, path):
    """Write the scene-file reference (docs/scene-reference.md) from the settings classes."""
    from collapse_addon.core.scene_reference import reference_markdown

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
        result = cli.main(args=argv, prog_name="collapse", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except click.exceptions.UsageError as exc:  # one line, as every other error (no usage text)
        command = exc.ctx.command_path if exc.ctx is not None else "collapse"
        click.echo(f"error: {command}: {shorten(exc.format_message(), 600)} "
                   f"(see {command} --help)", err=True)
        return EXIT_SCENE_ERROR
    except click.exceptions.ClickException as exc:
        click.echo(f"error: {shorten(exc.format_message(), 600)}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except (CollapseError, RecursionError) as exc:
        click.echo(f"error: {shorten(str(exc), 600)}", err=True)
        return exit_code_for(exc)
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
