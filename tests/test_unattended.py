"""Unattended runs on a tiny Cycles shot: stages in their own processes, crashes named, broken
frames caught, full disks reported in one line, GPU scenes built on CPU nodes, stalls cut off.

Every command is the real CLI in a fresh process, as a farm runs it.
"""

from __future__ import annotations

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
FRAMES = 6
SCENE = f"""\
seed = 2

[building]
storeys = 1
bays_x = 1
bays_y = 1

[fracture]
cell_count = 40

[simulation]
solver = "glue"  # Blender's bake: its determinism and exit at teardown are what these tests pin
frame_end = {FRAMES}

[trigger]
type = "demolition"
frame = 3

[render]
engine = "CYCLES"
resolution = [64, 36]
samples = 1

[output]
alembic = false
contact_frames = 4
contact_width = 64
"""


def collapse(*args, env=None, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headless.cli", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def hashes(folder: Path) -> dict[str, str]:
    from collapse_addon.core.shotfolder import file_sha256

    return {p.name: file_sha256(p) for p in sorted(folder.glob("*.png"))}


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    """`collapse run` of a Cycles scene: the build, bake and render run in their own processes."""
    base = tmp_path_factory.mktemp("unattended")
    scene = base / "cyc.toml"
    scene.write_text(SCENE)
    result = collapse("run", scene, "--out", base / "out")
    root = base / "out" / "cyc" / "2"
    return {"scene": scene, "out": base / "out", "root": root, "result": result,
            "hashes": hashes(root / "frames")}


def copy_shot(shot, tmp_path: Path, frames: bool = True) -> Path:
    out = tmp_path / "out"
    shutil.copytree(shot["out"], out)
    root = out / "cyc" / "2"
    if not frames:
        shutil.rmtree(root / "frames")
        for name in ("preview.mp4", "contact.png", "manifest.json"):
            (root / name).unlink()
    return root


def test_run_of_a_cycles_scene_exits_0(shot):
    result = shot["result"]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert len(shot["hashes"]) == FRAMES
    for name in ("scene.blend", "preview.mp4", "contact.png", "manifest.json", "source.json"):
        assert (shot["root"] / name).is_file(), name
    for stage in ("build", "bake", "render", "finalize"):
        assert (shot["root"] / "logs" / f"{stage}.log").is_file(), stage


def test_a_crashing_stage_is_named_with_its_log_and_the_next_run_resumes(shot, tmp_path):
    root = copy_shot(shot, tmp_path, frames=False)
    crashed = collapse("run", shot["scene"], "--out", root.parents[1],
                       env={"COLLAPSE_TEST_CRASH": "render"})
    assert crashed.returncode == 1, crashed.stderr[-2000:]
    line = error_lines(crashed)[-1]
    assert "render stage crashed" in line and "SIGSEGV" in line
    assert str(root / "logs" / "render.log") in line
    resumed = collapse("run", shot["scene"], "--out", root.parents[1])
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Already built from these settings" in resumed.stdout
    assert "Already baked from these settings" in resumed.stdout
    assert hashes(root / "frames") == shot["hashes"]


def test_broken_frames_are_refused_by_finalize_set_aside_and_rendered_again(shot, tmp_path):
    root = copy_shot(shot, tmp_path)
    frames = root / "frames"
    (frames / "0002.png").write_bytes((frames / "0002.png").read_bytes()[:300])  # cut short
    (frames / "0003.png").write_bytes(b"")  # the 0-byte frames of a full disk
    stale = [root / ".tmp-preview-4999999", root / ".contact.4999999.png",
             root / ".manifest.json.4999999.tmp"]  # left by a finalize killed earlier
    stale[0].mkdir()
    (stale[0] / "preview0001-0006.mp4").write_bytes(b"\0\0\0\x18ftypmp42")
    for path in stale[1:]:
        path.write_bytes(b"partial")
    refused = collapse("finalize", shot["scene"], "--out", root.parents[1])
    assert not any(path.exists() for path in stale)
    assert refused.returncode == 1
    assert len(error_lines(refused)) == 1 and "2-3" in error_lines(refused)[0]
    assert not (frames / "0002.png").exists() and len(list((frames / ".broken").iterdir())) == 2
    (frames / "0005.png").write_bytes((frames / "0005.png").read_bytes()[:-20])
    rendered = collapse("render", shot["scene"], "--out", root.parents[1])
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    assert "Frame 5 is broken" in rendered.stdout and "Rendered 3 frame(s)" in rendered.stdout
    assert hashes(frames) == shot["hashes"]
    final = collapse("finalize", shot["scene"], "--out", root.parents[1])
    assert final.returncode == 0, final.stderr[-2000:]
    manifest = json.loads((root / "manifest.json").read_text())
    assert {Path(f["file"]).name: f["sha256"] for f in manifest["frame_files"]} == shot["hashes"]


def test_another_scene_file_of_the_same_name_cannot_mix_into_the_shot(shot, tmp_path):
    root = copy_shot(shot, tmp_path)
    other = tmp_path / "elsewhere" / "cyc.toml"
    other.parent.mkdir()
    other.write_text(SCENE)
    result = collapse("render", other, "--out", root.parents[1])
    assert result.returncode == 2
    assert "another scene file" in result.stderr and str(shot["scene"]) in result.stderr


def test_a_scene_file_named_dots_stays_inside_the_output_root(tmp_path):
    scene = tmp_path / "...toml"
    scene.write_text(SCENE)
    result = collapse("check", scene)
    assert result.returncode == 0
    from collapse_addon.api import ShotPaths

    root = ShotPaths.for_shot(scene.stem, 2, tmp_path / "out").root
    assert root.parent.parent == tmp_path / "out" and root.parent.name == "_."


def test_a_gpu_scene_builds_and_bakes_on_a_cpu_only_node(tmp_path):
    scene = tmp_path / "gpu.toml"
    scene.write_text(SCENE.replace('engine = "CYCLES"', 'engine = "CYCLES"\ndevice = "GPU"\n'
                                   'gpu_backend = "CUDA"'))
    out = tmp_path / "out"
    for stage in ("build", "bake"):
        result = collapse(stage, scene, "--out", out)
        assert result.returncode == 0, result.stderr[-2000:]
    result = collapse("render", scene, "--out", out, "--frames", "1")
    if result.returncode == 0:
        pytest.skip("this machine has a CUDA GPU")
    assert result.returncode == 4 and "CUDA" in result.stderr


def test_a_stalled_render_device_ends_in_exit_4_within_the_timeout(shot, tmp_path):
    root = copy_shot(shot, tmp_path, frames=False)
    scene = tmp_path / "cyc.toml"
    scene.write_text(SCENE.replace("samples = 1", "samples = 1\nframe_timeout = 3"))
    start = time.perf_counter()
    result = collapse("render", scene, "--out", root.parents[1],
                      env={"COLLAPSE_TEST_STALL_FRAME": "3"}, timeout=60)
    seconds = time.perf_counter() - start
    assert result.returncode == 4, result.stderr[-2000:]
    assert "stalled" in error_lines(result)[-1] and "render.frame_timeout" in result.stderr
    assert seconds < 3 + 20  # the timeout, plus starting Blender and two frames
    kept = sorted(p.name for p in (root / "frames").iterdir())
    assert kept == ["0001.png", "0002.png"]  # finished frames kept, no temporaries left


def test_render_progress_names_the_gpu_backend_and_kernel_compilation(tmp_path):
    from headless.gpu import FrameWatchdog, RenderProgress

    lines = []
    cache = tmp_path / "kernels"
    cache.mkdir()
    progress = RenderProgress(lines.append, FrameWatchdog(0, print), cache)
    progress("Rendering 2 frame(s) with CYCLES on GPU (OPTIX: NVIDIA H200), 64x36")
    (cache / "kernel.bin").write_bytes(b"x" * 2_000_000)  # what the driver compiled
    progress("Saved: '/x/0001.png'")
    progress("Saved: '/x/0002.png'")
    text = "\n".join(lines)
    assert "GPU backend: GPU (OPTIX: NVIDIA H200)" in text and str(cache) in text
    assert "Compiled GPU kernels for this GPU" in text and "2.0 MB" in text
    assert text.count("Compiled GPU kernels") == 1


def test_a_watchdog_fires_only_without_progress():
    from headless.gpu import FrameWatchdog

    fired = []
    dog = FrameWatchdog(0.5, fired.append).start()
    for _ in range(6):
        time.sleep(0.2)
        dog.progress()
    assert not fired
    time.sleep(1.0)
    dog.stop()
    assert len(fired) == 1 and fired[0] > 0.5


def test_stage_exit_codes_are_the_stages_own_never_a_signal(shot, tmp_path):
    """Build, bake and render twice over (the bench does 20): 0 each time, never 139."""
    for attempt in range(2):
        out = tmp_path / f"out{attempt}"
        for stage in ("build", "bake", "render"):
            result = collapse(stage, shot["scene"], "--out", out, "--seed", "2")
            assert result.returncode == 0, (stage, result.returncode, result.stderr[-1500:])
        assert hashes(out / "cyc" / "2" / "frames") == shot["hashes"]


def test_run_is_stopped_with_its_stage_by_sigterm(shot, tmp_path):
    root = copy_shot(shot, tmp_path, frames=False)
    process = subprocess.Popen([sys.executable, "-m", "headless.cli", "run", str(shot["scene"]),
                                "--out", str(root.parents[1])], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for line in process.stdout:
        if line.startswith("Fra:"):
            break
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143, err[-1500:]
    time.sleep(0.5)
    assert not [p for p in (root / "frames").iterdir() if p.name.startswith(".tmp-")]


# ------------------------------------------------------------------------------------ full disk


@pytest.fixture
def small_disk(tmp_path):
    """A 12 MB tmpfs (needs root and mount): filled up on demand to make the disk full."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of ``disk``; returns the filler to delete to free space again."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (1 << 16, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                continue
    finally:
        os.close(fd)
    return filler


def free(disk: Path) -> None:
    (disk / "filler").unlink(missing_ok=True)


def test_a_full_disk_at_every_stage_is_one_error_and_the_rerun_completes_the_same_shot(
        shot, small_disk):
    out = small_disk / "out"
    root = out / "cyc" / "2"
    args = (shot["scene"], "--out", out)
    for stage in ("build", "bake", "render", "finalize"):
        fill(small_disk)
        failed = collapse(stage, *args)
        lines = error_lines(failed)
        assert failed.returncode == 1, (stage, failed.returncode, failed.stderr[-2000:])
        assert len(lines) == 1 and "disk full" in lines[0], lines
        assert stage in lines[0] or "--out" in lines[0], lines
        assert "Traceback" not in failed.stderr
        if (root / "frames").is_dir():  # nothing half-written is presented as done
            for path in (root / "frames").glob("*.png"):
                from collapse_addon.core.imagecheck import check_image

                check_image(path)
        assert not (root / "manifest.json").exists()
        free(small_disk)
        rerun = collapse(stage, *args)
        assert rerun.returncode == 0, (stage, rerun.stderr[-2000:])
    assert hashes(root / "frames") == shot["hashes"]
    manifest = json.loads((root / "manifest.json").read_text())
    assert {Path(f["file"]).name: f["sha256"] for f in manifest["frame_files"]} == shot["hashes"]
    leftovers = [p for p in root.rglob(".*") if p.name != ".broken"]
    assert not leftovers, leftovers


# ---------------------------------------------------------------------------------- determinism

READ_TRANSFORMS = """
import sys
import bpy
import numpy as np
from collapse_addon.blender import simulation
for blend, out in zip(sys.argv[1::2], sys.argv[2::2]):
    bpy.ops.wm.open_mainfile(filepath=blend, load_ui=False)
    positions, rotations = simulation.baked_transforms(bpy.context.scene)
    np.savez(out, positions=positions, rotations=rotations)
import os
os._exit(0)
"""


def test_bakes_in_separate_processes_are_identical_also_after_a_kill(shot, tmp_path):
    """Three bakes of one built shot, each `collapse bake` in its own process, the third killed
    mid-bake and run again: the same transforms for every shard at every frame (the bench
    bench/bench_bake_determinism.py does 30)."""
    import numpy as np

    built = tmp_path / "built"
    assert collapse("build", shot["scene"], "--out", built).returncode == 0
    blends = []
    for run in range(3):
        out = tmp_path / f"bake{run}"
        shutil.copytree(built, out)
        argv = [sys.executable, "-m", "headless.cli", "bake", str(shot["scene"]), "--out",
                str(out)]
        if run == 2:
            process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                       stderr=subprocess.DEVNULL)
            for line in process.stdout:
                if line.startswith("Bake: frame"):
                    break
            process.kill()
            process.wait()
        assert subprocess.run(argv, cwd=ROOT, capture_output=True).returncode == 0
        blends.append(out / "cyc" / "2" / "scene.blend")
    arrays = [tmp_path / f"t{run}.npz" for run in range(3)]
    subprocess.run([sys.executable, "-c", READ_TRANSFORMS,
                    *[str(a) for pair in zip(blends, arrays, strict=True) for a in pair]],
                   cwd=ROOT, check=True, capture_output=True)
    first = np.load(arrays[0])
    assert first["positions"].shape[0] == FRAMES
    for other in arrays[1:]:
        data = np.load(other)
        assert np.array_equal(data["positions"], first["positions"])
        assert np.array_equal(data["rotations"], first["rotations"])


def test_run_of_the_cycles_scene_that_crashed_in_one_process_exits_0(tmp_path):
    """This scene crashed `collapse run` (exit 139 while opening the baked file for the render,
    on bpy 5.0.1) when one process built, baked and rendered it; each stage now has its own."""
    scene = tmp_path / "three.toml"
    scene.write_text("seed = 1\n[building]\nstoreys = 3\nbays_x = 2\nbays_y = 2\n"
                     "[fracture]\ncell_count = 150\n[simulation]\nframe_end = 8\n"
                     "[trigger]\ntype = \"demolition\"\nframe = 3\n"
                     "[render]\nresolution = [64, 36]\nsamples = 1\nengine = \"CYCLES\"\n")
    result = collapse("run", scene, "--out", tmp_path / "out", "--frames", "1")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert (tmp_path / "out" / "three" / "1" / "frames" / "0001.png").is_file()


DUMP_RELATIONS = """
import sys
import bpy
bpy.ops.wm.open_mainfile(filepath=sys.argv[1], load_ui=False)
bpy.context.evaluated_depsgraph_get().debug_relations_graphviz(filepath=sys.argv[2])
import os
os._exit(0)
"""


def _relations(dot: str):
    """Operation nodes (id -> (label, owning ID)) and edges of Blender's depsgraph dump."""
    import re

    labels, owners, stack = {}, {}, []
    for line in dot.splitlines():
        s = line.strip()
        if s.startswith("subgraph"):
            stack.append("")
        elif s.startswith("graph [") and stack:
            stack[-1] = re.search(r'label="([^"]*)"', s).group(1)
        elif s == "}" and stack:
            stack.pop()
        elif (m := re.match(r'"(\d+)"\s*\[.*label="([^"]*)"', s)) and "->" not in s:
            labels[m.group(1)] = m.group(2)
            owners[m.group(1)] = next((x for x in stack if x.startswith("ID_REF")), "")
    edges = re.findall(r'"(\d+)" -> "(\d+)"', dot)
    return labels, owners, edges


def test_every_trigger_animation_is_evaluated_before_the_rigid_body_step(shot, tmp_path):
    """The source of bakes that differed: nothing ordered the glue holders' animation (glue
    switched off) before the simulation step that reads it. Every object animation must now
    reach the step in Blender's own dependency graph."""
    import collections

    built = tmp_path / "built"
    assert collapse("build", shot["scene"], "--out", built).returncode == 0
    dot = tmp_path / "relations.dot"
    subprocess.run([sys.executable, "-c", DUMP_RELATIONS, str(built / "cyc" / "2" / "scene.blend"),
                    str(dot)], cwd=ROOT, check=True, capture_output=True)
    labels, owners, edges = _relations(dot.read_text())
    graph = collections.defaultdict(list)
    for a, b in edges:
        graph[a].append(b)
    step = next(n for n, label in labels.items() if label.startswith("RIGIDBODY_SIM"))
    # the camera's slow move is animated too, but the simulation does not read it
    animations = [n for n, label in labels.items()
                  if label.startswith("ANIMATION_EVAL") and owners[n].startswith("ID_REF : OB")
                  and not owners[n].startswith("ID_REF : OBCollapse Camera")]
    assert len(animations) > 10  # kicks and glue switched off

    def reaches(node):
        seen, todo = {node}, [node]
        while todo:
            for nxt in graph[todo.pop()]:
                if nxt == step:
                    return True
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return False

    unordered = [owners[n].split(" (orig")[0] for n in animations if not reaches(n)]
    assert not unordered, unordered[:5]
