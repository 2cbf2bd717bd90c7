"""Long work in small steps, so the UI stays responsive and shows progress.

A job is a generator that does its work between ``yield``s and yields ``(fraction, message)``
after each step. An operator runs it to completion in ``execute`` (scripts, tests, the Python
console) or one slice per timer tick in ``modal`` (the UI), with the message and a percentage in the
status bar and the cursor progress; Esc closes the generator (its ``finally`` blocks run) and the
operator's ``cancel`` restores the scene.
"""

from __future__ import annotations

import time
from collections.abc import Generator

import bpy

from ..core.errors import CollapseError

Job = Generator[tuple[float, str], None, None]

# Seconds of work per timer tick: short enough to keep Blender responsive.
SLICE_SECONDS = 0.1
_RUNNING: set = set()


def run_to_end(job: Job) -> str:
    """Run a job without a UI; returns its last message."""
    last = ""
    for _fraction, message in job:
        last = message
    return last


def cancel_running_jobs() -> None:
    """Stop every running job (the add-on is being disabled)."""
    for op in list(_RUNNING):
        op.stop_job(bpy.context, cancelled=True)


def error_text(exc: BaseException) -> str:
    """The message an artist sees for an expected failure."""
    return str(exc) if isinstance(exc, CollapseError) else f"{type(exc).__name__}: {exc}"


class JobOperator:
    """Mix-in for operators whose work is a job (``make_job``); subclasses may define ``cancel``.

    ``execute`` runs the whole job (no UI needed); ``invoke`` in a window runs it modally, with
    progress in the status bar and Esc to cancel.
    """

    _job: Job | None = None
    _timer = None
    _last = ""

    def make_job(self, context) -> Job:  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def progress(self, message: str) -> None:
        """Feedback from inside one long API call (its ``log``): status bar text and a redraw,
        when running in the UI; nothing from a script."""
        if self._timer is None or bpy.app.background:
            return
        context = bpy.context
        if context.workspace is not None:
            context.workspace.status_text_set(f"Collapse: {message}")
        bpy.ops.wm.redraw_timer(type="DRAW_WIN_SWAP", iterations=1)

    def restore(self, context) -> None:
        """Undo a cancelled job's partial work (default: nothing to undo)."""

    def finished(self, context, message: str) -> None:
        if message:
            self.report({"INFO"}, message)

    def execute(self, context):
        try:
            message = run_to_end(self.make_job(context))
        except CollapseError as exc:
            self.restore(context)
            self.report({"ERROR"}, error_text(exc))
            return {"CANCELLED"}
        self.finished(context, message)
        return {"FINISHED"}

    def invoke(self, context, event):
        if context.window is None or bpy.app.background:
            return self.execute(context)
        try:
            self._job = self.make_job(context)
        except CollapseError as exc:
            self.report({"ERROR"}, error_text(exc))
            return {"CANCELLED"}
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.01, window=context.window)
        wm.modal_handler_add(self)
        wm.progress_begin(0, 1000)
        _RUNNING.add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self.stop_job(context, cancelled=True)
            self.report({"WARNING"}, "Cancelled; the scene is as it was")
            return {"CANCELLED"}
        if event.type != "TIMER" or self._job is None:
            return {"PASS_THROUGH"}
        deadline = time.perf_counter() + SLICE_SECONDS
        try:
            while True:  # at least one step per tick, more while the slice lasts
                fraction, self._last = next(self._job)
                context.window_manager.progress_update(int(1000 * min(max(fraction, 0), 1)))
                if context.workspace is not None:
                    context.workspace.status_text_set(
                        f"Collapse: {self._last} ({fraction:.0%}) - Esc to cancel")
                if time.perf_counter() >= deadline:
                    break
        except StopIteration:
            self.stop_job(context, cancelled=False)
            self.finished(context, self._last)
            return {"FINISHED"}
        except CollapseError as exc:
            self.stop_job(context, cancelled=True)
            self.report({"ERROR"}, error_text(exc))
            return {"CANCELLED"}
        return {"RUNNING_MODAL"}

    def stop_job(self, context, *, cancelled: bool) -> None:
        """End the job: close the generator, remove the timer, clear the status bar."""
        if self._job is not None:
            self._job.close()
            self._job = None
        if cancelled:
            self.restore(context)
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        if context.workspace is not None:
            context.workspace.status_text_set(None)
        _RUNNING.discard(self)
