"""Hostile scene files and command lines: each one is refused with exit 2 or 3 and one line that
names the file (or option) and the key, within 2 s, without a traceback, and nothing is written.

Every case runs the real CLI in its own process, in a folder that holds only the case's inputs;
the folder (and / and /etc for the absolute output directories) must be unchanged afterwards.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OK = "[simulation]\nframe_end = 12\n[trigger]\ntype = \"demolition\"\nframe = 3\n"
DEEP = 100_000

# name: (files {relative path: text, bytes or None for a folder}, argv ({d}: the case's folder),
#        text the one-line message must hold, exit codes allowed)
CASES = {
    "frames-two-billion-in-scene": ({"s.toml": OK + '[render]\nframes = "1-2000000000"\n'},
                                    ["check", "{d}/s.toml"], "render.frames"),
    "frames-two-billion-in-render": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o",
                                                      "--frames", "1-2000000000"], "frames"),
    "frames-two-billion-with-step": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o",
                                                      "--frames", "1-2000000000x1"], "frames"),
    "frames-many-parts": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o", "--frames",
                                           ",".join(["1-99999"] * 5)], "frames"),
    "frames-zero-step": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o", "--frames",
                                          "1-10x0"], "frames"),
    "frames-garbage": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o", "--frames",
                                        "$(rm -rf /)"], "frames"),
    "frames-huge-digits": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o", "--frames",
                                            "1-" + "9" * 5000], "frames"),
    "frames-outside-simulation": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o",
                                                   "--frames", "900-1000"], "frames"),
    "frames-backwards": ({"s.toml": OK + '[render]\nframes = "9-3"\n'}, ["check", "{d}/s.toml"],
                         "render.frames"),
    "finalize-frames-two-billion": ({"s.toml": OK}, ["finalize", "{d}/s.toml", "--out", "{d}/o",
                                                     "--frames", "1-2000000000"], "frames"),
    "seeds-two-billion": ({"s.toml": OK}, ["farm", "batch", "{d}/s.toml", "--out", "{d}/o",
                                           "--seeds", "0-2000000000"], "--seeds"),
    "flamenco-frames-two-billion": ({"s.toml": OK}, ["farm", "flamenco", "{d}/s.toml", "--out",
                                                     "{d}/o", "-o", "{d}/j.js", "--frames",
                                                     "1-2000000000"], "frames"),
    "nested-array-100000-deep": ({"s.toml": "x = " + "[" * DEEP + "]" * DEEP + "\n"},
                                 ["check", "{d}/s.toml"], "nested"),
    "nested-inline-tables": ({"s.toml": "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n"},
                             ["check", "{d}/s.toml"], "nested"),
    "scene-file-too-big": ({"s.toml": OK + "# " + "x" * (2 << 20) + "\n"}, ["check", "{d}/s.toml"],
                           "bytes"),
    "long-bad-value": ({"s.toml": '[render]\nengine = "' + "W" * 500_000 + '"\n'},
                       ["check", "{d}/s.toml"], "render.engine"),
    "long-unknown-key": ({"s.toml": "[render]\n" + "k" * 200_000 + " = 1\n"},
                         ["check", "{d}/s.toml"], "render"),
    "mesh-path-is-a-folder": ({"s.toml": '[mesh]\npath = "meshes"\n', "meshes": None},
                              ["check", "{d}/s.toml"], "mesh.path"),
    "mesh-path-missing": ({"s.toml": '[mesh]\npath = "missing.obj"\n'}, ["check", "{d}/s.toml"],
                          "mesh.path"),
    "mesh-path-folder-named-obj": ({"s.toml": '[mesh]\npath = "m.obj"\n', "m.obj": None},
                                   ["build", "{d}/s.toml", "--out", "{d}/o"], "mesh.path"),
    "mesh-path-folder-in-build": ({"s.toml": '[mesh]\npath = "meshes"\n', "meshes": None},
                                  ["build", "{d}/s.toml", "--out", "{d}/o"], "mesh.path"),
    "output-directory-root": ({"s.toml": OK + '[output]\ndirectory = "/"\n'},
                              ["build", "{d}/s.toml"], "output.directory"),
    "output-directory-etc": ({"s.toml": OK + '[output]\ndirectory = "/etc"\n'},
                             ["render", "{d}/s.toml"], "output.directory"),
    "output-directory-parent": ({"s.toml": OK + '[output]\ndirectory = "../../up"\n'},
                                ["run", "{d}/s.toml"], "output.directory"),
    "output-directory-sneaky": ({"s.toml": OK + '[output]\ndirectory = "o/../../x"\n'},
                                ["bake", "{d}/s.toml"], "output.directory"),
    "output-directory-in-farm": ({"s.toml": OK + '[output]\ndirectory = "/etc"\n'},
                                 ["farm", "openjd", "{d}/s.toml", "-o", "{d}/j.yaml"],
                                 "output.directory"),
    "out-below-a-file": ({"s.toml": OK, "file": "x"}, ["build", "{d}/s.toml", "--out",
                                                       "{d}/file/sub"], "--out"),
    "out-is-a-file": ({"s.toml": OK, "file": "x"}, ["render", "{d}/s.toml", "--out", "{d}/file"],
                      "file"),
    "scene-is-a-folder": ({"dir.toml": None}, ["check", "{d}/dir.toml"], "dir.toml"),
    "scene-missing": ({}, ["render", "{d}/none.toml", "--out", "{d}/o"], "none.toml"),
    "scene-not-utf8": ({"s.toml": b"[render]\nengine = \"\xff\xfe\"\n"}, ["check", "{d}/s.toml"],
                       "s.toml"),
    "scene-nul-bytes": ({"s.toml": "[render]\x00\nsamples = 1\n"}, ["check", "{d}/s.toml"],
                        "s.toml"),
    "toml-syntax": ({"s.toml": "[render\nsamples = 1\n"}, ["check", "{d}/s.toml"], "(syntax)"),
    "unknown-section": ({"s.toml": "[rendr]\nsamples = 1\n"}, ["check", "{d}/s.toml"], "rendr"),
    "unknown-key": ({"s.toml": "[render]\nsampels = 1\n"}, ["check", "{d}/s.toml"], "sampels"),
    "wrong-type": ({"s.toml": '[render]\nsamples = "many"\n'}, ["check", "{d}/s.toml"],
                   "render.samples"),
    "nan": ({"s.toml": "[render]\nsamples = nan\n"}, ["check", "{d}/s.toml"], "render.samples"),
    "infinity": ({"s.toml": "[simulation]\ngravity = inf\n"}, ["check", "{d}/s.toml"],
                 "simulation.gravity"),
    "resolution-three-values": ({"s.toml": "[render]\nresolution = [1, 2, 3]\n"},
                                ["check", "{d}/s.toml"], "render.resolution"),
    "resolution-huge": ({"s.toml": "[render]\nresolution = [100000, 100000]\n"},
                        ["check", "{d}/s.toml"], "render.resolution"),
    "seed-negative": ({"s.toml": "seed = -5\n"}, ["check", "{d}/s.toml"], "seed"),
    "seed-over-int64": ({"s.toml": "seed = 99999999999999999999\n"}, ["check", "{d}/s.toml"],
                        "s.toml"),
    "derived-key": ({"s.toml": "[fracture]\nseed = 3\n"}, ["check", "{d}/s.toml"],
                    "fracture.seed"),
    "building-and-mesh": ({"s.toml": '[building]\nstoreys = 2\n[mesh]\npath = "a.obj"\n'},
                          ["check", "{d}/s.toml"], "mesh.path"),
    "unknown-material": ({"s.toml": "[materials.unobtainium]\ndensity = 1\n"},
                         ["check", "{d}/s.toml"], "unobtainium"),
    "trigger-after-end": ({"s.toml": "[simulation]\nframe_end = 10\n[trigger]\nframe = 50\n"},
                          ["check", "{d}/s.toml"], "trigger"),
    "seed-option-negative": ({"s.toml": OK}, ["build", "{d}/s.toml", "--out", "{d}/o", "--seed",
                                              "-1"], "--seed"),
    "threads-not-a-number": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o",
                                              "--threads", "lots"], "--threads"),
    "chunk-backwards": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o", "--chunk",
                                         "5/2"], "chunk"),
    "chunk-zero": ({"s.toml": OK}, ["render", "{d}/s.toml", "--out", "{d}/o", "--chunk", "0/0"],
                   "chunk"),
    "padding-zero": ({"s.toml": "[render]\npadding = 0\n"}, ["check", "{d}/s.toml"],
                     "render.padding"),
    "flamenco-output-below-a-file": ({"s.toml": OK, "file": "x"},
                                     ["farm", "flamenco", "{d}/s.toml", "--out", "{d}/o", "-o",
                                      "{d}/file/job.js"], "--output"),
}


def _make(folder: Path, files: dict) -> None:
    for name, content in files.items():
        path = folder / name
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _snapshot(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_at_least_forty_hostile_cases():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_refused_in_one_line_writing_nothing(name, tmp_path):
    files, argv, must = CASES[name]
    case = tmp_path / "case"
    case.mkdir()
    _make(case, files)
    before = _snapshot(case)
    outside = {p: set(os.listdir(p)) for p in ("/", "/etc", str(tmp_path))}
    args = [a.replace("{d}", str(case)) for a in argv]
    start, cpu = time.perf_counter(), _children_cpu()
    result = subprocess.run([sys.executable, "-m", "headless.cli", *args], cwd=case,
                            capture_output=True, text=True, timeout=60)
    seconds, cpu = time.perf_counter() - start, _children_cpu() - cpu
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode in (2, 3), (result.returncode, result.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-2000:]
    assert "Traceback" not in result.stderr + result.stdout
    assert must in lines[0], lines[0][:500]
    assert len(lines[0]) < 2000  # long bad values are cut
    assert _snapshot(case) == before, "the command wrote into the case's folder"
    assert {p: set(os.listdir(p)) for p in outside} == outside
    # 2 s of the process's own time; the wall clock of a machine shared by many gets slack.
    assert cpu < 2.0 and seconds < 6.0, f"took {cpu:.2f} s CPU, {seconds:.2f} s wall"


def test_a_read_only_out_is_refused_in_one_line(tmp_path):
    """A read-only file system (a read-only tmpfs: root ignores file modes) as --out."""
    mount = tmp_path / "ro"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here (needs root)")
    try:
        scene = tmp_path / "s.toml"
        scene.write_text(OK)
        result = subprocess.run([sys.executable, "-m", "headless.cli", "build", str(scene),
                                 "--out", str(mount / "shots")], cwd=tmp_path,
                                capture_output=True, text=True, timeout=60)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1, result.stderr
        assert "--out" in lines[0] and "Read-only file system" in lines[0]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["ro", "s.toml"]
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
