"""``collapse run``: each Blender stage in its own process, as the farm runs them.

Blender crashed (SIGSEGV, exit 139) when one process built, baked and then reopened the baked file
to render it with Cycles. A stage per process gives each stage a fresh Blender; a stage that
crashes becomes one clear error naming the stage, its log and the log's last lines (exit 1), and
the next ``run`` resumes: build is skipped when the scene was built from the same simulation
settings, bake when it is baked, render skips finished (verified) frames.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from collapse_addon.core.errors import (
    EXIT_DEVICE,
    EXIT_FAILED,
    EXIT_MISSING_INPUT,
    EXIT_SCENE_ERROR,
    StageCrashed,
)

STAGES = ("build", "bake", "render", "finalize")
# Codes a stage reports itself (its own one-line error is already printed).
OWN_CODES = (EXIT_FAILED, EXIT_SCENE_ERROR, EXIT_MISSING_INPUT, EXIT_DEVICE, 130, 143)


def stage_argv(stage: str, scene: Path, out_root: Path, seed: int, frames: str | None,
               threads: int | None) -> list[str]:
    """The ``collapse <stage>`` command line that ``run`` starts for ``stage``."""
    argv = [sys.executable, "-m", "headless.cli", stage, str(scene), "--out", str(out_root),
            "--seed", str(seed)]
    if frames and stage in ("render", "finalize"):
        argv += ["--frames", frames]
    if threads is not None and stage == "render":
        argv += ["--threads", str(threads)]
    return argv


def built_from_these_settings(paths, sim_key: str) -> bool:
    """True when ``paths.blend`` exists and its build record names ``sim_key``."""
    if not paths.blend.exists():
        return False
    try:
        record = json.loads((paths.stages / "build.json").read_text())
    except (OSError, ValueError):
        return False
    return record.get("sim_key") == sim_key


def tail(path: Path, lines: int = 6) -> list[str]:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in text if line.strip()][-lines:]


def describe_exit(code: int) -> str:
    """``SIGSEGV`` for -11 or 139 (a shell's 128 + signal), else ``exit N``."""
    number = -code if code < 0 else code - 128 if 128 < code < 160 else 0
    if number:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(number).name}"
    return f"exit {code}"


def run_stage(stage: str, argv: list[str], log_path: Path, log) -> float:
    """Run one stage's process to its end; its output goes to this terminal and its own log.

    Returns the seconds it took. Raises StageExit (the stage's own exit code; it printed its own
    error) or StageCrashed (killed by a signal or an unknown code: named with its log's tail).
    """
    from headless.tasklog import on_signal_cleanup

    start = time.perf_counter()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL)

    def forward():  # run was interrupted: stop the stage the same way, give it time to clean up
        with contextlib.suppress(OSError):
            process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)

    on_signal_cleanup(forward)
    code = process.wait()
    seconds = time.perf_counter() - start
    if code == 0:
        return seconds
    if code in OWN_CODES:  # the stage printed its own one-line error, naming itself
        log.file_only(f"run: the {stage} stage failed ({describe_exit(code)}); log {log_path}")
        raise StageExit(code, f"{stage} failed")
    lines = tail(log_path)
    message = (f"the {stage} stage crashed ({describe_exit(code)}); log {log_path}"
               + (": last lines: " + " | ".join(lines) if lines else "")
               + " (run the same command again to resume from this stage)")
    raise StageCrashed(message)


class StageExit(Exception):
    """A stage process ended with one of its own exit codes."""

    def __init__(self, code: int, message: str):
        self.code = code
        super().__init__(message)


def stage_log(paths, stage: str) -> Path:
    return paths.logs / f"{stage}.log"
