"""``collapse farm``: the same CLI on many machines, through Dask, OpenJD and Flamenco.

Exit codes: 0 every task done and every frame present and whole; 1 a task failed or a frame is
missing or broken; 2 usage or scene error.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from collapse_addon.core.errors import EXIT_FAILED, EXIT_OK, EXIT_SCENE_ERROR, CollapseError
from headless.field_options import FieldOption

from .dask_farm import DEFAULT_RETRIES, FarmSummary, ProgressLine, open_client, plan_shot, run_tasks
from .frames import format_frames

DEFAULT_CHUNK_SIZE = 8

scene_argument = click.argument(
    "scene", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def _fail(message: str, code: int = EXIT_SCENE_ERROR):
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def engine_options(func):
    """Where the job runs (one of three) and how chunks are cut and retried."""
    options = [
        click.option("--workers", type=click.IntRange(1, 4096), default=None,
                     help="Start a LocalCluster of N worker processes (TCP) on this machine "
                          "[default when no engine is given: one per core]."),
        click.option("--scheduler", metavar="ADDRESS", default=None,
                     help="Use a running Dask scheduler, e.g. tcp://10.0.0.5:8786."),
        click.option("--jobqueue", "jobqueue_config", type=click.Path(exists=True, dir_okay=False,
                                                                      path_type=Path),
                     default=None, help="Start workers as SLURM/PBS/SGE jobs from this TOML "
                                        "(see headless/farm/jobqueue-example.toml)."),
        click.option("--chunk-size", type=click.IntRange(1, 100000), default=DEFAULT_CHUNK_SIZE,
                     show_default=True, help="Frames per render task (one Blender process)."),
        click.option("--threads", cls=FieldOption, key="render.threads", type=int, default=None),
        click.option("--retries", type=click.IntRange(0, 100), default=DEFAULT_RETRIES,
                     show_default=True, help="Reruns of a failed task, and lost workers a task "
                                             "may survive."),
        click.option("--frames", default=None, help="Frames, e.g. 1-48 or 1,5,9 [default: the "
                                                    "scene's]."),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Output root [default: the scene's output.directory]."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _engine(workers, scheduler, jobqueue_config) -> dict:
    if sum(x is not None for x in (workers, scheduler, jobqueue_config)) > 1:
        _fail("give one of --workers, --scheduler and --jobqueue")
    if scheduler is None and jobqueue_config is None and workers is None:
        import os

        workers = os.cpu_count() or 1
    return {"workers": workers, "scheduler": scheduler, "jobqueue_config": jobqueue_config}


def _render_threads(threads, jobqueue_config):
    if threads is None and jobqueue_config is not None:
        from .jobqueue import load_config

        return load_config(jobqueue_config).render_threads
    return threads


def _run_and_report(shots, chunk_size, threads, engine, retries, bake=True, finalize=True) -> int:
    """Run every shot's tasks in one Dask job, check every frame, print the summary."""
    from .commands import resolve_shot
    from .verify import check_frames

    tasks = []
    for shot, frames in shots:
        whole = frames == resolve_shot(shot.scene, shot.out, shot.seed)[1]
        if finalize and not whole:
            click.echo(f"note: {shot.name}: --frames renders part of the shot: no finalize "
                       "(run `collapse finalize` once every frame is rendered)", err=True)
        tasks += plan_shot(shot, frames, chunk_size, threads, bake=bake,
                           finalize=finalize and whole)
    renders = sum(t.kind == "render" for t in tasks)
    click.echo(f"farm: {len(shots)} shot(s), {renders} render chunks of <= {chunk_size} frames, "
               f"{len(tasks)} tasks", err=True)
    with open_client(**engine, allowed_failures=retries + 1) as client:
        summary: FarmSummary = run_tasks(client, tasks, retries=retries, progress=ProgressLine())
    checks = [check_frames(shot, frames) for shot, frames in shots]
    for check in checks:
        if check.missing:
            summary.notes.append(f"{check.shot.name}: {len(check.missing)} frame(s) missing: "
                                 f"{format_frames(check.missing)}")
        summary.notes += [f"{check.shot.name}: broken frame {b}" for b in check.broken]
    click.echo(summary.format())
    for check in checks:
        present = check.checked - len(check.missing)
        click.echo(f"  {check.shot.name}: {present}/{check.checked} frames present, "
                   f"{len(check.broken)} broken, in {check.shot.folder / 'frames'}")
    return EXIT_OK if summary.ok else EXIT_FAILED


@click.group("farm")
def farm():
    """Render on farms: Dask clusters, Open Job Description (Deadline Cloud) and Flamenco.

    Every chunk of frames runs as its own `collapse render --frames` process, so the farm renders
    exactly what the plain CLI renders. Exit codes: 0 done, 1 a task failed or a frame is missing,
    2 usage or scene error.
    """


@farm.command("render")
@scene_argument
@click.option("--seed", type=click.IntRange(0), default=None, help="Override the scene's seed.")
@click.option("--no-bake", is_flag=True, help="The shot is built and baked already: only render (and finalize).")
@click.option("--no-finalize", is_flag=True, help="Skip the preview, contact sheet and manifest.")
@engine_options
def render_command(scene, seed, no_bake, no_finalize, workers, scheduler, jobqueue_config,
                   chunk_size, threads, retries, frames, out):
    """Build, bake, render in chunks on Dask workers, finalize; then check every frame."""
    from .commands import resolve_shot

    engine = _engine(workers, scheduler, jobqueue_config)
    try:
        shot, frame_list = resolve_shot(scene, out, seed, frames)
        threads = _render_threads(threads, jobqueue_config)
    except CollapseError as exc:
        _fail(str(exc), exc.exit_code)
    sys.exit(_run_and_report([(shot, frame_list)], chunk_size, threads, engine, retries,
                             bake=not no_bake, finalize=not no_finalize))


@farm.command("batch")
@scene_argument
@click.option("--seeds", default=None, help="Seeds, one shot each: 1,2,3 or 1-8.")
@click.option("--vary", "variations", multiple=True, metavar="SECTION.KEY=V1,V2",
              help="A scene key and its values; repeat for a grid of variations.")
@engine_options
def batch_command(scene, seeds, variations, workers, scheduler, jobqueue_config, chunk_size,
                  threads, retries, frames, out):
    """Many shots of SCENE (seeds x variations) baked and rendered in parallel, one folder each."""
    from .batch import batch_shots, parse_variation
    from .frames import parse_frames

    engine = _engine(workers, scheduler, jobqueue_config)
    try:
        seed_list = parse_frames(seeds, "--seeds") if seeds else None
        shots = batch_shots(scene, out, seed_list, [parse_variation(v) for v in variations], frames)
        threads = _render_threads(threads, jobqueue_config)
    except CollapseError as exc:
        _fail(str(exc), exc.exit_code)
    if len(shots) == 1 and not seeds and not variations:
        click.echo("note: no --seeds or --vary given: one shot", err=True)
    sys.exit(_run_and_report(shots, chunk_size, threads, engine, retries))


def _job_file_options(func):
    options = [
        click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Output root on the farm [default: the scene's output.directory]."),
        click.option("--seed", type=click.IntRange(0), default=None,
                     help="Fix this seed in the commands [default: the scene's]."),
        click.option("--frames", default=None, help="Default frames [default: the scene's]."),
        click.option("--chunk-size", type=click.IntRange(1, 100000), default=DEFAULT_CHUNK_SIZE,
                     show_default=True, help="Default frames per render task."),
        click.option("--threads", cls=FieldOption, key="render.threads", type=int, default=None),
        click.option("--collapse-cmd", default="collapse", show_default=True,
                     help="How farm workers start the collapse CLI."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@farm.command("openjd")
@scene_argument
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Template to write (.yaml or .json).")
@_job_file_options
def openjd_command(scene, output, out, seed, frames, chunk_size, threads, collapse_cmd):
    """Write an Open Job Description template (AWS Deadline Cloud) for SCENE, validated.

    Run it locally with: openjd run TEMPLATE --step Finalize --run-dependencies
    -p SceneFile=SCENE -p OutDir=DIR
    """
    from .commands import resolve_shot
    from .openjd import openjd_template, write_openjd_template

    try:
        shot, frame_list = resolve_shot(scene, out, seed, frames)
    except CollapseError as exc:
        _fail(str(exc), exc.exit_code)
    template = openjd_template(scene, shot.out, format_frames(frame_list), chunk_size, threads,
                               seed, collapse_cmd, template_dir=output.resolve().parent)
    try:
        write_openjd_template(output, template)
    except OSError as exc:
        _fail(f"-o/--output: cannot write {output}: {exc.strerror or exc} (give a writable path)")
    click.echo(f"wrote {output} (validated with openjd-model): steps Build, Bake, Render "
               f"({len(frame_list)} frames, {chunk_size} per task), Finalize")


@farm.command("flamenco")
@scene_argument
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("collapse-render.js"), show_default=True,
              help="Job type script to write; Flamenco names the job type after the file.")
@_job_file_options
def flamenco_command(scene, output, out, seed, frames, chunk_size, threads, collapse_cmd):
    """Write a Flamenco v3 job type (JavaScript) whose defaults come from SCENE."""
    from .commands import resolve_shot
    from .flamenco import flamenco_job_type, write_flamenco_job_type

    try:
        shot, frame_list = resolve_shot(scene, out, seed, frames)
    except CollapseError as exc:
        _fail(str(exc), exc.exit_code)
    script = flamenco_job_type(scene, shot.out, format_frames(frame_list), chunk_size, threads,
                               seed, collapse_cmd)
    try:
        write_flamenco_job_type(output, script)
    except OSError as exc:
        _fail(f"-o/--output: cannot write {output}: {exc.strerror or exc} (give a writable path)")
    click.echo(f"wrote {output}: copy it into the Flamenco Manager's scripts/ folder")


@farm.command("jobqueue")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def jobqueue_command(config):
    """Check a SLURM/PBS/SGE config and print the batch script one worker job gets (submits nothing)."""
    from .jobqueue import job_script, load_config

    try:
        settings = load_config(config)
        script = job_script(config)
    except CollapseError as exc:
        _fail(str(exc), exc.exit_code)
    click.echo(f"# {settings.system}: {settings.jobs} job(s), render threads "
               f"{settings.render_threads or 'Blender default'}")
    click.echo(script)
