"""Dask workers as batch jobs on SLURM, PBS or SGE, from a small TOML file (through dask-jobqueue).

The file (see ``jobqueue-example.toml`` next to this module and docs/farm.md)::

    system = "slurm"          # slurm | pbs | sge
    jobs = 4                  # batch jobs to submit; each runs one Dask worker
    render_threads = 8        # Blender render threads per chunk (collapse render --threads)
    [options]                 # keyword arguments of dask_jobqueue.SLURMCluster / PBSCluster / SGECluster
    queue = "render"
    cores = 1                 # Dask worker threads: keep 1, one chunk (one Blender) at a time
    memory = "16GB"
    walltime = "04:00:00"
    job_cpu = 8               # CPUs the batch system gives the job (SLURM; PBS/SGE: resource_spec)

Every option name is checked against the dask-jobqueue class, and a misspelt one is named with the
nearest valid key. ``job_script`` renders the batch script without submitting anything, so a config
can be checked on a machine with no batch system.
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from collapse_addon.core.errors import SpecError

SYSTEMS = ("slurm", "pbs", "sge")
TOP_KEYS = ("system", "jobs", "render_threads", "options")


@dataclass(frozen=True)
class JobqueueConfig:
    """A validated jobqueue config: which batch system, how many jobs, the cluster's options."""

    path: Path
    system: str
    jobs: int = 1
    render_threads: int | None = None
    options: dict = field(default_factory=dict)


def _classes(system: str):
    import dask_jobqueue

    cluster_cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster,
                   "sge": dask_jobqueue.SGECluster}[system]
    return cluster_cls, cluster_cls.job_cls


def _allowed_options(system: str) -> set[str]:
    cluster_cls, job_cls = _classes(system)
    names: set[str] = set()
    for cls in (cluster_cls, job_cls, *job_cls.__mro__):
        init = cls.__dict__.get("__init__")
        if init is not None:
            names.update(p.name for p in inspect.signature(init).parameters.values()
                         if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names - {"self", "job_cls", "loop", "asynchronous", "scheduler", "config_name"}


def _unknown(path: Path, key: str, allowed) -> SpecError:
    near = difflib.get_close_matches(key, sorted(allowed), n=1)
    hint = f"did you mean '{near[0]}'?" if near else f"valid keys: {', '.join(sorted(allowed))}"
    return SpecError(f"{path}: {key}", "is not a known key", hint)


def load_config(path: str | Path) -> JobqueueConfig:
    """Read and validate a jobqueue TOML file; raise SpecError naming the file, the key and the fix."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(str(path), "does not exist", "give the path of a jobqueue .toml file")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(str(path), f"is not valid TOML ({exc})", "fix the syntax") from None
    for key in data:
        if key not in TOP_KEYS:
            raise _unknown(path, key, TOP_KEYS)
    system = data.get("system")
    if system not in SYSTEMS:
        raise SpecError(f"{path}: system", f"is {system!r}", f"use one of {', '.join(SYSTEMS)}")
    jobs = data.get("jobs", 1)
    if not isinstance(jobs, int) or isinstance(jobs, bool) or not 1 <= jobs <= 10_000:
        raise SpecError(f"{path}: jobs", f"is {jobs!r}", "give a whole number from 1 to 10000")
    threads = data.get("render_threads")
    if threads is not None and (not isinstance(threads, int) or not 1 <= threads <= 1024):
        raise SpecError(f"{path}: render_threads", f"is {threads!r}", "give 1 to 1024 or leave it out")
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise SpecError(f"{path}: options", "is not a table", "write it as [options]")
    allowed = _allowed_options(system)
    for key in options:
        if key not in allowed:
            raise _unknown(path, f"options.{key}", allowed)
    cores, processes = options.get("cores", 1), options.get("processes", 1)
    if cores != processes:
        raise SpecError(f"{path}: options.cores", f"is {cores} with processes = {processes}",
                        "keep one thread per Dask worker (cores = processes); give Blender more "
                        "CPUs with render_threads and job_cpu / resource_spec")
    return JobqueueConfig(path, system, jobs, threads, {"cores": 1, "processes": 1,
                                                        "memory": "4GB", **options})


@contextlib.contextmanager
def cluster_from_config(path: str | Path) -> Iterator[tuple[object, int]]:
    """Start the scheduler of the configured batch cluster; yield ``(cluster, jobs)``.

    No job is submitted until ``cluster.scale(jobs=...)``.
    """
    config = load_config(path)
    cluster_cls, _ = _classes(config.system)
    with cluster_cls(**config.options) as cluster:
        yield cluster, config.jobs


def job_script(path: str | Path) -> str:
    """The batch script one worker job would be submitted with (nothing is submitted)."""
    with cluster_from_config(path) as (cluster, _):
        return cluster.job_script()
