"""`collapse bench` runs from the installed packages alone: no repository, no ``bench/`` folder.

The packages that pyproject's setuptools configuration ships are copied into a bare folder (as a
wheel lays them out) and run from there, in a working folder outside the repository: the report
(``--reanalyse`` of a stored bench.json) and one stage of the manual route in its own child process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[1]


def installed_copy(site: Path) -> Path:
    """The .py files of every package ``pip install .`` would install, copied under ``site``."""
    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = find_packages(str(ROOT), include=find["include"])
    assert "headless.bench" in packages, packages
    for package in packages:
        source = ROOT.joinpath(*package.split("."))
        target = site.joinpath(*package.split("."))
        target.mkdir(parents=True, exist_ok=True)
        for module in source.glob("*.py"):
            shutil.copy2(module, target / module.name)
    return site


def run_from(site: Path, cwd: Path, code: str) -> subprocess.CompletedProcess:
    """Python code in a fresh process that imports Collapse from ``site`` only (checked)."""
    prelude = (f"import sys; sys.path.insert(0, {str(site)!r})\n"
               "import headless, collapse_addon\n"
               f"assert headless.__file__.startswith({str(site)!r}), headless.__file__\n"
               f"assert collapse_addon.__file__.startswith({str(site)!r}), collapse_addon.__file__\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    return subprocess.run([sys.executable, "-c", prelude + code], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=300)


def test_collapse_bench_reports_from_the_installed_packages(tmp_path):
    site = installed_copy(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(ROOT / "scenes" / "demo.toml", work / "demo.toml")
    shutil.copy2(ROOT / "docs" / "bench" / "bench.json", work / "old.json")
    result = run_from(site, work, "from headless.cli import main\n"
                      "sys.exit(main(['bench', 'demo.toml', '--reanalyse', 'old.json', '--out', 'b']))")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "Ratio manual / Collapse" in result.stdout
    data = json.loads((work / "b" / "bench.json").read_text())
    assert data["summary"]["ratios"] and data["bars"]
    assert (work / "b" / "bench.png").stat().st_size > 0


def test_manual_route_child_process_runs_from_the_installed_packages(tmp_path, tiny_scene):
    site = installed_copy(tmp_path / "site")
    work = tmp_path / "work"
    work.mkdir()
    tiny_scene(work / "tiny.toml")
    code = ("import json; from pathlib import Path\n"
            "from headless.bench.processes import run_process\n"
            "from headless.bench.shot import make_shot\n"
            "shot = make_shot(Path('tiny.toml'), 8, Path('run'))\n"
            "Path('run').mkdir(); Path('run/shot.json').write_text(json.dumps(shot))\n"
            "p = run_process('manual', ('building',), Path('run/shot.json'), '-', 'run/b.blend',"
            " Path('run'), 240)\n"
            "print('RESULT' + json.dumps({k: p.get(k) for k in ('returncode', 'error', 'results')}))\n")
    result = run_from(site, work, code)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(next(x for x in result.stdout.splitlines() if x.startswith("RESULT"))[6:])
    assert out["returncode"] == 0, out["error"]
    [stage] = out["results"]
    assert stage["stage"] == "building" and stage["work_s"] > 0 and stage["actions"]
    assert (work / "run" / "b.blend").stat().st_size > 0
    # The child imported the replay from the installed copy (its bytecode was written there).
    assert list((site / "headless" / "bench" / "__pycache__").glob("manual_workflow.*.pyc"))
