"""Build the Collapse Blender extension: one installable zip per platform, wheels bundled.

Usage (from the repository root)::

    ./dev extension                                                 # all platforms -> dist/
    .venv/bin/python tools/build_extension.py                       # all platforms -> dist/
    .venv/bin/python tools/build_extension.py --platform linux-x64  # one platform
    .venv/bin/python tools/build_extension.py --platform current    # this machine's platform

Steps:
1. Read ``collapse_addon/blender_manifest.toml``; its ``wheels`` list pins the exact wheel files
   (scipy, manifold3d, multivoro; never numpy, which Blender ships).
2. Make sure each pinned wheel is in the cache (``build/extension/wheels`` unless ``--wheel-cache``),
   fetching missing ones with ``pip download --only-binary=:all: --no-deps --python-version X.Y
   --abi ... --platform ...`` (the Python and ABI read from each wheel's name: cp311 wheels for
   Blender 4.2 to 5.0, cp313 or cp312-abi3 for 5.1+; Blender installs the ones its Python takes).
   The add-on folder itself is never written to.
3. Stage a copy of ``collapse_addon`` with the platform's wheels and a manifest listing only that
   platform, then run Blender's own extension builder (the ``blender --command extension build``
   script, ``bl_pkg/cli/blender_ext.py``, which ships inside the ``bpy`` wheel and validates the
   manifest) to write ``collapse-<version>-<platform>.zip``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform as platform_module
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "collapse_addon"
DEFAULT_CACHE = REPO / "build" / "extension" / "wheels"
DEFAULT_OUTPUT = REPO / "dist"

# Blender platform -> pip platform tags that may carry its wheels (newest last is fine: pip picks).
PIP_PLATFORMS = {
    "linux-x64": ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_14_0_arm64"],
}
# Suffixes of a wheel's platform tag for each Blender platform.
WHEEL_PLATFORM_SUFFIX = {
    "linux-x64": "x86_64",
    "windows-x64": "win_amd64",
    "macos-arm64": "arm64",
}


class BuildError(RuntimeError):
    """A build step failed; the message says which and how to fix it."""


def current_platform() -> str:
    """This machine's Blender platform name, e.g. ``linux-x64``."""
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    machine = platform_module.machine().lower()
    machine = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(machine, machine)
    return f"{system}-{machine}"


def read_manifest(source: Path = SOURCE) -> dict:
    """The add-on's manifest as a dict."""
    return tomllib.loads((source / "blender_manifest.toml").read_text())


def wheel_platform(wheel_name: str) -> str | None:
    """Blender platform a wheel file is for, or None for a pure-Python (``any``) wheel."""
    tag = Path(wheel_name).stem.split("-")[-1]
    if tag == "any":
        return None
    for blender_platform, suffix in WHEEL_PLATFORM_SUFFIX.items():
        head = blender_platform.split("-")[0]
        prefix = {"linux": "manylinux", "windows": "win", "macos": "macosx"}[head]
        if tag.startswith(prefix) and tag.endswith(suffix):
            return blender_platform
    raise BuildError(f"wheel {wheel_name}: platform tag {tag!r} matches none of {list(PIP_PLATFORMS)}")


def wheel_python(wheel_name: str) -> tuple[str, str]:
    """(Python version, ABI tag) a wheel is built for: ``cp313-cp313`` -> ("3.13", "cp313")."""
    python_tag, abi = Path(wheel_name).stem.split("-")[-3:-1]
    digits = python_tag.split(".")[0].removeprefix("cp").removeprefix("py")
    if not digits.isdigit():
        raise BuildError(f"wheel {wheel_name}: cannot read its Python tag {python_tag!r}")
    return f"{digits[0]}.{digits[1:]}" if len(digits) > 1 else digits, abi


def wheels_for(manifest: dict, blender_platform: str) -> list[str]:
    """File names of the pinned wheels that ``blender_platform`` needs."""
    names = [Path(w).name for w in manifest.get("wheels", [])]
    return [n for n in names if wheel_platform(n) in (None, blender_platform)]


def fetch_wheels(names: list[str], blender_platform: str, cache: Path) -> list[Path]:
    """Paths of ``names`` in ``cache``, downloading the missing ones with pip."""
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        path = cache / name
        if not path.exists():
            dist, version = name.split("-")[:2]
            python, abi = wheel_python(name)
            with tempfile.TemporaryDirectory(dir=cache) as tmp:
                cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
                       "--no-deps", "--python-version", python, "--implementation", "cp",
                       "--abi", abi, "--dest", tmp, f"{dist}=={version}"]
                if wheel_platform(name) is not None:
                    for tag in PIP_PLATFORMS[blender_platform]:
                        cmd += ["--platform", tag]
                result = subprocess.run(cmd, capture_output=True, text=True)
                got = Path(tmp) / name
                if result.returncode != 0 or not got.exists():
                    found = sorted(p.name for p in Path(tmp).glob("*.whl"))
                    raise BuildError(f"could not fetch pinned wheel {name} (pip got {found}): "
                                     f"{result.stderr.strip()[-400:]}; check the network or put "
                                     f"the file in {cache}")
                os.replace(got, path)
        paths.append(path)
    return paths


def blender_builder() -> Path:
    """Blender's extension command-line tool (``blender_ext.py``) shipped with the bpy package."""
    spec = importlib.util.find_spec("bpy")
    if spec is None or not spec.submodule_search_locations:
        raise BuildError("bpy is not installed in this Python; run with .venv/bin/python")
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"))
    if not found:
        raise BuildError(f"no bl_pkg/cli/blender_ext.py under {root}; is bpy >= 4.2 installed?")
    return found[-1]


def _toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to the staged manifest")


def dump_manifest(manifest: dict) -> str:
    """TOML text of a manifest (flat keys, then one level of tables)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in manifest.items() if not isinstance(v, dict)]
    for table, values in manifest.items():
        if isinstance(values, dict):
            lines += ["", f"[{table}]"] + [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def stage(blender_platform: str, wheels: list[Path], work: Path, source: Path = SOURCE) -> Path:
    """A copy of the add-on with this platform's wheels and a one-platform manifest."""
    staged = work / "collapse"
    shutil.copytree(source, staged, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "wheels", "*.zip", ".pytest_cache"))
    (staged / "wheels").mkdir()
    for wheel in wheels:
        shutil.copy2(wheel, staged / "wheels" / wheel.name)
    manifest = read_manifest(source)
    manifest["platforms"] = [blender_platform]
    manifest["wheels"] = [f"./wheels/{w.name}" for w in wheels]
    (staged / "blender_manifest.toml").write_text(dump_manifest(manifest))
    return staged


def zip_name(manifest: dict, blender_platform: str) -> str:
    """``collapse-0.1.0-linux-x64.zip``: the extension id, its version and the platform."""
    return f"{manifest['id']}-{manifest['version']}-{blender_platform}.zip"


def build(platforms: list[str], output: Path = DEFAULT_OUTPUT, cache: Path = DEFAULT_CACHE,
          source: Path = SOURCE, log=print) -> list[Path]:
    """Build one extension zip per platform into ``output``; returns their paths."""
    manifest = read_manifest(source)
    unknown = [p for p in platforms if p not in manifest["platforms"]]
    if unknown:
        raise BuildError(f"platform(s) {unknown} not in the manifest's {manifest['platforms']}")
    builder = blender_builder()
    output.mkdir(parents=True, exist_ok=True)
    zips = []
    for blender_platform in platforms:
        wheels = fetch_wheels(wheels_for(manifest, blender_platform), blender_platform, cache)
        with tempfile.TemporaryDirectory(prefix="collapse-ext-") as tmp:
            staged = stage(blender_platform, wheels, Path(tmp), source)
            result = subprocess.run(
                [sys.executable, str(builder), "build", "--source-dir", str(staged),
                 "--output-dir", tmp, "--split-platforms"], capture_output=True, text=True)
            built = sorted(Path(tmp).glob("*.zip"))
            if result.returncode != 0 or len(built) != 1:
                raise BuildError(f"Blender's extension builder failed for {blender_platform}:\n"
                                 f"{result.stdout}{result.stderr}")
            # Blender names it collapse-<version>-linux_x64.zip; the docs use the manifest's
            # platform names: collapse-<version>-linux-x64.zip.
            target = output / zip_name(manifest, blender_platform)
            os.replace(built[0], target)  # whole file or nothing in dist/
        size = target.stat().st_size / 1e6
        log(f"{blender_platform}: {target} ({size:.1f} MB, wheels: "
            f"{', '.join(w.name.split('-')[0] for w in wheels) or 'none'})")
        zips.append(target)
    return zips


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--platform", action="append", dest="platforms",
                        help="linux-x64, windows-x64, macos-arm64 or 'current' (repeatable; "
                             "default: every platform in the manifest)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the zips go")
    parser.add_argument("--wheel-cache", type=Path, default=DEFAULT_CACHE,
                        help="download cache for the wheels (outside the add-on folder)")
    args = parser.parse_args(argv)
    platforms = args.platforms or read_manifest()["platforms"]
    platforms = [current_platform() if p == "current" else p for p in platforms]
    try:
        build(platforms, args.output, args.wheel_cache)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
