"""The packaged extension: built by ``tools/build_extension.py``, installed by Blender's own
extension installer into a temporary user repository, enabled, used, disabled and removed.

The install runs in a child process whose Python sees only ``bpy`` and ``numpy`` (what a real
Blender ships), so the fracture it runs must import scipy, multivoro and manifold3d from the wheels
bundled in the zip. The wheels come from the build cache (``build/extension/wheels``), fetched
with ``pip download`` on the first run.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def build_module():
    spec = importlib.util.spec_from_file_location("build_extension",
                                                  ROOT / "tools" / "build_extension.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_manifest_lists_wheels_for_every_platform_and_never_numpy():
    build = build_module()
    manifest = build.read_manifest()
    assert manifest["schema_version"] == "1.0.0" and manifest["id"] == "collapse"
    assert manifest["blender_version_min"] == "4.2.0"
    assert manifest["permissions"]["files"]
    assert set(manifest["platforms"]) == {"linux-x64", "windows-x64", "macos-arm64"}
    for platform in manifest["platforms"]:
        names = {w.split("-")[0] for w in build.wheels_for(manifest, platform)}
        assert {"scipy", "manifold3d"} <= names and "numpy" not in names
        assert ("multivoro" in names) == (platform != "windows-x64")


def only_bpy_and_numpy(site: Path) -> Path:
    """A site folder with only what Blender itself ships: bpy and numpy (links to this venv's)."""
    site.mkdir()
    for name in ("bpy", "numpy"):
        location = Path(next(iter(importlib.util.find_spec(name).submodule_search_locations)))
        os.symlink(location, site / name)
        libs = location.parent / f"{name}.libs"
        if libs.exists():
            os.symlink(libs, site / libs.name)
    return site


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory):
    build = build_module()
    platform = build.current_platform()
    if platform not in build.read_manifest()["platforms"]:
        pytest.skip(f"no wheels pinned for {platform}")
    out = tmp_path_factory.mktemp("dist")
    (path,) = build.build([platform], output=out, log=lambda _line: None)
    return platform, path


def test_zip_holds_the_add_on_its_wheels_and_a_one_platform_manifest(built_zip):
    platform, path = built_zip
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = tomllib.loads(zf.read("blender_manifest.toml").decode())
    assert manifest["platforms"] == [platform]
    for module in ("__init__.py", "addon.py", "api.py", "ui/operators.py", "ui/panels.py",
                   "core/fracture.py", "blender/simulation.py"):
        assert module in names
    wheels = [n for n in names if n.startswith("wheels/")]
    assert sorted(wheels) == sorted(w.removeprefix("./") for w in manifest["wheels"])
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in wheels if "numpy" in n]


INSTALL_SCRIPT = """
import json, os, sys
from pathlib import Path
sys.path = [p for p in sys.path if "site-packages" not in p] + [{site!r}]
import bpy

result = {{}}
repo_dir = Path({repo!r})
prefs = bpy.context.preferences
repo = prefs.extensions.repos.new(name="Collapse Test", module="collapse_test",
                                  custom_directory=str(repo_dir), source="USER")
result["install"] = sorted(bpy.ops.extensions.package_install_files(
    filepath={zip!r}, repo="collapse_test", enable_on_install=True))
module = "bl_ext.collapse_test.collapse"
result["enabled"] = module in prefs.addons
result["module_file"] = sys.modules[module].__file__
result["operator_module"] = bpy.types.COLLAPSE_OT_fracture.__module__
shot = bpy.context.scene.collapse_shot
shot.building.storeys = 1
shot.building.bays_x = 1
shot.building.bays_y = 1
shot.fracture.cell_count = 24
shot.simulation.frame_end = 6
shot.trigger.frame = 3
result["fracture"] = sorted(bpy.ops.collapse.fracture())
result["bake"] = sorted(bpy.ops.collapse.bake())
import manifold3d, multivoro, scipy
result["wheel_modules"] = [m.__file__ for m in (scipy, multivoro, manifold3d)]
addon_dir = repo_dir / "collapse"
result["addon_files"] = sorted(str(p.relative_to(addon_dir)) for p in addon_dir.rglob("*")
                               if p.is_file() and "__pycache__" not in p.parts)
result["disable"] = sorted(bpy.ops.preferences.addon_disable(module=module))
result["registered_after_disable"] = hasattr(bpy.types.Scene, "collapse_shot")
result["uninstall"] = sorted(bpy.ops.extensions.package_uninstall(
    repo_directory=str(repo_dir), pkg_id="collapse"))
result["left_in_repo"] = sorted(p.name for p in repo_dir.iterdir() if not p.name.startswith("."))
prefs.extensions.repos.remove(repo)
print("RESULT " + json.dumps(result))
"""


@pytest.mark.slow
def test_blender_installs_the_zip_and_runs_it_with_only_bpy_and_numpy(built_zip, tmp_path):
    _, path = built_zip
    site = only_bpy_and_numpy(tmp_path / "site")
    repo = tmp_path / "repo"
    user_extensions = tmp_path / "user_extensions"
    script = tmp_path / "install.py"
    script.write_text(textwrap.dedent(INSTALL_SCRIPT).format(site=str(site), repo=str(repo),
                                                             zip=str(path)))
    env = dict(os.environ, BLENDER_USER_EXTENSIONS=str(user_extensions),
               BLENDER_USER_SCRIPTS=str(tmp_path / "scripts"))
    run = subprocess.run([sys.executable, "-S", str(script)], capture_output=True, text=True,
                         env=env, cwd=tmp_path, timeout=240)
    lines = [ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    assert result["install"] == ["FINISHED"] and result["enabled"]
    assert Path(result["module_file"]).parent == repo / "collapse"
    assert result["operator_module"].startswith("bl_ext.collapse_test.collapse.")
    assert result["fracture"] == ["FINISHED"] and result["bake"] == ["FINISHED"]
    wheel_site = user_extensions / ".local"
    assert all(Path(f).is_relative_to(wheel_site) for f in result["wheel_modules"])
    with zipfile.ZipFile(path) as zf:
        shipped = {n for n in zf.namelist() if not n.endswith("/")}
    assert set(result["addon_files"]) <= shipped  # nothing written into the add-on's folder
    assert result["disable"] == ["FINISHED"] and not result["registered_after_disable"]
    assert result["uninstall"] == ["FINISHED"] and result["left_in_repo"] == []
