"""Finalize's Blender glue: the contact sheet, the H.264 preview through the sequencer, PNG
proxies of EXR frames, and reading an MP4's video format back. Never renders the shot itself."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import bpy

from ..core.errors import BrokenFileError, DiskFullError
from ..core.imagecheck import PngError, check_mp4
from ..core.outputs import TMP_PREFIX, disk_full_here, verify_output
from . import compat
from .render import FrameRenderError


def _load_pixels(path: Path):
    """RGBA float pixels (rows bottom-up, as Blender stores them) and the size of an image file."""
    import numpy as np

    img = bpy.data.images.load(str(path), check_existing=False)
    try:
        w, h = img.size
        px = np.empty(w * h * 4, np.float32)
        img.pixels.foreach_get(px)
        if img.is_float:
            # Linear scene-referred (EXR): a plain sRGB encoding is enough for a contact sheet.
            rgb = np.clip(px.reshape(-1, 4)[:, :3], 0, 1)
            px.reshape(-1, 4)[:, :3] = np.where(rgb <= 0.0031308, 12.92 * rgb,
                                                1.055 * rgb ** (1 / 2.4) - 0.055)
        return px.reshape(h, w, 4), (w, h)
    finally:
        bpy.data.images.remove(img)


def _resize(px, width: int, height: int):
    """Box-filter resize of an (h, w, 4) array (area average over each target pixel)."""
    import numpy as np

    h, w = px.shape[:2]
    ys = np.linspace(0, h, height + 1).astype(int)
    xs = np.linspace(0, w, width + 1).astype(int)
    # Average rows then columns with cumulative sums (exact box filter, any ratio).
    cy = np.concatenate([np.zeros((1, w, 4)), np.cumsum(px, 0)])
    rows = (cy[ys[1:]] - cy[ys[:-1]]) / np.maximum(1, ys[1:] - ys[:-1])[:, None, None]
    cx = np.concatenate([np.zeros((height, 1, 4)), np.cumsum(rows, 1)], 1)
    return (cx[:, xs[1:]] - cx[:, xs[:-1]]) / np.maximum(1, xs[1:] - xs[:-1])[None, :, None]


_DIGITS = {  # 3x5 bitmap digits for frame labels, top row first
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111",
    "3": "111001111001111", "4": "101101111001001", "5": "111100111001111",
    "6": "111100111101111", "7": "111001010010010", "8": "111101111101111",
    "9": "111101111001111",
}


def _stamp_label(tile, text: str, scale: int) -> None:
    """Draw ``text`` (digits) in white on a dark box at the tile's top-left (rows bottom-up)."""
    import numpy as np

    h = tile.shape[0]
    width = (4 * len(text) + 1) * scale
    height = 7 * scale
    if width > tile.shape[1] or height > h:
        return
    tile[h - height:h, :width, :3] *= 0.35
    for i, ch in enumerate(text):
        bits = np.array([int(b) for b in _DIGITS[ch]], bool).reshape(5, 3)
        glyph = np.kron(bits, np.ones((scale, scale), bool))[::-1]
        y0 = h - 6 * scale
        x0 = (1 + 4 * i) * scale
        region = tile[y0:y0 + 5 * scale, x0:x0 + 3 * scale, :3]
        region[glyph] = 1.0


def write_contact_sheet(frame_files: list[tuple[int, Path]], out_path: Path, *, count: int,
                        columns: int, tile_width: int) -> Path:
    """A grid of ``count`` evenly spaced frames, labelled with their numbers, as a PNG."""
    import numpy as np

    if not frame_files:
        raise ValueError("no frames for the contact sheet")
    pick = np.unique(np.linspace(0, len(frame_files) - 1, min(count, len(frame_files))).round()
                     .astype(int))
    chosen = [frame_files[i] for i in pick]
    first, (w, h) = _load_pixels(chosen[0][1])
    tile_w = min(tile_width, w)
    tile_h = max(1, round(h * tile_w / w))
    cols = min(columns, len(chosen))
    rows = -(-len(chosen) // cols)
    gap = 4
    sheet_w, sheet_h = cols * tile_w + (cols + 1) * gap, rows * tile_h + (rows + 1) * gap
    sheet = np.full((sheet_h, sheet_w, 4), 0.08, np.float32)
    sheet[..., 3] = 1.0
    scale = max(1, tile_w // 160)
    for k, (frame, path) in enumerate(chosen):
        px = first if k == 0 else _load_pixels(path)[0]
        tile = _resize(px, tile_w, tile_h).astype(np.float32)
        tile[..., 3] = 1.0
        _stamp_label(tile, str(frame), scale)
        r, c = divmod(k, cols)
        y0 = sheet_h - (r + 1) * (tile_h + gap)  # rows are stored bottom-up
        x0 = gap + c * (tile_w + gap)
        sheet[y0:y0 + tile_h, x0:x0 + tile_w] = tile
    img = bpy.data.images.new("collapse-contact", sheet_w, sheet_h, alpha=False)
    try:
        img.pixels.foreach_set(sheet.ravel())
        tmp = out_path.with_name(f".{out_path.stem}.{os.getpid()}.png")
        img.filepath_raw = str(tmp)
        img.file_format = "PNG"
        try:
            img.save()
            verify_output(tmp, "contact sheet")
            os.replace(tmp, out_path)
        except RuntimeError as exc:  # Blender could not write it
            if disk_full_here(tmp):
                raise DiskFullError(f"disk full writing the contact sheet {out_path} (free space "
                                    "and run the same command again)") from None
            raise BrokenFileError(f"contact sheet {out_path}: {exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
    finally:
        bpy.data.images.remove(img)
    return out_path


def _sequence_scene(frame_files: list[Path], size: tuple[int, int], fps: int):
    """A temporary scene whose sequencer plays ``frame_files`` (PNG or multilayer EXR) at ``size``."""
    scene = bpy.data.scenes.new("Collapse Sequence")
    editor = scene.sequence_editor_create()
    strip = compat.sequencer_strips(editor).new_image(
        name="frames", filepath=str(frame_files[0]), channel=1, frame_start=1)
    for path in frame_files[1:]:
        strip.elements.append(Path(path).name)
    scene.frame_start, scene.frame_end = 1, len(frame_files)
    r = scene.render
    r.resolution_x, r.resolution_y = size
    r.resolution_percentage = 100
    r.fps, r.fps_base = fps, 1.0
    r.use_sequencer = True
    r.use_stamp = False
    for name in dir(r):
        if name.startswith("use_stamp_"):
            setattr(r, name, False)
    # PNG frames are display-referred already; EXR frames get the filmic view the shot used.
    exr = str(frame_files[0]).lower().endswith(".exr")
    scene.view_settings.view_transform = "AgX" if exr else "Standard"
    return scene


def encode_preview(frame_files: list[Path], out_path: Path, *, fps: int,
                   size: tuple[int, int]) -> Path:
    """Encode frames into an H.264 MP4 (yuv420p) with Blender's own FFmpeg, via the sequencer.

    ``size`` is the frames' size in pixels (multilayer EXR files do not report theirs).
    """
    # H.264 in 4:2:0 needs even dimensions.
    scene = _sequence_scene(frame_files, (size[0] - size[0] % 2, size[1] - size[1] % 2), fps)
    tmp_dir = out_path.parent / f"{TMP_PREFIX}preview-{os.getpid()}"
    try:
        r = scene.render
        im = r.image_settings
        compat.set_media_type(im, "VIDEO")
        im.file_format = "FFMPEG"
        ff = r.ffmpeg
        ff.format = "MPEG4"
        ff.codec = "H264"
        ff.constant_rate_factor = "HIGH"
        ff.ffmpeg_preset = "GOOD"
        ff.audio_codec = "NONE"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        r.filepath = str(tmp_dir / "preview")
        try:
            bpy.ops.render.render(animation=True, scene=scene.name)
        except RuntimeError as exc:
            if disk_full_here(tmp_dir):
                raise DiskFullError(f"disk full writing the preview {out_path} (free space and "
                                    "run the same command again)") from None
            raise FrameRenderError(0, f"the preview could not be encoded: {str(exc).strip()}") from None
        written = sorted(tmp_dir.glob("*.mp4"))
        if not written:
            if disk_full_here(tmp_dir):
                raise DiskFullError(f"disk full writing the preview {out_path} (free space and "
                                    "run the same command again)")
            raise FrameRenderError(0, f"Blender wrote no MP4 into {tmp_dir}")
        try:
            check_mp4(written[0])
        except PngError as exc:
            if disk_full_here(tmp_dir):
                raise DiskFullError(f"disk full writing the preview {out_path} (free space and "
                                    "run the same command again)") from None
            raise BrokenFileError(f"preview {out_path} came out broken: {exc}") from None
        os.replace(written[0], out_path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        bpy.data.scenes.remove(scene)
    return out_path


def png_proxies(frame_files: list[Path], out_dir: Path, size: tuple[int, int]) -> list[Path]:
    """PNG copies of (multilayer EXR) frames, through the sequencer, for the contact sheet."""
    scene = _sequence_scene(frame_files, size, 24)
    try:
        im = scene.render.image_settings
        compat.set_media_type(im, "IMAGE")
        im.file_format = "PNG"
        im.color_mode = "RGB"
        out_dir.mkdir(parents=True, exist_ok=True)
        scene.render.filepath = str(out_dir / "####")
        bpy.ops.render.render(animation=True, scene=scene.name)
    finally:
        bpy.data.scenes.remove(scene)
    return [out_dir / f"{i:04d}.png" for i in range(1, len(frame_files) + 1)]


def mp4_video_info(path: Path) -> dict:
    """Codec, profile and chroma format of an MP4's first H.264 track (read from its avcC box).

    Enough to check "H.264, yuv420p" without ffprobe: baseline/main profiles are 4:2:0 by
    definition; high profiles store chroma_format_idc in the SPS.
    """
    data = Path(path).read_bytes()
    at = data.find(b"avcC")
    if at < 0:
        return {"codec": None}
    box = data[at + 4:]
    profile = box[1]
    sps_len = int.from_bytes(box[6:8], "big")
    sps = box[8:8 + sps_len]
    info = {"codec": "h264", "profile_idc": profile, "chroma_format_idc": 1}
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        bits = "".join(f"{b:08b}" for b in sps[4:12])  # after NAL header, profile, flags, level
        pos = 0

        def ue():
            nonlocal pos
            zeros = 0
            while bits[pos] == "0":
                zeros += 1
                pos += 1
            value = int(bits[pos:pos + zeros + 1], 2) - 1
            pos += zeros + 1
            return value

        ue()  # seq_parameter_set_id
        info["chroma_format_idc"] = ue()
    info["pix_fmt"] = {0: "gray", 1: "yuv420p", 2: "yuv422p", 3: "yuv444p"}.get(
        info["chroma_format_idc"], "unknown")
    return info


def contact_sheet(frame_files: list[tuple[int, Path]], out_path: Path, *, count: int, columns: int,
                  tile_width: int, size: tuple[int, int], proxies: bool) -> Path:
    """``write_contact_sheet`` of ``count`` evenly spaced frames; with ``proxies`` (frames that
    are not PNG: EXR) they go through PNG proxies of ``size`` in a temporary folder first."""
    import numpy as np

    pick = np.unique(np.linspace(0, len(frame_files) - 1, min(count, len(frame_files)))
                     .round().astype(int))
    chosen = [frame_files[i] for i in pick]
    proxy_dir = Path(tempfile.mkdtemp(prefix="collapse-contact-"))
    try:
        if proxies:
            pngs = png_proxies([p for _, p in chosen], proxy_dir, size)
            chosen = [(f, png) for (f, _), png in zip(chosen, pngs, strict=True)]
        return write_contact_sheet(chosen, out_path, count=len(chosen), columns=columns,
                                   tile_width=tile_width)
    finally:
        shutil.rmtree(proxy_dir, ignore_errors=True)
