"""Render settings and a resumable, atomic frame renderer.

Frames are rendered with Blender's own animation render (about twice as fast per frame in
Workbench as a loop of still renders) into a private temporary folder, and each frame is renamed
into place (``os.replace``) the moment Blender has written it. A finished frame is therefore always
complete, a killed render leaves at most a temporary file that the next run deletes, and a rerun
renders only the frames that are missing.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import bpy

from ..core.errors import BrokenFileError, CollapseError, DeviceError, DiskFullError
from ..core.imagecheck import PngError, check_image
from ..core.outputs import (
    TMP_PREFIX,
    disk_full_here,
    set_aside_broken,
    temp_dir_for,
    verify_output,
    write_json_atomic,
)
from ..core.settings import RenderSettings
from . import compat, look

ENGINE_IDS = {name: compat.engine_id(name) for name in ("WORKBENCH", "CYCLES", "EEVEE")}
GPU_BACKENDS = ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL")
WORKBENCH_AA = ((1, "OFF"), (2, "FXAA"), (5, "5"), (8, "8"), (11, "11"), (16, "16"), (32, "32"))
#: Inside a long frame, Blender's own progress (Cycles: ``Sample 12/128``, time remaining) is
#: logged at most this often; frames shorter than this print none of it.
PROGRESS_SECONDS = 10.0


def workbench_aa_level(samples: int) -> str:
    """The Workbench anti-aliasing level for ``samples`` (the next level up)."""
    return next((name for limit, name in WORKBENCH_AA if samples <= limit), "32")


class RenderDeviceError(DeviceError):
    """The requested render device is missing or failed (the CLI exits with code 4)."""


class FrameRenderError(CollapseError, RuntimeError):
    """Blender failed to render a frame (the CLI exits with code 1)."""

    def __init__(self, frame: int, message: str):
        self.frame = frame
        super().__init__(f"frame {frame}: {message}")


@dataclass
class FrameRecord:
    """One rendered frame: where it is, how long it took, the process's peak memory after it."""

    frame: int
    path: str
    seconds: float
    peak_memory_mb: float
    host: str
    settings_key: str = ""


def extension(render: RenderSettings) -> str:
    return ".png" if render.file_format == "PNG" else ".exr"


def frame_path(frames_dir: Path, frame: int, render: RenderSettings) -> Path:
    """Final path of a frame: ``frames/0001.png`` for padding 4."""
    return Path(frames_dir) / f"{frame:0{render.padding}d}{extension(render)}"


def peak_memory_mb() -> float:
    """The process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if os.uname().sysname == "Darwin" else peak / 1024


# ---------------------------------------------------------------------------------------- settings


def select_device(scene, wanted: str, backend: str = "AUTO", check: bool = True) -> str:
    """Set Cycles' device; returns a description naming the GPU backend. GPU when asked (or AUTO
    and one works); ``backend`` picks one of GPU_BACKENDS (AUTO: the first that works).

    ``check=False`` (build, bake: they render nothing) only records the wish, so a GPU scene is
    set up on a node without a GPU; the render stage selects (and checks) the device.
    """
    if scene.render.engine != "CYCLES":
        if wanted == "GPU" and scene.render.engine == "BLENDER_WORKBENCH":
            return "GPU (OpenGL)"
        return "OpenGL" if scene.render.engine != "CYCLES" else "CPU"
    if not check:
        scene.cycles.device = "GPU" if wanted == "GPU" else "CPU"
        return f"{wanted} (chosen when rendering)"
    backends = GPU_BACKENDS if backend == "AUTO" else (backend,)
    if wanted in ("AUTO", "GPU"):
        try:
            prefs = bpy.context.preferences.addons["cycles"].preferences
        except KeyError:
            prefs = None
        for backend in backends if prefs is not None else ():
            try:
                prefs.compute_device_type = backend
                prefs.get_devices()
            except (TypeError, ValueError, RuntimeError):
                continue
            gpus = [d for d in prefs.devices if d.type == backend]
            if gpus:
                for d in prefs.devices:
                    d.use = d.type == backend
                scene.cycles.device = "GPU"
                return f"GPU ({backend}: {', '.join(d.name for d in gpus)})"
        if wanted == "GPU":
            names = "CUDA, OptiX, HIP, oneAPI or Metal" if len(backends) > 1 else backends[0]
            raise RenderDeviceError(f"render.device = GPU but Cycles finds no {names} device "
                                    "(use device = \"AUTO\" or \"CPU\", or another "
                                    "render.gpu_backend)")
    scene.cycles.device = "CPU"
    return "CPU"


def configure_render(scene, render: RenderSettings, *, fps: int, threads: int | None = None,
                     seed: int = 0, check_device: bool = True) -> str:
    """Apply engine, device, samples, resolution and file format; returns the device used.

    Metadata stamps (date, render time, host) are switched off so that frames are byte-identical
    on every rerun and on every machine of a farm.
    """
    r = scene.render
    r.engine = ENGINE_IDS[render.engine]
    r.resolution_x, r.resolution_y = render.resolution
    r.resolution_percentage = render.resolution_percentage
    r.fps = fps
    r.fps_base = 1.0
    r.film_transparent = render.film_transparent
    r.use_file_extension = True
    r.use_overwrite = True
    r.use_placeholder = False
    r.use_stamp = False
    for name in dir(r):
        if name.startswith("use_stamp_"):
            setattr(r, name, False)
    threads = render.threads if threads is None else threads
    r.threads_mode = "FIXED" if threads else "AUTO"
    if threads:
        r.threads = threads
    im = r.image_settings
    if render.file_format == "PNG":
        compat.set_media_type(im, "IMAGE")
        im.file_format = "PNG"
        im.color_mode = "RGBA" if render.film_transparent else "RGB"
        im.color_depth = "8"
        im.compression = 15
    else:
        compat.set_media_type(im, "MULTI_LAYER_IMAGE")
        im.file_format = "OPEN_EXR_MULTILAYER"
        im.color_depth = "16"
        im.exr_codec = "ZIP"
    view = scene.view_settings
    # Workbench colours are display colours already; the filmic AgX transform would wash them out.
    view.view_transform = "Standard" if render.engine == "WORKBENCH" else "AgX"
    look.film_look(scene, render.engine)  # contrast and exposure (issue 15)
    if render.engine == "WORKBENCH":
        aa = workbench_aa_level(render.samples)
        scene.display.render_aa = look.workbench_aa(scene, render.samples, aa)
    elif render.engine == "EEVEE":
        scene.eevee.taa_render_samples = render.samples
    else:
        scene.cycles.samples = render.samples
        scene.cycles.use_adaptive_sampling = False  # fixed work per frame: steadier farm timings
        scene.cycles.use_denoising = render.denoise
        scene.cycles.seed = seed
        scene.cycles.use_animated_seed = False
    return select_device(scene, render.device, getattr(render, "gpu_backend", "AUTO"),
                         check=check_device)


# ----------------------------------------------------------------------------------------- frames


def frame_runs(frames: list[int]) -> list[tuple[int, int, int]]:
    """Split sorted frames into (start, end, step) runs that one animation render can do."""
    runs, i = [], 0
    while i < len(frames):
        j = i
        step = frames[i + 1] - frames[i] if i + 1 < len(frames) else 1
        while j + 1 < len(frames) and frames[j + 1] - frames[j] == step:
            j += 1
        runs.append((frames[i], frames[j], step if j > i else 1))
        i = j + 1
    return runs


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_temp(frames_dir: Path, log: Callable[[str], None] = print) -> None:
    """Delete temporary folders left by killed renders of this host (other hosts' are theirs)."""
    host = socket.gethostname()
    for tmp in Path(frames_dir).glob(f"{TMP_PREFIX}*"):
        try:
            _, tmp_host, pid = tmp.name.rsplit("-", 2)
        except ValueError:
            continue
        if tmp_host == host.replace("-", "_") and not _pid_alive(int(pid)):
            log(f"Removing the partial output of an interrupted render: {tmp}")
            shutil.rmtree(tmp, ignore_errors=True)


def broken_frames(frames_dir: Path, frames: list[int], render: RenderSettings) -> dict[int, str]:
    """Frames (of those present) whose files are empty, truncated or undecodable: frame -> why."""
    broken = {}
    for frame in frames:
        path = frame_path(frames_dir, frame, render)
        try:
            check_image(path)
        except PngError as exc:
            broken[frame] = str(exc)
    return broken


def strip_png_timings(path: Path) -> None:
    """Drop the render-time text chunks Cycles writes into PNGs (``cycles.*_time``), in place.

    They are the only bytes that differ between two renders of the same frame, and no Blender
    setting turns them off; the pixels and every other chunk are kept as written.
    """
    import struct

    data = Path(path).read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return
    out, i, dropped = [data[:8]], 8, False
    while i + 8 <= len(data):
        (length,) = struct.unpack(">I", data[i:i + 4])
        kind = data[i + 4:i + 8]
        end = i + 12 + length
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            keyword = data[i + 8:end - 4].split(b"\0", 1)[0]
            if keyword.startswith(b"cycles.") and keyword.endswith(b"_time"):
                dropped = True
                i = end
                continue
        out.append(data[i:end])
        i = end
    if dropped:
        Path(path).write_bytes(b"".join(out))


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:05.2f}"


def render_passes(frames: list[int], first_frame: int, warm_up: bool) -> list[tuple[int, int, int, int | None]]:
    """(start, end, step, warm-up frame or None) animation renders that produce ``frames``.

    Workbench and EEVEE carry state from one frame of an animation render to the next (Workbench's
    shadows differ on the first frame of a render), so a run that does not begin at the shot's
    first frame starts one frame early and discards that frame: chunks, resumed renders and
    single frames then equal a render of the whole sequence byte for byte.
    """
    passes = []
    for start, end, step in frame_runs(frames):
        if not warm_up or start <= first_frame:
            passes.append((start, end, step, None))
        elif step == 1:
            passes.append((start - 1, end, 1, start - 1))
        else:
            passes += [(f - 1, f, 1, f - 1) for f in range(start, end + 1, step)]
    return passes


def render_frames(scene, frames: list[int], frames_dir: Path, render: RenderSettings, *,
                  meta_dir: Path | None = None, log: Callable[[str], None] = print,
                  first_frame: int | None = None, settings_key: str = ""
                  ) -> tuple[list[FrameRecord], list[int]]:
    """Render ``frames`` of ``scene`` into ``frames_dir``, skipping frames already there.

    Returns (records of the frames rendered now, frames skipped because they were finished).
    Progress goes to ``log`` as Blender-style lines (``Fra:``, ``Saved: '<path>'``, ``Time:``).
    Raises FrameRenderError when Blender fails on a frame; frames finished before it stay.
    ``first_frame`` (default: the scene's start) is where a render needs no warm-up frame.
    """
    frames_dir = Path(frames_dir)
    frames_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temp(frames_dir, log)
    done = [f for f in frames if frame_path(frames_dir, f, render).exists()]
    broken = broken_frames(frames_dir, done, render)
    if broken:  # empty or cut short (a full disk, a copy gone wrong): never counted as finished
        for frame, why in broken.items():
            log(f"Frame {frame} is broken ({why})")
        set_aside_broken(frames_dir, [frame_path(frames_dir, f, render) for f in broken], log)
        done = [f for f in done if f not in broken]
    todo = [f for f in frames if f not in set(done)]
    if done:
        log(f"Skipping {len(done)} finished frame(s): {_frame_list_text(done)} (already in {frames_dir})")
        stale = _stale_frames(done, meta_dir, render, settings_key)
        if stale:
            log(f"Warning: frame(s) {_frame_list_text(stale)} were rendered from other settings; "
                f"finished frames are never overwritten: delete them to render them again")
    if not todo:
        return [], done
    tmp_dir = temp_dir_for(frames_dir)
    tmp_dir.mkdir(exist_ok=True)
    records: list[FrameRecord] = []
    state = {"start": 0.0, "frame": None, "index": 0, "said": 0.0}
    first = scene.frame_start if first_frame is None else first_frame
    passes = render_passes(todo, first, render.engine in ("WORKBENCH", "EEVEE"))
    warm_ups = {w for *_, w in passes if w is not None}
    host = socket.gethostname()

    def on_pre(sc, *_):
        state["start"] = time.perf_counter()
        state["frame"] = sc.frame_current
        if sc.frame_current in warm_ups:
            log(f"Warming up on frame {sc.frame_current} (rendered, not kept)")
            return
        state["index"] += 1
        log(f"Fra:{sc.frame_current} Mem:{peak_memory_mb():.1f}M | Rendering frame "
            f"{state['index']}/{len(todo)}")

    def on_stats(stats, *_):
        # Blender's status text for the frame being rendered (Cycles: samples done, time left).
        now = time.perf_counter()
        if (state["frame"] is None or state["frame"] in warm_ups or not isinstance(stats, str)
                or now - max(state["start"], state["said"]) < PROGRESS_SECONDS):
            return
        state["said"] = now
        log(f"Fra:{state['frame']} {' '.join(stats.split())}")

    def on_write(sc, *_):
        # Blender only prints an exception raised in a handler: keep it, raise it after the pass.
        try:
            write_frame(sc.frame_current)
        except Exception as exc:  # noqa: BLE001
            state.setdefault("error", exc)
            state["frame"] = None

    def write_frame(frame: int):
        written = tmp_dir / f"{frame:0{render.padding}d}{extension(render)}"
        if frame in warm_ups:
            written.unlink(missing_ok=True)
            state["frame"] = None
            return
        final = frame_path(frames_dir, frame, render)
        save_start = time.perf_counter()
        if render.file_format == "PNG" and render.engine == "CYCLES":
            strip_png_timings(written)
        try:  # a frame counts once it is proven whole: decoded (PNG) or structure-checked (EXR)
            verify_output(written, f"frame {frame}")
        except BrokenFileError as exc:
            raise FrameRenderError(frame, str(exc)) from None
        os.replace(written, final)
        seconds = time.perf_counter() - state["start"]
        record = FrameRecord(frame, str(final), seconds, peak_memory_mb(), host, settings_key)
        records.append(record)
        if meta_dir is not None:
            write_json_atomic(Path(meta_dir) / f"{frame:0{render.padding}d}.json", asdict(record))
        log(f"Saved: '{final}'")
        log(f" Time: {_clock(seconds)} (Saving: {_clock(time.perf_counter() - save_start)})")
        state["frame"] = None

    saved = (scene.frame_start, scene.frame_end, scene.frame_step, scene.render.filepath)
    bpy.app.handlers.render_pre.append(on_pre)
    bpy.app.handlers.render_write.append(on_write)
    bpy.app.handlers.render_stats.append(on_stats)
    try:
        scene.render.filepath = str(tmp_dir / ("#" * render.padding))
        for start, end, step, _warm_up in passes:
            # Set the end first when moving forward so start <= end holds at every step.
            if start > scene.frame_end:
                scene.frame_end, scene.frame_start = end, start
            else:
                scene.frame_start, scene.frame_end = start, end
            scene.frame_step = step
            try:
                result = bpy.ops.render.render(animation=True, scene=scene.name)
            except RuntimeError as exc:
                if disk_full_here(frames_dir):
                    raise DiskFullError(f"disk full rendering into {frames_dir} (free space and "
                                        "run the same command again)") from None
                raise FrameRenderError(state["frame"] or start, str(exc).strip()) from None
            if "error" in state:
                raise state["error"]
            if "FINISHED" not in result or state["frame"] is not None:
                raise FrameRenderError(state["frame"] or start, f"Blender returned {result}")
    finally:
        bpy.app.handlers.render_pre.remove(on_pre)
        bpy.app.handlers.render_write.remove(on_write)
        bpy.app.handlers.render_stats.remove(on_stats)
        scene.frame_start, scene.frame_end, scene.frame_step, scene.render.filepath = saved
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return records, done


def _stale_frames(frames, meta_dir, render: RenderSettings, settings_key: str) -> list[int]:
    if meta_dir is None or not settings_key:
        return []
    stale = []
    for frame in frames:
        try:
            record = json.loads((Path(meta_dir) / f"{frame:0{render.padding}d}.json").read_text())
        except (OSError, ValueError):
            continue
        if record.get("settings_key", settings_key) != settings_key:
            stale.append(frame)
    return stale


def _frame_list_text(frames: list[int]) -> str:
    parts = []
    for start, end, step in frame_runs(frames):
        if start == end:
            parts.append(str(start))
        else:
            parts.append(f"{start}-{end}" + (f"x{step}" if step != 1 else ""))
    return ",".join(parts)


def frames_text(frames: list[int]) -> str:
    """Compact text for a frame list ("1-48", "1-9x4,12"), readable by ``parse_frames``."""
    return _frame_list_text(frames)


def ground_size_for(lo, hi, factor: float = 150.0) -> float:
    """A ground plane edge that reaches the horizon: ``factor`` x the building's plan diagonal."""
    return max(2000.0, factor * math.hypot(hi[0] - lo[0], hi[1] - lo[1]))


# --------------------------------------------------------------------------------------- finalize
