"""Where a shot may be written, and what its folder records about where it came from.

Pure (no bpy). A scene file's ``output.directory`` is relative to the scene file and must stay
inside the scene's folder; the operator lifts that on the command line (``--out`` or
``--allow-outside``). Shot folder names are sanitised (a scene file ``...toml`` never writes to
``<out>/../``), and ``<shot>/source.json`` names the scene file (path and sha256) that made the
shot, so a second scene file with the same name cannot ship the first one's frames as its own.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

from .errors import OutputError, shorten

SOURCE_FILE = "source.json"
# Temporaries a killed stage may leave in the shot folder: .tmp-* folders (frames, preview) and
# dot-files with a pid (.scene.<pid>.blend, .contact.<pid>.png, .manifest.json.<pid>.tmp).
_TEMP_PID = re.compile(r"^\.(?:tmp-(?:[A-Za-z0-9_.]+-)?|.*\.)(\d+)(?:\.[A-Za-z0-9]+)?$")


def shot_folder_name(stem: str) -> str:
    """A safe folder name for a scene file's stem: letters, digits, ``-_.``; never ``.``/``..``
    or hidden; at most 100 characters."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(stem))[:100]
    if name.startswith("."):
        name = "_" + name[1:]
    return name or "scene"


def output_root(scene_file: Path, directory: str, out: Path | None,
                allow_outside: bool = False) -> Path:
    """The output root of a shot (absolute).

    ``out`` (the command line's ``--out``) is the operator's choice and taken as it is. Otherwise
    ``directory`` (the scene's ``output.directory``) is read relative to the scene file and must
    stay inside the scene file's folder (an absolute path too: the add-on writes those) unless
    ``allow_outside``.
    """
    if out is not None:
        return Path(out).absolute()
    base = Path(scene_file).absolute().parent
    given = Path(directory)
    root = Path(os.path.normpath(base / given))
    if not allow_outside and os.path.commonpath([base, root]) != str(base):
        what = "is an absolute path outside" if given.is_absolute() else "leads out of"
        raise OutputError(f"{scene_file}: output.directory: {shorten(directory, 120)!r} {what} "
                          "the scene file's folder (write a folder relative to the scene file, "
                          "or give --out DIR or --allow-outside on the command line)")
    return root


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def claim_shot_folder(root: Path, scene_file: Path, frames_dir: Path) -> None:
    """Record in ``root`` which scene file makes this shot; refuse when another scene file made
    it and its frames are there (they would ship under this scene's manifest)."""
    scene_file = Path(scene_file).resolve()
    record_path = Path(root) / SOURCE_FILE
    record = {"scene": str(scene_file), "sha256": file_sha256(scene_file)}
    try:
        old = json.loads(record_path.read_text())
    except (OSError, ValueError):
        old = None
    if old == record:
        return
    has_frames = frames_dir.is_dir() and any(not p.name.startswith(".") for p in frames_dir.iterdir())
    if old and old.get("scene") != record["scene"] and has_frames:
        raise OutputError(f"{root}: the shot folder holds frames of another scene file "
                          f"({shorten(str(old.get('scene')), 200)}) (give this scene its own "
                          "--out, rename the scene file, or delete that shot folder)")
    write_text_atomic(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary name, flush it to disk, rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def stale_temporaries(folder: Path) -> list[Path]:
    """Temporaries in ``folder`` left by processes of this host that no longer run."""
    host = socket.gethostname().replace("-", "_")
    found = []
    for path in Path(folder).glob(".*") if Path(folder).is_dir() else ():
        m = _TEMP_PID.match(path.name)
        if not m:
            continue
        middle = path.name[5:].rsplit("-", 1)[0] if path.name.startswith(".tmp-") else ""
        if middle and middle not in (host, "preview", "contact"):
            continue  # another host's render: theirs to clean
        if not _pid_alive(int(m.group(1))):
            found.append(path)
    return found


def remove_stale_temporaries(folder: Path, log=print) -> list[Path]:
    """Delete ``stale_temporaries(folder)``; returns what was removed."""
    removed = stale_temporaries(folder)
    for path in removed:
        log(f"Removing a partial file of an interrupted run: {path}")
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return removed


@dataclass(frozen=True)
class ShotPaths:
    """The files of one shot under ``<out>/<scene>/<seed>/``."""

    root: Path

    @classmethod
    def for_shot(cls, scene_name: str, seed: int, out_dir: str | Path) -> ShotPaths:
        return cls(Path(out_dir) / shot_folder_name(scene_name) / str(seed))

    @property
    def blend(self) -> Path:
        return self.root / "scene.blend"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def frames(self) -> Path:
        return self.root / "frames"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def frame_records(self) -> Path:
        return self.root / "logs" / "frames"

    @property
    def report(self) -> Path:
        return self.root / "report.json"

    @property
    def break_events(self) -> Path:
        return self.root / "break_events.json"

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def preview(self) -> Path:
        return self.root / "preview.mp4"

    @property
    def contact(self) -> Path:
        return self.root / "contact.png"

    @property
    def stages(self) -> Path:
        """One JSON record per finished stage (per render chunk too): no two tasks share a file."""
        return self.root / "logs" / "stages"

    def stage_records(self) -> dict:
        records = {}
        for path in sorted(self.stages.glob("*.json")) if self.stages.exists() else ():
            try:
                records[path.stem] = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
        return records

    def frame_entries(self, files: list[tuple[int, Path]]) -> list[dict]:
        """The manifest's ``frame_files``: each frame's file, SHA-256 and its render record."""
        entries = []
        for frame, path in files:
            try:
                record = json.loads((self.frame_records / f"{path.stem}.json").read_text())
            except (OSError, ValueError):
                record = {}
            entries.append({"frame": frame, "file": str(path.relative_to(self.root)),
                            "sha256": file_sha256(path), "seconds": record.get("seconds"),
                            "peak_memory_mb": record.get("peak_memory_mb"),
                            "host": record.get("host")})
        return entries

    def output_hashes(self) -> dict[str, str]:
        """The manifest's ``outputs``: SHA-256 of every output file there is, by relative path."""
        outputs = {}
        for path in (self.preview, self.contact, self.report, self.break_events, self.blend,
                     *(sorted(self.cache.glob("*")) if self.cache.exists() else ())):
            if path.exists() and path.is_file():
                outputs[str(path.relative_to(self.root))] = file_sha256(path)
        return outputs
