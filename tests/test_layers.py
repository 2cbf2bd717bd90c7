"""The one-way layers: core (no bpy) <- blender <- api <- ui | headless. Static and cheap; no bpy.

Every module under ``collapse_addon/core`` is found on disk (a new one is covered without editing
this file) and imported in a process where ``bpy``, ``bmesh`` and ``mathutils`` cannot be imported.
The front ends (``collapse_addon/ui`` with ``addon.py``, ``headless``) reach Blender only through
``collapse_addon.api``, and ``api.py`` itself holds no ``import bpy``: checked on the source's
import statements.
"""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BLENDER_MODULES = ("bpy", "bmesh", "mathutils")


def core_modules() -> list[str]:
    core = ROOT / "collapse_addon" / "core"
    return [f"collapse_addon.core.{m.name}" for m in pkgutil.iter_modules([str(core)])]


def test_every_core_module_imports_without_bpy():
    modules = core_modules()
    assert len(modules) >= 10, modules
    code = ("import importlib, sys\n"
            f"for name in {BLENDER_MODULES!r}:\n    sys.modules[name] = None\n"
            f"for module in {modules!r}:\n    importlib.import_module(module)\n"
            f"loaded = [m for m in {BLENDER_MODULES!r} if sys.modules.get(m) is not None]\n"
            "print('ok' if not loaded else loaded)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import statement in ``path``, functions included.

    ``from X import a`` gives ``X.a`` too, so ``from collapse_addon import blender`` counts.
    """
    rel = path.relative_to(ROOT).with_suffix("")
    package = list(rel.parts[:-1])  # a module's package; for __init__ the package itself
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.append((node.lineno, module))
            out += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return out


def layer_violations() -> list[str]:
    """Front-end modules that import ``collapse_addon.blender``, and ``import bpy`` in api.py."""
    found: dict[tuple[str, int], str] = {}

    def note(path: Path, line: int, module: str) -> None:
        key = (str(path.relative_to(ROOT)), line)
        if key not in found or len(module) < len(found[key]):
            found[key] = module  # one statement, reported once by its module

    addon = ROOT / "collapse_addon"  # its registration and ui/ are the add-on's front end
    front_ends = [addon / "addon.py", *sorted((addon / "ui").rglob("*.py")),
                  *sorted((ROOT / "headless").rglob("*.py"))]
    for path in front_ends:
        for line, module in imported_modules(path):
            if module == "collapse_addon.blender" or module.startswith("collapse_addon.blender."):
                note(path, line, module)
    api = ROOT / "collapse_addon" / "api.py"
    for line, module in imported_modules(api):
        if module.split(".")[0] in BLENDER_MODULES:
            note(api, line, module)
    return sorted({f"{path} imports {module}" for (path, _), module in found.items()})


def test_import_scanner_resolves_relative_imports():
    probe = ROOT / "collapse_addon" / "ui" / "operators.py"
    modules = {m for _, m in imported_modules(probe)}
    assert any(m.startswith("collapse_addon.") for m in modules), modules


def test_front_ends_reach_blender_only_through_the_api():
    assert layer_violations() == []


def test_api_holds_no_import_bpy():
    """Also by its text, so an import built some other way (``__import__``, importlib) shows."""
    api = (ROOT / "collapse_addon" / "api.py").read_text()
    modules = {m.split(".")[0] for _, m in imported_modules(ROOT / "collapse_addon" / "api.py")}
    assert not modules & set(BLENDER_MODULES), modules
    assert "import bpy" not in api and "bpy." not in api


def test_the_extension_never_imports_the_front_ends():
    """``collapse_addon`` ships alone as the Blender extension: it cannot need ``headless``."""
    found = [f"{path.relative_to(ROOT)}:{line} imports {module}"
             for path in sorted((ROOT / "collapse_addon").rglob("*.py"))
             for line, module in imported_modules(path) if module.split(".")[0] == "headless"]
    assert found == []
