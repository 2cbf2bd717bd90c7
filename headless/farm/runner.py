"""Run one ``collapse`` command as its own process: the unit of work every farm engine schedules.

Blender (bpy) is one per process and not thread-safe, so a chunk never runs inside a Dask worker:
the worker only starts and watches a child process. On Linux the child is tied to its parent with
``PR_SET_PDEATHSIG``, so a worker that dies (kill -9, OOM killer) takes its Blender down too and the
retried chunk never races an orphan for the same frames.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from collapse_addon.core.errors import EXIT_MEANINGS  # the CLI's exit codes: one table

FARM_EVENT_TOPIC = "collapse-farm"
# A bad scene or a missing bake fails the same way every time: retrying it only wastes the farm.
NOT_RETRIED = (2, 3)


class CommandFailed(RuntimeError):
    """A ``collapse`` command exited with a non-zero code (or was killed)."""

    def __init__(self, label: str, returncode: int, log_path: Path, tail: str):
        self.label = label
        self.returncode = returncode
        self.log_path = log_path
        self.tail = tail
        meaning = EXIT_MEANINGS.get(returncode)
        if meaning is None and (returncode < 0 or 128 < returncode < 160):
            number = -returncode if returncode < 0 else returncode - 128
            try:
                meaning = f"killed by {signal.Signals(number).name}"
            except ValueError:
                meaning = None
        super().__init__(f"{label}: exit {returncode} ({meaning or 'unknown'}); "
                         f"log {log_path}\n{tail}")

    def __reduce__(self):
        # Exceptions travel from worker to client by pickle; keep all fields.
        return (CommandFailed, (self.label, self.returncode, self.log_path, self.tail))


@dataclass(frozen=True)
class CommandResult:
    """What one finished command reports back to the client."""

    label: str
    seconds: float
    worker: str
    log_path: str
    returncode: int = 0
    error: str = ""


# Looked up once in the parent: the child between fork and exec must not load libraries.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: get SIGKILL when the parent thread dies (Linux only)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"local:{os.getpid()}"


def _log_event(kind: str, label: str, job: str, **extra) -> None:
    """Record an attempt on the scheduler (so the client can count retries after worker deaths)."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return
    worker.log_event(FARM_EVENT_TOPIC, {"kind": kind, "label": label, "job": job, "worker": worker.address,
                                        "pid": os.getpid(), **extra})


def run_command(label: str, argv: list[str], log_path: str | Path, *,
                env: dict[str, str] | None = None, job: str = "") -> CommandResult:
    """Run ``argv`` to completion, its output appended to ``log_path``.

    Raises CommandFailed when the command fails in a way a rerun may fix (a failed frame, out of
    memory, killed), so Dask retries it; returns a result with the exit code and the log's tail
    when it cannot (exit 2 usage or scene error, 3 missing input).

    ``job`` tags the start/end events logged on the Dask scheduler.
    """
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    worker = _worker_address()
    _log_event("start", label, job)
    start = time.perf_counter()
    with open(log_path, "ab") as log:
        log.write(f"\n=== {label} on {worker} at {time.strftime('%Y-%m-%d %H:%M:%S')}: "
                  f"{' '.join(argv)}\n".encode())
        log.flush()
        child_env = {**os.environ, **(env or {})}
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=child_env,
                                   stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        try:
            returncode = process.wait()
        except BaseException:
            process.kill()
            process.wait()
            raise
    seconds = time.perf_counter() - start
    _log_event("end", label, job, returncode=returncode, seconds=seconds)
    if returncode in NOT_RETRIED:
        error = str(CommandFailed(label, returncode, log_path, _tail(log_path)))
        return CommandResult(label, seconds, worker, str(log_path), returncode, error)
    if returncode != 0:
        raise CommandFailed(label, returncode, log_path, _tail(log_path))
    return CommandResult(label, seconds, worker, str(log_path))


def _tail(path: Path, lines: int = 8) -> str:
    text = path.read_text(errors="replace").splitlines()
    return "\n".join("    " + line for line in text[-lines:])
