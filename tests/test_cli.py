"""The headless CLI end to end, with real Blender processes on a tiny shot.

One module-scoped `collapse run` makes the reference shot (build, bake, render, finalize); the
other tests copy its folder and run single commands on it as a farm would: chunks, resume after a
kill, exit codes, the manifest, and proof that `render` reads the baked cache instead of simulating.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 10

# The shared tiny shot (conftest), with 10 frames and a small contact sheet.
CLI_SCENE = {"simulation": {"frame_end": FRAMES}, "output": {"contact_frames": 4, "contact_width": 64}}


def cli_scene(**render) -> dict:
    """The CLI's changes to the tiny shot, plus ``render`` keys."""
    return {**CLI_SCENE, "render": render}


def collapse(*args, env=None, **kwargs) -> subprocess.CompletedProcess:
    """Run the real CLI in a fresh process (as a farm does)."""
    return subprocess.run([sys.executable, "-m", "headless.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, env=env or os.environ.copy(),
                          timeout=240, **kwargs)


def frame_hashes(frames_dir: Path) -> dict[str, str]:
    from collapse_addon.api import sha256_file

    return {p.name: sha256_file(p) for p in sorted(frames_dir.glob("*.png"))}


@pytest.fixture(scope="module")
def shot(tmp_path_factory, tiny_scene):
    """The reference shot, made by `collapse run` once for the module."""
    base = tmp_path_factory.mktemp("cli")
    scene = tiny_scene(base / "tiny.toml", CLI_SCENE)
    out = base / "out"
    result = collapse("run", scene, "--out", out)
    assert result.returncode == 0, result.stdout + result.stderr
    root = out / "tiny" / "2"
    return {"scene": scene, "out": out, "root": root, "stdout": result.stdout,
            "hashes": frame_hashes(root / "frames")}


def copy_shot(shot, tmp_path: Path, keep_frames: bool = False) -> Path:
    """A copy of the baked reference shot under a new output root (frames removed)."""
    out = tmp_path / "out"
    shutil.copytree(shot["out"], out)
    root = out / "tiny" / "2"
    if not keep_frames:
        shutil.rmtree(root / "frames")
        shutil.rmtree(root / "logs" / "frames", ignore_errors=True)
    return out


def test_run_makes_every_file_of_the_layout(shot):
    root = shot["root"]
    for name in ("scene.blend", "report.json", "manifest.json", "preview.mp4", "contact.png"):
        assert (root / name).is_file(), name
    assert len(shot["hashes"]) == FRAMES
    assert [p.name for p in sorted((root / "frames").iterdir())] == \
        [f"{f:04d}.png" for f in range(1, FRAMES + 1)]
    assert (root / "logs" / "run.log").is_file()
    out = shot["stdout"]
    assert "Fra:1 " in out and f"Saved: '{root / 'frames' / '0001.png'}'" in out and " Time: " in out
    for stage in ("build", "bake", "render", "finalize", "total"):
        assert stage in out.split("Shot tiny seed 2")[1]


def test_manifest_records_versions_hashes_settings_and_per_frame_costs(shot):
    from collapse_addon.api import sha256_file
    from collapse_addon.core.settings import load_scene, settings_to_dict

    manifest = json.loads((shot["root"] / "manifest.json").read_text())
    assert manifest["tool"]["name"] == "collapse" and manifest["tool"]["version"]
    # The Blender this venv runs (any supported line: ./dev --blender X.Y test).
    installed = importlib.metadata.version("bpy").split(".")
    assert manifest["blender"]["version"].startswith(".".join(installed[:2]) + ".")
    assert manifest["scene"]["sha256"] == sha256_file(shot["scene"])
    assert manifest["seed"] == 2
    expected = json.loads(json.dumps(settings_to_dict(load_scene(shot["scene"]))))
    assert manifest["settings"] == expected
    assert manifest["frames"] == list(range(1, FRAMES + 1))
    for record in manifest["frame_files"]:
        path = shot["root"] / record["file"]
        assert record["sha256"] == sha256_file(path)
        assert record["seconds"] > 0 and record["peak_memory_mb"] > 50
    for name, digest in manifest["outputs"].items():
        assert sha256_file(shot["root"] / name) == digest
    assert {"preview.mp4", "contact.png", "report.json"} <= set(manifest["outputs"])
    assert {"build", "bake", "render"} <= set(manifest["stages"])


def test_preview_is_h264_yuv420p(shot):
    from collapse_addon.blender.finalize import mp4_video_info

    info = mp4_video_info(shot["root"] / "preview.mp4")
    assert info["codec"] == "h264" and info["pix_fmt"] == "yuv420p"


def test_rerun_skips_finished_frames_and_says_so(shot):
    result = collapse("render", shot["scene"], "--out", shot["out"])
    assert result.returncode == 0, result.stderr
    assert f"Skipping {FRAMES} finished frame(s)" in result.stdout
    assert "Fra:" not in result.stdout
    assert "frames/min" not in result.stdout  # no "0.0 frames/min" when nothing was rendered
    assert frame_hashes(shot["root"] / "frames") == shot["hashes"]


@pytest.mark.slow
def test_chunked_renders_equal_a_single_render(shot, tmp_path):
    out = copy_shot(shot, tmp_path)
    for chunk in ("1/3", "2/3", "3/3"):
        result = collapse("render", shot["scene"], "--out", out, "--chunk", chunk, "--threads", 1)
        assert result.returncode == 0, result.stdout + result.stderr
    assert frame_hashes(out / "tiny" / "2" / "frames") == shot["hashes"]
    assert (out / "tiny" / "2" / "logs" / "render-2of3.log").is_file()


def test_frame_lists_render_just_those_frames(shot, tmp_path):
    out = copy_shot(shot, tmp_path)
    result = collapse("render", shot["scene"], "--out", out, "--frames", "1,5,9")
    assert result.returncode == 0, result.stderr
    hashes = frame_hashes(out / "tiny" / "2" / "frames")
    assert hashes == {k: shot["hashes"][k] for k in ("0001.png", "0005.png", "0009.png")}


def _render_until_first_frame(scene, out) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "headless.cli", "render", str(scene), "--out",
                             str(out), "--threads", "1"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("Saved: "):
            return proc
    raise AssertionError(f"no frame was saved: {proc.stderr.read()}")


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_killed_render_leaves_no_broken_frame_and_rerun_completes_only_the_missing(shot, tmp_path,
                                                                                  how):
    out = copy_shot(shot, tmp_path)
    frames_dir = out / "tiny" / "2" / "frames"
    proc = _render_until_first_frame(shot["scene"], out)
    proc.send_signal(getattr(signal, how))
    code = proc.wait(timeout=60)
    stderr = proc.stderr.read()
    if how == "SIGTERM":
        assert code == 143 and "Interrupted by SIGTERM" in stderr
        assert not list(frames_dir.glob(".tmp-*")), "SIGTERM must clean its temporary frames"
    else:
        assert code == -9
    done = frame_hashes(frames_dir)
    assert 1 <= len(done) < FRAMES, "the kill must land mid-render"
    # Every frame in place is complete and exactly the reference frame.
    assert done == {k: shot["hashes"][k] for k in done}

    result = collapse("render", shot["scene"], "--out", out)
    assert result.returncode == 0, result.stderr
    assert f"Skipping {len(done)} finished frame(s)" in result.stdout
    assert result.stdout.count("Saved: ") == FRAMES - len(done)
    assert frame_hashes(frames_dir) == shot["hashes"]
    assert not list(frames_dir.glob(".tmp-*"))


def test_render_reads_the_baked_cache_and_never_simulates(shot, tmp_path, bpy_module):
    """Turn gravity upside down in the baked file: a re-simulation would throw the shards up,
    the cache gives the reference frames. With the cache freed, render refuses (exit 3)."""
    bpy = bpy_module
    out = copy_shot(shot, tmp_path)
    blend = out / "tiny" / "2" / "scene.blend"
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    scene = bpy.context.scene
    assert scene.rigidbody_world.point_cache.is_baked
    scene.gravity = (0.0, 0.0, 30.0)
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    started = time.perf_counter()
    result = collapse("render", shot["scene"], "--out", out)
    assert result.returncode == 0, result.stderr
    assert frame_hashes(out / "tiny" / "2" / "frames") == shot["hashes"]

    with bpy.context.temp_override(scene=scene, point_cache=scene.rigidbody_world.point_cache):
        bpy.ops.ptcache.free_bake()
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    shutil.rmtree(out / "tiny" / "2" / "frames")
    result = collapse("render", shot["scene"], "--out", out)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "no baked simulation" in result.stderr
    assert not list((out / "tiny" / "2").glob("frames/*.png"))
    assert time.perf_counter() - started < 200


def test_exit_2_on_a_scene_error_naming_file_and_key(tmp_path, tiny_scene):
    bad = tmp_path / "bad.toml"
    bad.write_text("[render]\nsamples = -1\n")
    result = collapse("render", bad, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert str(bad) in result.stderr and "render.samples" in result.stderr
    assert "1 to 65536" in result.stderr
    result = collapse("render", tmp_path / "missing.toml")
    assert result.returncode == 2
    result = collapse("render", tiny_scene(tmp_path / "tiny.toml", CLI_SCENE), "--chunk", "5/2", "--out", tmp_path / "out")
    assert result.returncode == 2 and "chunk" in result.stderr


def test_exit_3_when_the_input_of_a_stage_is_missing(shot, tmp_path, tiny_scene):
    scene = tiny_scene(tmp_path / "tiny.toml", CLI_SCENE)
    result = collapse("render", scene, "--out", tmp_path / "empty")
    assert result.returncode == 3 and "collapse build" in result.stderr
    out = copy_shot(shot, tmp_path)
    result = collapse("finalize", shot["scene"], "--out", out)
    assert result.returncode == 3 and "not rendered yet" in result.stderr


def test_exit_1_when_a_frame_fails(shot, tmp_path, bpy_module):
    bpy = bpy_module
    out = copy_shot(shot, tmp_path)
    blend = out / "tiny" / "2" / "scene.blend"
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    bpy.data.objects.remove(bpy.context.scene.camera)  # Blender cannot render without a camera
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result = collapse("render", shot["scene"], "--out", out)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "frame 1" in result.stderr and "camera" in result.stderr.lower()


def test_exit_4_when_the_render_device_is_missing(shot, tmp_path, tiny_scene):
    import bpy  # noqa: F401 - only to ask Cycles whether a GPU exists here

    gpu_scene = tiny_scene(tmp_path / "tiny.toml", cli_scene(engine="CYCLES", device="GPU"))
    out = copy_shot(shot, tmp_path)
    result = collapse("render", gpu_scene, "--out", out)
    if result.returncode == 0:
        pytest.skip("this machine has a GPU that Cycles can use")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "GPU" in result.stderr


def test_render_settings_apply_at_render_time_multilayer_exr(shot, tmp_path, tiny_scene):
    """Render settings are read at render time: the same bake renders to multilayer EXR."""
    out = copy_shot(shot, tmp_path)
    (tmp_path / "exr").mkdir()
    scene = tiny_scene(tmp_path / "exr" / "tiny.toml", cli_scene(file_format="OPEN_EXR_MULTILAYER"))
    result = collapse("render", scene, "--out", out, "--frames", "1-3")
    assert result.returncode == 0, result.stdout + result.stderr
    frames = sorted((out / "tiny" / "2" / "frames").glob("*.exr"))
    assert [p.name for p in frames] == ["0001.exr", "0002.exr", "0003.exr"]
    assert all(p.read_bytes()[:4] == b"\x76\x2f\x31\x01" for p in frames)  # OpenEXR magic


@pytest.mark.slow
def test_cycles_frames_are_byte_identical_across_threads_and_chunks(shot, tmp_path, tiny_scene):
    """Cycles stamps render times into PNGs; the CLI drops them, so hashes compare pixels."""
    (tmp_path / "cycles").mkdir()
    scene = tiny_scene(tmp_path / "cycles" / "tiny.toml", cli_scene(samples=2, engine="CYCLES", denoise=True))
    single = copy_shot(shot, tmp_path / "single")
    result = collapse("render", scene, "--out", single, "--frames", "4-5", "--threads", 1)
    assert result.returncode == 0, result.stdout + result.stderr
    chunked = copy_shot(shot, tmp_path / "chunked")
    for chunk in ("2/2", "1/2"):
        result = collapse("render", scene, "--out", chunked, "--frames", "4-5", "--chunk", chunk,
                          "--threads", 2)
        assert result.returncode == 0, result.stdout + result.stderr
    expected = frame_hashes(single / "tiny" / "2" / "frames")
    assert len(expected) == 2
    assert frame_hashes(chunked / "tiny" / "2" / "frames") == expected
