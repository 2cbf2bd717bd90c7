"""Render shots on Dask distributed: a LocalCluster, an existing scheduler, or a dask-jobqueue cluster.

The job is a small task graph per shot -- build, bake, one task per chunk of frames, finalize --
and every task is one ``collapse`` process started by :func:`.runner.run_command`. The client
submits each task once the tasks it waits for are done; Dask places it on a worker, reruns it when
its command failed (``retries=``) and reschedules it when its worker died (up to
``distributed.scheduler.allowed-failures`` times). Frames are written atomically and skipped on
rerun by the CLI, so a retried chunk renders only what is missing.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..tasklog import render_thread_env
from .commands import Shot
from .frames import chunk_frames, format_frames
from .runner import FARM_EVENT_TOPIC, CommandFailed, run_command

DEFAULT_RETRIES = 2


@dataclass(frozen=True)
class TaskSpec:
    """One command of a farm job and the labels of the tasks it waits for."""

    label: str
    kind: str  # "build", "bake", "render" or "finalize"
    shot: str
    argv: tuple[str, ...]
    log_path: Path
    after: tuple[str, ...] = ()
    frames: tuple[int, ...] = ()
    env: tuple[tuple[str, str], ...] = ()


def plan_shot(shot: Shot, frames: list[int], chunk_size: int, threads: int | None = None,
              bake: bool = True, finalize: bool = True,
              log_dir: Path | None = None) -> list[TaskSpec]:
    """The task graph of one shot, in an order where every task follows the tasks it waits for.

    ``build`` then ``bake`` (unless ``bake`` is False: the shot is baked already), then ``frames``
    cut into chunks of ``chunk_size``, each one ``collapse render --frames``, then ``finalize``.
    """
    log_dir = Path(log_dir) if log_dir else Path(shot.out) / "farm-logs" / shot.name
    tasks: list[TaskSpec] = []
    bake_labels: tuple[str, ...] = ()
    if bake:
        tasks.append(TaskSpec(f"{shot.name}/build", "build", shot.name, tuple(shot.build_argv()),
                              log_dir / "build.log"))
        tasks.append(TaskSpec(f"{shot.name}/bake", "bake", shot.name, tuple(shot.bake_argv()),
                              log_dir / "bake.log", (f"{shot.name}/build",)))
        bake_labels = (f"{shot.name}/bake",)
    render_labels = []
    for chunk in chunk_frames(frames, chunk_size):
        spec = format_frames(chunk)
        label = f"{shot.name}/render-{spec}"
        tasks.append(TaskSpec(label, "render", shot.name,
                              tuple(shot.render_argv(frames=spec, threads=threads)),
                              log_dir / f"render-{spec.replace(',', '_')}.log", bake_labels,
                              tuple(chunk), render_thread_env(threads)))
        render_labels.append(label)
    if finalize:
        tasks.append(TaskSpec(f"{shot.name}/finalize", "finalize", shot.name,
                              tuple(shot.finalize_argv()), log_dir / "finalize.log",
                              tuple(render_labels)))
    return tasks


@dataclass
class TaskOutcome:
    """How one task ended: ``done``, ``failed`` or ``skipped`` (a task it waits for failed)."""

    spec: TaskSpec
    state: str
    attempts: int
    seconds: float = 0.0
    worker: str = ""
    error: str = ""


@dataclass
class FarmSummary:
    """The end of a farm job: every task's outcome and the wall time."""

    outcomes: list[TaskOutcome]
    wall_seconds: float
    workers: int = 0
    notes: list[str] = field(default_factory=list)

    def _with(self, state: str) -> list[TaskOutcome]:
        return [o for o in self.outcomes if o.state == state]

    @property
    def done(self) -> list[TaskOutcome]:
        return self._with("done")

    @property
    def failed(self) -> list[TaskOutcome]:
        return self._with("failed")

    @property
    def skipped(self) -> list[TaskOutcome]:
        return self._with("skipped")

    @property
    def retried(self) -> list[TaskOutcome]:
        """Tasks that needed more than one attempt (a failed command or a lost worker)."""
        return [o for o in self.outcomes if o.attempts > 1]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped and not self.notes

    def format(self) -> str:
        """A human summary: counts, then one line per retried, failed or skipped task."""
        frames = sum(len(o.spec.frames) for o in self.done if o.spec.kind == "render")
        rate = frames / self.wall_seconds * 60 if self.wall_seconds > 0 else 0.0
        lines = [f"farm: {len(self.done)}/{len(self.outcomes)} tasks done, "
                 f"{len(self.retried)} retried, {len(self.failed)} failed, "
                 f"{len(self.skipped)} skipped; {frames} frames in {self.wall_seconds:.1f} s "
                 f"({rate:.1f} frames/min) on {self.workers} workers"]
        for o in self.retried:
            lines.append(f"  retried  {o.spec.label}: {o.attempts} attempts, {o.state}")
        for o in self.failed:
            lines.append(f"  FAILED   {o.spec.label} after {o.attempts} attempts: "
                         f"{o.error.splitlines()[0] if o.error else ''}")
            if "log " not in o.error:
                lines.append(f"           log {o.spec.log_path}")
        for o in self.skipped:
            lines.append(f"  skipped  {o.spec.label}: {o.error}")
        lines += [f"  {note}" for note in self.notes]
        return "\n".join(lines)


ProgressCallback = Callable[[int, int, int, str], None]


class ProgressLine:
    """One overall progress display: rewrites a single line on a terminal, prints lines otherwise."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.tty = self.stream.isatty()

    def __call__(self, finished: int, failed: int, total: int, label: str) -> None:
        width = 24
        filled = int(width * finished / total) if total else width
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {finished}/{total} tasks, "
                f"{failed} failed, {time.perf_counter() - self.start:5.1f} s  {label}")
        if self.tty:
            self.stream.write("\r\033[K" + line + ("\n" if finished == total else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def run_tasks(client, tasks: list[TaskSpec], retries: int = DEFAULT_RETRIES,
              progress: ProgressCallback | None = None) -> FarmSummary:
    """Run ``tasks`` on a Dask ``client``, each once the tasks it waits for are done; never raises
    on task failure.

    Each task is retried up to ``retries`` times when its command fails (Dask ``retries=``), except
    for a usage/scene error or missing input (exit 2, 3), which fail the same way every time; a
    task whose worker dies is rescheduled by the scheduler. Ordering is kept here, not as Dask data
    dependencies, and every result is released as soon as it arrives: Dask recomputes a lost
    result that is still wanted, and recomputing a finished ``build`` would overwrite the baked
    scene under running renders. Attempts are counted from the events workers log at each start.
    """
    from distributed import as_completed

    start = time.perf_counter()
    job = uuid.uuid4().hex[:8]
    # Attempts are counted live (the scheduler keeps only the last 1,000 events of a topic).
    starts: Counter = Counter()

    def count_start(event) -> None:
        msg = event[1]
        if msg.get("kind") == "start" and msg.get("job") == job:
            starts[msg["label"]] += 1

    order = {task.label: index for index, task in enumerate(tasks)}
    by_label = {task.label: task for task in tasks}
    waiting = {task.label: set(task.after) for task in tasks}
    outcomes: dict[str, TaskOutcome] = {}
    running = as_completed()

    def submit_ready() -> None:
        for label in [label for label, deps in waiting.items() if not deps]:
            del waiting[label]
            task = by_label[label]
            # Earlier tasks first, so frames arrive roughly in order.
            running.add(client.submit(
                run_command, task.label, list(task.argv), str(task.log_path),
                key=f"{task.label}#{job}", retries=retries, pure=False, priority=-order[label],
                env=dict(task.env), job=job))

    def skip_dependents(label: str) -> None:
        for other in [other for other, deps in waiting.items() if label in deps]:
            del waiting[other]
            outcomes[other] = TaskOutcome(by_label[other], "skipped", 0, error=f"{label} failed")
            report(other)
            skip_dependents(other)

    def report(label: str) -> None:
        if progress:
            failed = sum(o.state != "done" for o in outcomes.values())
            progress(len(outcomes), failed, len(tasks), label)

    client.subscribe_topic(FARM_EVENT_TOPIC, count_start)
    try:
        submit_ready()
        for future in running:
            label = future.key.rpartition("#")[0]
            result = future.result() if future.status == "finished" else None
            if result is not None and result.returncode == 0:
                outcomes[label] = TaskOutcome(by_label[label], "done", 0, result.seconds,
                                              result.worker)
                for deps in waiting.values():
                    deps.discard(label)
            elif result is not None:  # failed for good: not worth a retry
                outcomes[label] = TaskOutcome(by_label[label], "failed", 0, result.seconds,
                                              result.worker, result.error)
            else:
                error = future.exception()
                message = str(error) if isinstance(error, CommandFailed) else (
                    f"{type(error).__name__}: {error}")
                outcomes[label] = TaskOutcome(by_label[label], "failed", 0, error=message)
            future.release()
            report(label)
            if outcomes[label].state == "failed":
                skip_dependents(label)
            submit_ready()
    finally:
        client.unsubscribe_topic(FARM_EVENT_TOPIC)
    logged = Counter(msg["label"] for _, msg in client.get_events(FARM_EVENT_TOPIC)
                     if msg.get("kind") == "start" and msg.get("job") == job)
    for label, outcome in outcomes.items():
        if outcome.state != "skipped":
            outcome.attempts = max(starts[label], logged[label], 1)
    return FarmSummary([outcomes[task.label] for task in tasks], time.perf_counter() - start,
                       workers=len(client.scheduler_info(n_workers=-1)["workers"]))


@contextlib.contextmanager
def open_client(workers: int | None = None, scheduler: str | None = None,
                jobqueue_config: Path | None = None,
                allowed_failures: int = DEFAULT_RETRIES + 1) -> Iterator:
    """A Dask client: on an existing ``scheduler`` address, on a dask-jobqueue cluster described by
    ``jobqueue_config``, or on a new LocalCluster of ``workers`` worker processes over TCP.

    Each worker runs one task at a time (one thread): the task itself is a whole Blender process.
    """
    import dask
    from distributed import Client, LocalCluster

    given = sum(x is not None for x in (workers, scheduler, jobqueue_config))
    if given != 1:
        raise ValueError("give exactly one of workers, scheduler or jobqueue_config")
    # The scheduler of a local or jobqueue cluster runs in this process and reads this setting.
    with dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures}):
        if scheduler is not None:
            with Client(scheduler) as client:
                yield client
            return
        if jobqueue_config is not None:
            from .jobqueue import cluster_from_config

            with cluster_from_config(jobqueue_config) as (cluster, jobs):
                cluster.scale(jobs=jobs)
                with Client(cluster) as client:
                    client.wait_for_workers(1)
                    yield client
            return
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                          protocol="tcp://", dashboard_address=None,
                          silence_logs=logging.CRITICAL) as cluster, Client(cluster) as client:
            yield client
