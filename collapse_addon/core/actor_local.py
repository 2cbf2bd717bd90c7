"""Local views of the support graph for the actor solver: the bonds and the sub-graph of one actor.

Pure numpy (never bpy). A judgement of one actor must cost what the actor costs, not what the
building costs: the bonds among a set of shards are found through a node -> bond adjacency (work
in the shards' own bonds), and the stress solver runs on that actor's own sub-graph, so judging a
10-shard piece of a 20,000-shard building touches ~10 shards, not 20,000 (``docs/actors.md``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .support_graph import _BOND_FIELDS, _NODE_FIELDS

#: Above this share of the graph's nodes a plain mask over every bond is as cheap as the adjacency.
DENSE_SHARE = 0.25


class BondIndex:
    """Node -> bond adjacency (CSR) of a support graph, built once."""

    def __init__(self, graph):
        self.graph = graph
        pairs = np.asarray(graph.bond_pairs, np.int64).reshape(-1, 2)
        n = graph.n_nodes
        ends = pairs.ravel()
        bond_of_end = np.repeat(np.arange(len(pairs), dtype=np.int64), 2)
        order = np.argsort(ends, kind="stable")
        self.bonds = bond_of_end[order]
        self.indptr = np.zeros(n + 1, np.int64)
        np.cumsum(np.bincount(ends, minlength=n), out=self.indptr[1:])
        self.pairs = pairs
        self._mask = np.zeros(n, bool)

    def among(self, nodes: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Indices (ascending) of the alive bonds with both ends in ``nodes`` (node indices)."""
        nodes = np.asarray(nodes, np.int64)
        mask = self._mask
        mask[nodes] = True
        try:
            if len(nodes) > DENSE_SHARE * len(mask):
                a, b = self.pairs.T
                return np.nonzero(mask[a] & mask[b] & alive)[0]
            start, stop = self.indptr[nodes], self.indptr[nodes + 1]
            counts = stop - start
            total = int(counts.sum())
            if total == 0:
                return np.zeros(0, np.int64)
            at = np.repeat(stop - np.cumsum(counts), counts) + np.arange(total)
            cand = np.unique(self.bonds[at])
            a, b = self.pairs[cand].T
            return cand[mask[a] & mask[b] & alive[cand]]
        finally:
            mask[nodes] = False


def local_graph(graph, nodes: np.ndarray, bonds: np.ndarray):
    """The sub-graph of ``graph`` on ``nodes`` (ascending indices) with only ``bonds`` (ascending,
    both ends in ``nodes``), renumbered; like ``support_graph.subgraph`` but in the size of the part."""
    nodes = np.asarray(nodes, np.int64)
    bonds = np.asarray(bonds, np.int64)
    ends = np.searchsorted(nodes, graph.bond_pairs[bonds])
    values = {f: getattr(graph, f)[nodes] for f in _NODE_FIELDS}
    values.update({f: (None if getattr(graph, f) is None else getattr(graph, f)[bonds])
                   for f in _BOND_FIELDS})
    return dataclasses.replace(graph, bond_pairs=ends.reshape(-1, 2), **values)
