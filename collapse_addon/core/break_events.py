"""Break events: every bond that breaks during a bake, as flat arrays (pure numpy, never bpy).

Whichever solver bakes the shot (Blender's glue bake or the rigid-actor solver) hands its breaks
to ``BreakEvents``; the FX side (rubble, dust) and the exporters read them, so both solvers feed
one format. One event per broken bond (a pair of shards that shared a contact face).

Written beside the report as ``break_events.json`` (``write_json``), read back with ``read_json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Why a bond broke. ``overload``: the stress solver found it over capacity under static or
#: redistributed load; ``impact``: a contact impulse (ball, debris) pushed it over; ``trigger``:
#: the trigger cut it directly (charges, explosion); ``glue``: Blender's breakable constraint let go
#: (the glue solver cannot tell the cause).
CAUSES = ("overload", "impact", "trigger", "glue")

FORMAT_VERSION = 1


@dataclass(frozen=True)
class BreakEvents:
    """N break events, one per broken bond, in the order they happened.

    Attributes
    ----------
    time : (N,) float64, seconds from the start of the simulation.
    frame : (N,) int64, the Blender frame the break happened in.
    position : (N, 3) float64, a point on the shared contact face (world space at break time).
    normal : (N, 3) float64, unit normal of that face (from shard_a towards shard_b).
    impulse : (N,) float64, N s: the impulse (or force x step) that broke the bond; >= 0.
    shard_a, shard_b : (N,) int64, indices of the two shards.
    material_a, material_b : (N,) str, material preset names of the two shards.
    cause : (N,) str, one of ``CAUSES``.
    """

    time: np.ndarray
    frame: np.ndarray
    position: np.ndarray
    normal: np.ndarray
    impulse: np.ndarray
    shard_a: np.ndarray
    shard_b: np.ndarray
    material_a: np.ndarray
    material_b: np.ndarray
    cause: np.ndarray

    def __post_init__(self):
        n = len(self.time)
        for name in ("frame", "impulse", "shard_a", "shard_b", "material_a", "material_b", "cause"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"break events: {name} has {len(getattr(self, name))} rows, not {n}")
        for name in ("position", "normal"):
            if np.shape(getattr(self, name)) != (n, 3):
                raise ValueError(f"break events: {name} must be ({n}, 3)")
        unknown = set(np.asarray(self.cause, dtype=str).tolist()) - set(CAUSES)
        if unknown:
            raise ValueError(f"break events: unknown cause {sorted(unknown)}; use one of {CAUSES}")

    @property
    def count(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls) -> BreakEvents:
        return cls.from_lists([])

    @classmethod
    def from_lists(cls, rows: list[tuple]) -> BreakEvents:
        """From rows ``(time, frame, position, normal, impulse, a, b, mat_a, mat_b, cause)``."""
        cols = list(zip(*rows, strict=True)) if rows else [()] * 10
        return cls(
            time=np.asarray(cols[0], dtype=np.float64),
            frame=np.asarray(cols[1], dtype=np.int64),
            position=np.asarray(cols[2], dtype=np.float64).reshape(-1, 3),
            normal=np.asarray(cols[3], dtype=np.float64).reshape(-1, 3),
            impulse=np.asarray(cols[4], dtype=np.float64),
            shard_a=np.asarray(cols[5], dtype=np.int64),
            shard_b=np.asarray(cols[6], dtype=np.int64),
            material_a=np.asarray(cols[7], dtype=str),
            material_b=np.asarray(cols[8], dtype=str),
            cause=np.asarray(cols[9], dtype=str),
        )

    def to_dict(self) -> dict:
        """Plain Python values only (no NumPy scalars), in column form."""
        return {
            "format": "collapse-break-events",
            "version": FORMAT_VERSION,
            "count": self.count,
            "time": [float(v) for v in self.time],
            "frame": [int(v) for v in self.frame],
            "position": [[float(c) for c in p] for p in self.position],
            "normal": [[float(c) for c in p] for p in self.normal],
            "impulse": [float(v) for v in self.impulse],
            "shard_a": [int(v) for v in self.shard_a],
            "shard_b": [int(v) for v in self.shard_b],
            "material_a": [str(v) for v in self.material_a],
            "material_b": [str(v) for v in self.material_b],
            "cause": [str(v) for v in self.cause],
        }

    @classmethod
    def from_dict(cls, data: dict) -> BreakEvents:
        if data.get("format") != "collapse-break-events":
            raise ValueError("not a collapse break-events file")
        rows = list(zip(data["time"], data["frame"], data["position"], data["normal"],
                        data["impulse"], data["shard_a"], data["shard_b"], data["material_a"],
                        data["material_b"], data["cause"], strict=True))
        return cls.from_lists(rows)


def write_json(events: BreakEvents, path: str | Path) -> Path:
    """Write atomically (temp name, flushed, then renamed; a failed write leaves no temporary)."""
    from .shotfolder import write_text_atomic

    path = Path(path)
    write_text_atomic(path, json.dumps(events.to_dict()))
    return path


def read_json(path: str | Path) -> BreakEvents:
    return BreakEvents.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
