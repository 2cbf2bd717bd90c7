"""Generated farm job files never execute a scene-derived string.

Scene files with hostile names (quotes, newlines, ``$(...)``, backticks, template markers) go
through ``collapse farm flamenco`` (the job type compiled by Node with the recorded Flamenco
runtime) and ``collapse farm openjd`` (run by ``openjd run`` with ``echo`` as the command): the
names arrive verbatim as single arguments, and nothing they spell runs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FLAMENCO_DATA = Path(__file__).parent / "data" / "flamenco"
SCENE = "seed = 5\n[simulation]\nframe_end = 8\n[trigger]\ntype = \"demolition\"\nframe = 3\n"
HOSTILE = [
    'quote"s and \'single\'',
    "new\nline\";require('fs').writeFileSync('PWNED','x');x=\"",
    "$(touch PWNED)",
    "`touch PWNED`",
    "__DEFAULTS__ and __SCENE_NAME__",
    "a{{b}} {{Param.OutDir}}",
    "line\u2028sep\u2029x",
    "<script> <!--",
]


def collapse(*args, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "headless.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})


def hostile_scene(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "scenes"
    folder.mkdir(exist_ok=True)
    scene = folder / f"{name}.toml"
    scene.write_text(SCENE)
    return scene


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_flamenco_job_type_embeds_hostile_scene_names_as_data(name, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    scene = hostile_scene(tmp_path, name)
    script = tmp_path / "collapse-render.js"
    made = collapse("farm", "flamenco", scene, "--out", tmp_path / "out", "-o", script,
                    cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    job = json.loads((FLAMENCO_DATA / "submitted_job.json").read_text())
    job["settings"].update(scene=str(scene), out_dir=str(tmp_path / "out"))
    (tmp_path / "job.json").write_text(json.dumps(job))
    run = subprocess.run([node, str(FLAMENCO_DATA / "flamenco_runtime.js"), str(script),
                          str(tmp_path / "job.json")], capture_output=True, text=True,
                         cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    compiled = json.loads(run.stdout)
    defaults = {s["key"]: s.get("default") for s in compiled["jobType"]["settings"]}
    assert defaults["scene"] == str(scene.resolve())
    for task in compiled["tasks"]:
        args = task["commands"][0]["parameters"]["args"]
        assert args[1] == str(scene)  # one argument, verbatim
    assert not list(tmp_path.rglob("PWNED*"))  # the injected code never ran


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_openjd_template_passes_hostile_scene_names_as_single_arguments(name, tmp_path):
    openjd = Path(sys.executable).with_name("openjd")
    if not openjd.exists():
        pytest.skip("openjd is not installed")
    scene = hostile_scene(tmp_path, name)
    template = tmp_path / "job.yaml"
    made = collapse("farm", "openjd", scene, "--out", tmp_path / "out", "-o", template,
                    cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    params = tmp_path / "params.json"  # a file: `-p KEY=VALUE` cannot carry a newline
    params.write_text(json.dumps({"SceneFile": str(scene), "OutDir": str(tmp_path / "out"),
                                  "CollapseCommand": shutil.which("echo")}))
    run = subprocess.run([str(openjd), "run", str(template), "--step", "Build",
                          "-p", f"file://{params}"],
                         capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    first_line = str(scene).splitlines()[0]
    assert f"build {first_line}" in run.stdout
    assert not list(tmp_path.rglob("PWNED*"))
