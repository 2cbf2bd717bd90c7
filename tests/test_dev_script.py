"""``./dev``'s choice of Blender line, Python and pins (nothing is installed here)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINES = {"4.2": "3.11", "4.5": "3.11", "5.0": "3.11", "5.1": "3.13", "5.2": "3.13", "5.3": "3.13"}


def dev(*args, env=None):
    return subprocess.run([str(ROOT / "dev"), *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, **(env or {})))


def test_every_line_has_exact_pins_that_pyproject_admits():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11,<3.14"
    (bpy_range,) = [d for d in project["dependencies"] if d.startswith("bpy")]
    assert bpy_range == "bpy>=4.2,<5.4"
    found = {p.stem.removeprefix("blender-") for p in (ROOT / "constraints").glob("blender-*.txt")}
    assert found == set(LINES)
    for line in LINES:
        pins = [ln for ln in (ROOT / "constraints" / f"blender-{line}.txt").read_text().splitlines()
                if ln and not ln.startswith("#")]
        assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[\w.]+", p) for p in pins), pins
        (bpy,) = [p for p in pins if p.startswith("bpy==")]
        assert bpy.removeprefix("bpy==").startswith(line + ".")
        numpy = next(p for p in pins if p.startswith("numpy=="))
        assert numpy.startswith("numpy==1.26.") == (LINES[line] == "3.11")


def test_an_unknown_line_is_refused_with_the_supported_ones():
    run = dev("--blender", "3.6", "test")
    assert run.returncode == 2
    assert "Blender 3.6 is not a supported line" in run.stderr
    assert "4.2 4.5 5.0 5.1 5.2 5.3" in run.stderr


def test_a_python_of_the_wrong_version_is_refused_before_anything_is_made(tmp_path):
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    line = next(v for v, python in LINES.items() if python != here)
    venv = tmp_path / "venv"
    run = dev("--blender", line, "shell", env={"PYTHON": sys.executable, "COLLAPSE_VENV": str(venv)})
    assert run.returncode == 1 and not venv.exists()
    assert f"is not Python {LINES[line]}, which Blender {line} (bpy) needs" in run.stderr


def test_help_lists_the_commands():
    run = dev("help")
    assert run.returncode == 2
    for command in ("demo", "test", "collapse", "extension", "bench", "shell", "--blender 4.5"):
        assert command in run.stdout
