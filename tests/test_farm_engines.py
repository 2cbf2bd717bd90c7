"""The farm on real engines with the real CLI and real Blender renders of a tiny scene.

- Dask: a LocalCluster (TCP, 2 worker processes) bakes, renders in chunks and finalizes; one worker
  process is killed with its chunk's Blender mid-job, and still every frame is there, decodes, and
  equals the plain CLI's frame byte for byte.
- OpenJD: the generated template run by ``openjd run`` gives the plain CLI's frames (same hashes).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from headless.farm.commands import collapse_command, resolve_shot
from headless.farm.dask_farm import open_client, plan_shot, run_tasks
from headless.farm.frames import format_frames
from headless.farm.openjd import openjd_template, write_openjd_template
from headless.farm.verify import check_frames

# One storey, 12 frames of 64x36 Workbench: each chunk is a whole Blender process, kept small.
TINY_SCENE = """\
seed = 3
[building]
storeys = 1
bays_x = 1
bays_y = 1
[fracture]
cell_count = 40
[simulation]
solver = "glue"  # these tests pin the Bullet glue route
frame_end = 12
[trigger]
frame = 3
[render]
resolution = [64, 36]
samples = 1
[output]
preview = false
contact_sheet = false
alembic = false
"""
CHUNK = 3


def frame_hashes(shot, frames) -> dict[int, str]:
    return {f: hashlib.sha256(shot.frame_file(f).read_bytes()).hexdigest() for f in frames}


def collapse(*args: str, cwd: Path) -> None:
    run = subprocess.run([*collapse_command(), *args], cwd=cwd, capture_output=True, text=True)
    assert run.returncode == 0, f"collapse {' '.join(args)} -> {run.returncode}\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The tiny shot baked and rendered by the plain CLI: the reference frames."""
    root = tmp_path_factory.mktemp("farm")
    scene = root / "tiny.toml"
    scene.write_text(TINY_SCENE)
    shot, frames = resolve_shot(scene, root / "plain")
    collapse("bake", str(scene), "--out", str(shot.out), cwd=root)
    collapse("render", str(scene), "--out", str(shot.out), "--threads", "1", cwd=root)
    return scene, frames, frame_hashes(shot, frames)


def kill_a_chunk_mid_job(client, out: Path, killed: list) -> None:
    """Wait for a chunk's Blender under a Dask worker, then kill -9 the worker and that process."""
    worker_pids = set(client.run(os.getpid).values())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for pid in worker_pids:
            try:
                children = psutil.Process(pid).children()
            except psutil.NoSuchProcess:
                continue
            for child in children:
                try:
                    cmdline = child.cmdline()
                except psutil.Error:
                    continue
                if "render" in cmdline and str(out) in cmdline:
                    time.sleep(0.5)  # let it get into Blender
                    if not child.is_running() or child.status() == psutil.STATUS_ZOMBIE:
                        continue  # finished meanwhile: wait for the next chunk
                    os.kill(pid, signal.SIGKILL)
                    try:
                        child.send_signal(signal.SIGKILL)
                    except psutil.NoSuchProcess:
                        pass  # already gone with its worker (PR_SET_PDEATHSIG)
                    killed.append(cmdline[cmdline.index("--frames") + 1])
                    return
        time.sleep(0.05)


def test_dask_local_cluster_loses_a_worker_and_no_frame(plain, tmp_path):
    scene, frames, reference = plain
    shot, _ = resolve_shot(scene, tmp_path / "dask")
    tasks = plan_shot(shot, frames, CHUNK, threads=1)
    killed: list[str] = []
    with open_client(workers=2) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        assert all(addr.startswith("tcp://") for addr in client.scheduler_info()["workers"])
        killer = threading.Thread(target=kill_a_chunk_mid_job, args=(client, shot.out, killed))
        killer.start()
        summary = run_tasks(client, tasks, retries=2)
        killer.join()
    print(summary.format())
    assert killed, "no chunk was seen running under a worker"
    assert not summary.failed and not summary.skipped, summary.format()
    retried = {o.spec.label for o in summary.retried}
    assert f"{shot.name}/render-{killed[0]}" in retried, summary.format()
    assert len({o.worker for o in summary.done if o.spec.kind == "render"}) >= 2
    check = check_frames(shot, frames)
    assert check.ok and check.checked == len(frames), (check.missing, check.broken)
    assert frame_hashes(shot, frames) == reference
    assert (shot.folder / "manifest.json").is_file()


def test_openjd_run_renders_the_plain_cli_frames(plain, tmp_path):
    scene, frames, reference = plain
    out = tmp_path / "openjd"
    template = openjd_template(scene, out, format_frames(frames), 5, threads=1,
                               template_dir=tmp_path)
    path = write_openjd_template(tmp_path / "collapse.yaml", template)
    command = collapse_command()
    if len(command) != 1:
        pytest.skip("OpenJD runs `collapse` as one executable; install the collapse script")
    run = subprocess.run(
        [str(Path(sys.executable).with_name("openjd")), "run", str(path), "--step", "Finalize",
         "--run-dependencies", "-p", f"SceneFile={scene}", "-p", f"OutDir={out}",
         "-p", f"CollapseCommand={command[0]}"],
        capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert run.stdout.count("Frame(CHUNK[INT]) =") == 3  # 12 frames in contiguous tasks of <= 5
    shot, _ = resolve_shot(scene, out)
    check = check_frames(shot, frames)
    assert check.ok, (check.missing, check.broken)
    assert frame_hashes(shot, frames) == reference
    assert (shot.folder / "manifest.json").is_file()


def test_farm_batch_renders_each_seed_into_its_own_shot(tmp_path):
    """`collapse farm batch` end to end: two seeds, one job, one folder and manifest per shot."""
    scene = tmp_path / "tiny.toml"
    scene.write_text(TINY_SCENE.replace("frame_end = 12", "frame_end = 4")
                     .replace("frame = 3", "frame = 2"))
    out = tmp_path / "batch"
    run = subprocess.run([*collapse_command(), "farm", "batch", str(scene), "--seeds", "1,2",
                          "--workers", "2", "--chunk-size", "4", "--threads", "1",
                          "--out", str(out)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "8/8 tasks done, 0 retried, 0 failed, 0 skipped" in run.stdout
    hashes = []
    for seed in (1, 2):
        shot, frames = resolve_shot(scene, out, seed)
        assert shot.folder == out / "tiny" / str(seed) and frames == [1, 2, 3, 4]
        assert check_frames(shot, frames).ok
        assert (shot.folder / "manifest.json").is_file()
        hashes.append(frame_hashes(shot, [4]))
    assert hashes[0] != hashes[1]  # different seeds, different shots
