"""Task logs, Blender's own output, and signals for the headless commands.

Each command (a task on a farm) writes its own log file under ``<shot>/logs/``. Our progress lines
go to the terminal and to that log; Blender's own chatter (which names temporary files) goes to the
log only, so a farm manager parsing ``Fra:``/``Saved:`` lines sees final paths only.

SIGTERM and SIGINT are blocked in every thread before Blender starts its own threads, and a small
thread waits for them: on a signal it removes this process's temporary frames, logs what happened
and exits at once with 128 + the signal number. Finished frames are already in place (renamed
atomically), so nothing else needs cleaning. A plain Python signal handler would not work here: it
only runs between bytecodes of the main thread, which sits in Blender's C render loop.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

HANDLED_SIGNALS = (signal.SIGTERM, signal.SIGINT)
_cleanups: list[Callable[[], None]] = []
_active_log: TaskLog | None = None


class TaskLog:
    """A log file for one task; calling it writes a line to the terminal and the file."""

    def __init__(self, path: Path | None, echo: bool = True):
        self.path = Path(path) if path is not None else None
        self.echo = echo
        self.file = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.file = open(self.path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115
            self._to_file(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} pid {os.getpid()}: "
                          f"{' '.join(sys.argv)}")
            faulthandler.enable(self.file)
        # The terminal as it is now, so our lines reach it while Blender's fd 1 goes to the log.
        self.term = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1, encoding="utf-8") \
            if echo else None
        self.err = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1, encoding="utf-8")

    def __call__(self, line: str = "") -> None:
        if self.term is not None:
            self.term.write(line + "\n")
            self.term.flush()
        self._to_file(line)

    def error(self, line: str) -> None:
        """An error: to stderr (as it was before Blender's output was redirected) and the log."""
        if self.err is not None:
            self.err.write(line + "\n")
            self.err.flush()
        self._to_file(line)

    def file_only(self, text: str) -> None:
        """Text for the log file only (a traceback: the terminal gets the one-line error)."""
        self._to_file(text.rstrip("\n"))

    def _to_file(self, line: str) -> None:
        """The log file is a record, not an output: a full disk must not turn a clear error
        into a traceback, so a line that cannot be written is dropped (the terminal has it)."""
        if self.file is not None:
            try:
                self.file.write(line + "\n")
            except OSError:
                pass

    @contextlib.contextmanager
    def blender_output(self):
        """Send what Blender prints (fds 1 and 2) to the log file for the duration."""
        if self.file is None:
            yield
            return
        sys.stdout.flush()
        sys.stderr.flush()
        with contextlib.suppress(OSError):
            self.file.flush()
        saved = os.dup(1), os.dup(2)
        try:
            os.dup2(self.file.fileno(), 1)
            os.dup2(self.file.fileno(), 2)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])

    def close(self) -> None:
        if self.file is not None:
            faulthandler.enable(sys.stderr)
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None
        for stream in (self.term, self.err):
            if stream is not None:
                stream.close()
        self.term = self.err = None


def set_active_log(log: TaskLog | None) -> None:
    global _active_log
    _active_log = log


def on_signal_cleanup(fn: Callable[[], None]) -> None:
    """Run ``fn`` if the process is stopped by SIGTERM/SIGINT."""
    _cleanups.append(fn)


def remove_dir_on_signal(path: Path) -> None:
    on_signal_cleanup(lambda: shutil.rmtree(path, ignore_errors=True))


def run_signal_cleanups() -> None:
    """Run what a signal would (remove this process's temporaries), e.g. before an early exit."""
    for fn in _cleanups:
        with contextlib.suppress(Exception):
            fn()


def _wait_for_signals() -> None:
    sig = signal.sigwait(set(HANDLED_SIGNALS))
    name = signal.Signals(sig).name
    run_signal_cleanups()
    message = (f"Interrupted by {name}: finished frames are kept; run the same command again "
               "to complete the missing ones.")
    try:
        if _active_log is not None:
            _active_log.error(message)
        else:
            os.write(2, (message + "\n").encode())
    finally:
        os._exit(128 + sig)


def install_signal_handling() -> None:
    """Block SIGTERM/SIGINT in every thread and handle them in a waiter thread.

    Call before ``import bpy`` so that the threads Blender starts inherit the mask.
    """
    faulthandler.enable()
    signal.pthread_sigmask(signal.SIG_BLOCK, set(HANDLED_SIGNALS))
    threading.Thread(target=_wait_for_signals, name="collapse-signals", daemon=True).start()


def render_thread_env(threads: int | None) -> tuple[tuple[str, str], ...]:
    """Environment that holds a render to ``threads`` CPU threads.

    Blender's thread setting does not reach Workbench/EEVEE on software GL: Mesa's llvmpipe starts
    its own rasterizer threads (one per core), so one "single-threaded" render uses every core and
    two renders on one machine cannot scale. ``LP_NUM_THREADS`` caps them (0: rasterize in the
    calling thread). It must be set before Blender creates its GL context.
    """
    if threads is None or threads == 0:
        return ()
    return (("LP_NUM_THREADS", "0" if threads == 1 else str(threads)),)


def hold_render_threads(threads: int | None) -> None:
    """Apply ``render_thread_env`` to this process (unless the caller set the variable)."""
    for key, value in render_thread_env(threads):
        os.environ.setdefault(key, value)

