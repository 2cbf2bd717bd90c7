"""Farm layer without Blender: frame chunks, task graphs, PNG checks, job files, Dask retries.

The Dask tests here run a real LocalCluster (TCP, worker processes) on small Python commands, so
the retry and failure accounting is pinned in seconds; tests/test_farm_engines.py renders real
scenes through the real CLI.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from collapse_addon.core.errors import SpecError
from headless.farm.commands import Shot, resolve_shot
from headless.farm.dask_farm import TaskSpec, open_client, plan_shot, run_tasks
from headless.farm.flamenco import flamenco_job_type
from headless.farm.frames import chunk_frames, format_frames, parse_frames
from headless.farm.openjd import openjd_template, validate_template, write_openjd_template
from headless.farm.pngcheck import PngError, decode_png

FLAMENCO_DATA = Path(__file__).parent / "data" / "flamenco"
TINY_SCENE = """\
seed = 5
[building]
storeys = 1
bays_x = 1
bays_y = 1
[simulation]
solver = "glue"  # these tests pin the Bullet glue route
frame_end = 12
[trigger]
frame = 3
[render]
resolution = [64, 36]
"""


@pytest.fixture
def scene(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_SCENE)
    return path


def write_png(path: Path, width: int = 3, height: int = 2) -> Path:
    """A real RGB PNG from the standard library."""
    raw = b"".join(b"\x00" + bytes(range(3 * width)) for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


# ------------------------------------------------------------------------------------------ frames


def test_format_frames_round_trips_through_parse():
    for spec in ["1-48", "1,5,9", "1-3,7,9-12", "4"]:
        assert format_frames(parse_frames(spec)) == spec
    assert format_frames([3, 1, 2, 2, 10]) == "1-3,10"


def test_chunks_cover_every_frame_once_in_order():
    frames = parse_frames("1-10,20-23")
    chunks = chunk_frames(frames, 4)
    assert [len(c) for c in chunks] == [4, 4, 4, 2]
    assert sum(chunks, []) == frames
    with pytest.raises(SpecError, match="chunk-size"):
        chunk_frames(frames, 0)


def test_plan_shot_orders_bake_chunks_finalize(scene, tmp_path):
    shot, frames = resolve_shot(scene, tmp_path / "out")
    assert frames == list(range(1, 13)) and shot.folder == tmp_path / "out" / "tiny" / "5"
    tasks = plan_shot(shot, frames, chunk_size=5, threads=1)
    assert [t.kind for t in tasks] == ["build", "bake", "render", "render", "render", "finalize"]
    assert tasks[1].after == (tasks[0].label,)
    renders = [t for t in tasks if t.kind == "render"]
    assert [t.argv[t.argv.index("--frames") + 1] for t in renders] == ["1-5", "6-10", "11-12"]
    assert all(t.after == (tasks[1].label,) and t.argv[-2:] == ("--threads", "1") for t in renders)
    # One render thread means one: software GL's rasterizer threads are capped too.
    assert all(dict(t.env) == {"LP_NUM_THREADS": "0"} for t in renders)
    assert tasks[-1].after == tuple(t.label for t in renders)
    assert "--seed" not in tasks[0].argv  # the scene's seed stays the scene's business
    assert plan_shot(Shot(scene, tmp_path, seed=9), frames, 12)[0].argv[-2:] == ("--seed", "9")
    assert [t.kind for t in plan_shot(shot, frames, 12, bake=False)] == ["render", "finalize"]


def test_resolve_shot_names_the_bad_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[render]\nresolutoin = [4, 4]\n")
    with pytest.raises(SpecError, match="resolution"):
        resolve_shot(bad)


# ------------------------------------------------------------------------------------------- pngs


def test_decode_png_accepts_whole_and_rejects_cut_frames(tmp_path):
    path = write_png(tmp_path / "0001.png", 5, 4)
    assert decode_png(path) == (5, 4, 3)
    data = path.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) - 20])
    with pytest.raises(PngError):
        decode_png(tmp_path / "cut.png")
    flipped = bytearray(data)
    flipped[45] ^= 0xFF  # inside IDAT: CRC no longer matches
    (tmp_path / "flip.png").write_bytes(bytes(flipped))
    with pytest.raises(PngError, match="CRC"):
        decode_png(tmp_path / "flip.png")


# ----------------------------------------------------------------------------------- dask engine


def python_task(label: str, code: str, tmp_path: Path, after: tuple[str, ...] = ()) -> TaskSpec:
    return TaskSpec(label, "render", "test", (sys.executable, "-c", code),
                    tmp_path / "logs" / f"{label}.log", after)


def test_dask_retries_a_failed_chunk_and_reports_failures(tmp_path):
    """A command failing once is retried and done; one failing always is reported with its
    dependents skipped; a scene error is not retried; the rest of the job still completes."""
    marker = tmp_path / "failed-once"
    flaky = (f"import pathlib, sys; m = pathlib.Path({str(marker)!r});"
             "sys.exit(0) if m.exists() else (m.touch(), sys.exit(1))")
    tasks = [
        python_task("ok", "print('fine')", tmp_path),
        python_task("flaky", flaky, tmp_path),
        python_task("broken", "import sys; sys.exit(4)", tmp_path),
        python_task("bad-scene", "import sys; sys.exit(2)", tmp_path),
        python_task("after-broken", "print('never')", tmp_path, after=("broken",)),
        python_task("after-flaky", "print('runs')", tmp_path, after=("flaky",)),
    ]
    seen = []
    with open_client(workers=2) as client:
        summary = run_tasks(client, tasks, retries=1, progress=lambda *a: seen.append(a))
    state = {o.spec.label: (o.state, o.attempts) for o in summary.outcomes}
    assert state == {"ok": ("done", 1), "flaky": ("done", 2), "broken": ("failed", 2),
                     "bad-scene": ("failed", 1),  # a scene error fails the same way again
                     "after-broken": ("skipped", 0), "after-flaky": ("done", 1)}
    assert [a[0] for a in seen] == [1, 2, 3, 4, 5, 6] and seen[-1][1] == 3
    text = summary.format()
    assert "3/6 tasks done, 2 retried, 2 failed, 1 skipped" in text
    assert "exit 2 (usage or scene error)" in text
    assert "exit 4 (out of memory or device failure)" in text
    assert "=== broken" in (tmp_path / "logs" / "broken.log").read_text()
    assert not summary.ok


# ---------------------------------------------------------------------------------------- openjd


def test_openjd_template_validates_and_chunks_the_scene_frames(scene, tmp_path):
    shot, frames = resolve_shot(scene, tmp_path / "out")
    template = openjd_template(scene, shot.out, format_frames(frames), 5, threads=1,
                               template_dir=tmp_path)
    validate_template(template)
    params = {p["name"]: p for p in template["parameterDefinitions"]}
    assert params["Frames"]["default"] == "1-12" and params["ChunkSize"]["default"] == 5
    assert params["SceneFile"]["default"] == "tiny.toml"  # relative to the template's folder
    assert [s["name"] for s in template["steps"]] == ["Build", "Bake", "Render", "Finalize"]
    render = template["steps"][2]
    assert render["parameterSpace"]["taskParameterDefinitions"][0]["type"] == "CHUNK[INT]"
    assert render["script"]["actions"]["onRun"]["args"][:5] == [
        "render", "{{Param.SceneFile}}", "--out", "{{Param.OutDir}}", "--frames"]
    path = write_openjd_template(tmp_path / "job.yaml", template)
    check = subprocess.run([str(Path(sys.executable).with_name("openjd")), "check", str(path)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    broken = json.loads(json.dumps(template))
    broken["steps"][2]["dependencies"] = [{"dependsOn": "NoSuchStep"}]
    with pytest.raises(Exception, match="NoSuchStep"):
        validate_template(broken)


# -------------------------------------------------------------------------------------- flamenco


def compile_flamenco(script: Path, job: Path) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    run = subprocess.run([node, str(FLAMENCO_DATA / "flamenco_runtime.js"), str(script), str(job)],
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout)


def test_flamenco_job_type_compiles_to_the_golden_commands(scene, tmp_path):
    script = tmp_path / "collapse-render.js"
    shot, frames = resolve_shot(scene, tmp_path / "out")
    script.write_text(flamenco_job_type(scene, shot.out, format_frames(frames), 4, threads=2))
    compiled = compile_flamenco(script, FLAMENCO_DATA / "submitted_job.json")
    golden = json.loads((FLAMENCO_DATA / "expected_tasks.json").read_text())
    assert compiled["tasks"] == golden["tasks"]
    defaults = {s["key"]: s.get("default") for s in compiled["jobType"]["settings"]}
    assert defaults == {"collapse_cmd": "collapse", "scene": str(scene.resolve()),
                        "out_dir": str((tmp_path / "out").resolve()), "frames": "1-12",
                        "chunk_size": 4, "render_threads": 2, "seed": -1}


def test_flamenco_chunks_match_the_python_chunker(scene, tmp_path):
    """Flamenco's frameChunker (as recorded) and the Dask path cut the same chunks (Flamenco
    writes two frames as "11,12")."""
    script = tmp_path / "collapse-render.js"
    script.write_text(flamenco_job_type(scene, tmp_path, "1-12", 4))
    job = json.loads((FLAMENCO_DATA / "submitted_job.json").read_text())
    job["settings"].update(frames="1-12", chunk_size=5, seed=-1, render_threads=0)
    (tmp_path / "job.json").write_text(json.dumps(job))
    compiled = compile_flamenco(script, tmp_path / "job.json")
    flamenco = [t["commands"][0]["parameters"]["args"] for t in compiled["tasks"]
                if t["name"].startswith("render-")]
    shot = Shot(Path(job["settings"]["scene"]), Path(job["settings"]["out_dir"]))
    dask = [list(t.argv[1:]) for t in plan_shot(shot, list(range(1, 13)), 5) if t.kind == "render"]

    def frames_of(args):
        i = args.index("--frames")
        return args[:i] + [parse_frames(args[i + 1])] + args[i + 2:]

    assert [frames_of(a) for a in flamenco] == [frames_of(a) for a in dask]
    assert flamenco[2][-1] == "11,12"


# -------------------------------------------------------------------------------------- jobqueue


@pytest.mark.parametrize("system, directive", [("slurm", "#SBATCH"), ("pbs", "#PBS"),
                                               ("sge", "#$")])
def test_jobqueue_config_gives_a_batch_script(tmp_path, system, directive):
    from headless.farm.jobqueue import job_script, load_config

    config = tmp_path / "cluster.toml"
    config.write_text(f'system = "{system}"\njobs = 3\nrender_threads = 8\n'
                      '[options]\nqueue = "render"\nmemory = "8GB"\nwalltime = "01:00:00"\n')
    assert load_config(config).jobs == 3
    script = job_script(config)
    assert directive in script and "render" in script
    assert "--nthreads 1" in script  # one chunk (one Blender) at a time per worker


def test_jobqueue_config_names_a_misspelt_key(tmp_path):
    from headless.farm.jobqueue import load_config

    config = tmp_path / "cluster.toml"
    config.write_text('system = "slurm"\n[options]\nwaltime = "01:00:00"\n')
    with pytest.raises(SpecError, match="did you mean 'walltime'"):
        load_config(config)
    config.write_text('system = "lsf"\n')
    with pytest.raises(SpecError, match="slurm, pbs, sge"):
        load_config(config)
    config.write_text('system = "slurm"\n[options]\ncores = 4\n')
    with pytest.raises(SpecError, match="one thread per Dask worker"):
        load_config(config)


def test_example_jobqueue_config_is_valid():
    from headless.farm.jobqueue import load_config

    example = Path(__file__).parents[1] / "headless" / "farm" / "jobqueue-example.toml"
    config = load_config(example)
    assert config.system == "slurm" and config.render_threads == 8


# ----------------------------------------------------------------------------------------- batch


def test_batch_writes_one_validated_scene_per_variation(scene, tmp_path):
    from headless.farm.batch import batch_shots, parse_variation

    variations = [parse_variation("fracture.cell_count=40,80"),
                  parse_variation("render.engine=WORKBENCH")]
    shots = batch_shots(scene, tmp_path / "out", [1, 2], variations)
    folders = sorted(str(s.folder.relative_to(tmp_path / "out")) for s, _ in shots)
    assert folders == ["tiny-cell_count-40-engine-workbench/1", "tiny-cell_count-40-engine-workbench/2",
                       "tiny-cell_count-80-engine-workbench/1", "tiny-cell_count-80-engine-workbench/2"]
    from collapse_addon.core.settings import load_scene

    variant = load_scene(shots[-1][0].scene)
    assert variant.fracture.cell_count == 80 and variant.building.storeys == 1
    with pytest.raises(SpecError, match="cell_count"):
        batch_shots(scene, tmp_path / "out", None, [parse_variation("fracture.cell_count=-3")])
    with pytest.raises(SpecError, match="--vary"):
        parse_variation("cell_count")
