"""The ``collapse`` command lines a farm runs: build, bake, one per render chunk, finalize.

Every engine here (Dask, OpenJD, Flamenco) runs these same commands, so a chunk rendered on a farm
is the chunk the plain CLI renders. ``COLLAPSE_CLI`` overrides how ``collapse`` is started (a
shell-style string, e.g. ``"/opt/collapse/.venv/bin/collapse"``) where farm nodes install it
elsewhere.
"""

from __future__ import annotations

import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path


def collapse_command() -> list[str]:
    """The argv prefix that starts the ``collapse`` CLI on this machine."""
    override = os.environ.get("COLLAPSE_CLI")
    if override:
        return shlex.split(override)
    script = Path(sys.executable).with_name("collapse")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from headless.cli import main; sys.exit(main())"]


@dataclass(frozen=True)
class Shot:
    """One shot: a scene file, an output root and (optionally) a seed that overrides the scene's.

    The CLI writes the shot to ``out/<scene stem>/<seed>/`` (:attr:`folder`); ``scene_seed`` is the
    seed the scene file sets, used when ``seed`` is None. Build it with :func:`resolve_shot`.
    """

    scene: Path
    out: Path
    seed: int | None = None
    scene_seed: int = 0
    padding: int = 4
    extension: str = ".png"

    @property
    def folder(self) -> Path:
        """``out/<scene stem>/<seed>/``, where the CLI writes this shot."""
        seed = self.scene_seed if self.seed is None else self.seed
        from collapse_addon.core.shotfolder import shot_folder_name

        return Path(self.out) / shot_folder_name(Path(self.scene).stem) / str(seed)

    def frame_file(self, frame: int) -> Path:
        """Where the CLI writes ``frame``: ``<folder>/frames/0001.png`` for padding 4."""
        return self.folder / "frames" / f"{frame:0{self.padding}d}{self.extension}"

    @property
    def name(self) -> str:
        """A short label for logs and progress lines: ``demo`` or ``demo@seed7``."""
        stem = Path(self.scene).stem
        return stem if self.seed is None else f"{stem}@seed{self.seed}"

    def _common(self) -> list[str]:
        args = [str(self.scene), "--out", str(self.out)]
        if self.seed is not None:
            args += ["--seed", str(self.seed)]
        return args

    def build_argv(self) -> list[str]:
        """``collapse build SCENE --out DIR [--seed N]``."""
        return [*collapse_command(), "build", *self._common()]

    def bake_argv(self) -> list[str]:
        """``collapse bake SCENE --out DIR [--seed N]``."""
        return [*collapse_command(), "bake", *self._common()]

    def render_argv(self, frames: str | None = None, chunk: str | None = None,
                    threads: int | None = None) -> list[str]:
        """``collapse render SCENE --out DIR [--frames F | --chunk N/M] [--threads T]``."""
        argv = [*collapse_command(), "render", *self._common()]
        if frames is not None:
            argv += ["--frames", frames]
        if chunk is not None:
            argv += ["--chunk", chunk]
        if threads is not None:
            argv += ["--threads", str(threads)]
        return argv

    def finalize_argv(self) -> list[str]:
        """``collapse finalize SCENE --out DIR [--seed N]``."""
        return [*collapse_command(), "finalize", *self._common()]


def resolve_shot(scene: str | Path, out: str | Path | None = None, seed: int | None = None,
                 frames: str | None = None, allow_outside: bool = False) -> tuple[Shot, list[int]]:
    """Read ``scene`` (raises SceneError naming the key on a bad file) and return the shot and the
    frames to render: ``frames`` ("1-48", "1,5,9"), else the scene's ``render.frames``, else all.

    ``out`` defaults to the scene's ``output.directory`` (relative to the scene file, kept inside
    its folder unless ``allow_outside``), as for ``collapse render``.
    """
    from collapse_addon.core.settings import load_scene
    from collapse_addon.core.shotfolder import output_root

    settings = load_scene(Path(scene))
    if seed is not None:
        settings = settings.with_seed(seed)
    # Absolute: workers may start in another folder (or on another machine with the same mounts).
    out = output_root(Path(scene), settings.output.directory, out, allow_outside).resolve()
    scene = Path(scene).resolve()
    extension = ".png" if settings.render.file_format == "PNG" else ".exr"
    shot = Shot(Path(scene), out, seed, settings.seed, settings.render.padding, extension)
    return shot, settings.frame_list(frames)
