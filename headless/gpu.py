"""GPU render support for the headless render: a shared kernel cache, a kernel-compilation note,
and a per-frame watchdog that turns a stalled device into exit code 4.

A GPU that Blender ships no ready-made kernels for (e.g. Hopper with bpy 5.0) has its kernels
compiled by the driver on first use: silently, for minutes, once per machine unless the driver's
cache is kept. ``render.kernel_cache`` points the CUDA and OptiX caches at one folder (a share all
farm nodes see); ``collapse warmup`` fills it before the farm job starts.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

# Environment the NVIDIA driver and OptiX read for their on-disk kernel caches.
CACHE_ENV = ("CUDA_CACHE_PATH", "OPTIX_CACHE_PATH")
CACHE_MAX_ENV = (("CUDA_CACHE_MAXSIZE", str(4 << 30)), ("OPTIX_CACHE_MAXSIZE", str(4 << 30)))


def kernel_cache_folder(scene_file: Path, setting: str) -> Path | None:
    """``render.kernel_cache`` as an absolute folder (relative to the scene file), or None."""
    if not setting:
        return None
    return (Path(scene_file).absolute().parent / setting).resolve()


def use_kernel_cache(folder: Path | None) -> None:
    """Point the driver's kernel caches at ``folder``; call before Blender starts the device."""
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for key in CACHE_ENV:
        os.environ[key] = str(folder)
    for key, value in CACHE_MAX_ENV:
        os.environ.setdefault(key, value)


def folder_bytes(folder: Path | None) -> int:
    if folder is None or not folder.is_dir():
        return 0
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


class FrameWatchdog:
    """Calls ``on_stall(seconds)`` from a thread when ``progress`` is not called for ``timeout``
    seconds (0: never). Every progress line of the render (``Fra:``, ``Saved:``) counts."""

    def __init__(self, timeout: float, on_stall: Callable[[float], None]):
        self.timeout = float(timeout)
        self.on_stall = on_stall
        self.last = time.monotonic()
        self.stopped = threading.Event()
        self.thread = None

    def start(self) -> FrameWatchdog:
        if self.timeout > 0:
            self.last = time.monotonic()
            self.thread = threading.Thread(target=self._watch, name="collapse-watchdog",
                                           daemon=True)
            self.thread.start()
        return self

    def progress(self) -> None:
        self.last = time.monotonic()

    def stop(self) -> None:
        self.stopped.set()

    def _watch(self) -> None:
        while not self.stopped.wait(min(0.25, self.timeout / 4)):
            idle = time.monotonic() - self.last
            if idle > self.timeout:
                self.on_stall(idle)
                return


class RenderProgress:
    """The render's log, watched: feeds the watchdog, and says when GPU kernels are loaded or
    compiled (the first frame on a GPU, timed, and whether the kernel cache grew)."""

    def __init__(self, log, watchdog: FrameWatchdog, cache: Path | None):
        self.log = log
        self.watchdog = watchdog
        self.cache = cache
        self.gpu = None
        self.started = None
        self.cache_before = folder_bytes(cache)
        self.stall_frame = os.environ.get("COLLAPSE_TEST_STALL_FRAME")  # tests: a hung device

    def __call__(self, line: str = "") -> None:
        self.watchdog.progress()
        if line.startswith("Rendering ") and " on GPU (" in line:
            self.gpu = line.split(" on ", 1)[1].split(",")[0]
            self.started = time.perf_counter()
            where = f"cached in {self.cache}" if self.cache else "render.kernel_cache not set"
            self.log(line)
            self.log(f"GPU backend: {self.gpu}; loading its kernels (the first use on a GPU "
                     f"without ready-made kernels compiles them, which can take minutes; {where})")
            return
        self.log(line)
        if self.started is not None and line.startswith("Saved: "):
            seconds = time.perf_counter() - self.started
            grown = folder_bytes(self.cache) - self.cache_before
            if grown > 0:
                self.log(f"Compiled GPU kernels for this GPU: first frame after {seconds:.1f} s, "
                         f"{grown / 1e6:.1f} MB added to the kernel cache {self.cache}")
            else:
                self.log(f"GPU kernels ready: first frame after {seconds:.1f} s")
            self.started = None
        if self.stall_frame and line.startswith(f"Fra:{self.stall_frame} "):
            time.sleep(3600)  # the injected device never finishes this frame


def warm_up(settings, scene_file: Path, log) -> str:
    """Render one tiny still with the scene's engine, device and backend (compiling and caching
    the GPU kernels if this GPU needs them); returns the device in words."""
    import dataclasses
    import tempfile

    cache = kernel_cache_folder(scene_file, settings.render.kernel_cache)
    use_kernel_cache(cache)
    before = folder_bytes(cache)
    from collapse_addon import api

    tiny = dataclasses.replace(settings.render, resolution=(32, 32), resolution_percentage=100,
                               samples=1, file_format="PNG", frames="")
    with tempfile.TemporaryDirectory(prefix="collapse-warmup-") as folder:
        device, seconds = api.render_test_still(
            tiny, settings.simulation.fps, Path(folder) / "warmup.png",
            announce=lambda device: log(f"Warming up {settings.render.engine} on {device}"
                                        + (f"; kernel cache {cache}" if cache else "")))
    grown = folder_bytes(cache) - before
    log(f"Warm-up frame rendered in {seconds:.1f} s"
        + (f"; compiled kernels added {grown / 1e6:.1f} MB to {cache}" if grown > 0 else ""))
    return device
