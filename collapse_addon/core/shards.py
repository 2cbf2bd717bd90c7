"""Shards and their contact graph, as flat numpy arrays (what the bpy side bulk-loads).

A ``ShardSet`` holds every shard of a fracture: shard ``s`` owns vertices
``vertices[vertex_start[s]:vertex_start[s+1]]`` and faces ``face_start[s]:face_start[s+1]``; face
``f`` lists ``face_sizes[f]`` corners in ``loops`` (global vertex indices, counter-clockwise seen
from outside, so normals point out). ``face_interior[f]`` is True on cut faces and False on the
original surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ContactGraph:
    """Shared faces between shards, one row per unordered pair (``pairs[:, 0] < pairs[:, 1]``).

    ``normal`` is the unit normal of the shared face pointing from the first shard to the second;
    ``cross_element`` marks contacts between shards of two different elements.
    """

    pairs: np.ndarray  # (C, 2) int64
    area: np.ndarray  # (C,) m^2
    centroid: np.ndarray  # (C, 3)
    normal: np.ndarray  # (C, 3)
    cross_element: np.ndarray  # (C,) bool

    @property
    def count(self) -> int:
        return len(self.pairs)

    def adjacency(self, n_shards: int):
        """Symmetric sparse matrix of contact areas."""
        from scipy.sparse import coo_matrix

        i, j = self.pairs.T
        data = np.concatenate([self.area, self.area])
        return coo_matrix((data, (np.concatenate([i, j]), np.concatenate([j, i]))),
                          shape=(n_shards, n_shards)).tocsr()

    def contact_area_per_shard(self, n_shards: int) -> np.ndarray:
        return (np.bincount(self.pairs[:, 0], self.area, n_shards)
                + np.bincount(self.pairs[:, 1], self.area, n_shards))


@dataclass(frozen=True)
class ShardSet:
    """Every shard of a fracture, flat (see module docstring)."""

    vertices: np.ndarray  # (V, 3) float64
    vertex_start: np.ndarray  # (S+1,) int64
    face_sizes: np.ndarray  # (F,) int64
    face_start: np.ndarray  # (S+1,) int64
    loops: np.ndarray  # (L,) int64, global vertex indices
    face_interior: np.ndarray  # (F,) bool
    volume: np.ndarray  # (S,) m^3
    centroid: np.ndarray  # (S, 3)
    surface_area: np.ndarray  # (S,) m^2
    element: np.ndarray  # (S,) int64, index of the element each shard came from
    contacts: ContactGraph
    convex: np.ndarray | None = None  # (S,) bool; None: every shard is convex (the box path)

    def is_convex(self, s: int) -> bool:
        return True if self.convex is None else bool(self.convex[s])

    @property
    def count(self) -> int:
        return len(self.volume)

    @property
    def loop_start(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.face_sizes)[:-1]]).astype(np.int64)

    @property
    def free_area(self) -> np.ndarray:
        """Surface of each shard touching no other shard (what an artist sees after a break)."""
        return self.surface_area - self.contacts.contact_area_per_shard(self.count)

    def shard_mesh(self, s: int):
        """Vertices (local), face sizes, local loop indices and interior flags of shard ``s``."""
        v0, v1 = self.vertex_start[s], self.vertex_start[s + 1]
        f0, f1 = self.face_start[s], self.face_start[s + 1]
        starts = self.loop_start
        l0 = starts[f0]
        l1 = starts[f1] if f1 < len(starts) else len(self.loops)
        return (self.vertices[v0:v1], self.face_sizes[f0:f1], self.loops[l0:l1] - v0,
                self.face_interior[f0:f1])
