"""The stress solver's stiffness system kept between solves of one graph: assemble once, factor once,
and re-solve after bonds broke with a correction local to where they broke.

Pure numpy/scipy (never imports bpy). ``settle`` breaks a few bonds per round and solves again; the
graph, its bonds' 12x12 matrices and most of the matrix stay the same. This module keeps:

- the assembled matrix over all ``6 n`` DOFs with a sparsity pattern fixed when it is built (the
  bonds alive then, plus the diagonal): a broken bond's stiffness is subtracted in place, a bond
  alive again is added back; held nodes (supports, a pinned node of a free body) and nodes with no
  bond get a unit diagonal and zero coupling, by masking the values, so the pattern never changes;
- a sparse LU of the matrix it was factored at (``K0``; symmetric ordering, no pivoting): double
  precision and exact up to ``DIRECT_DOFS``, single precision above (half the memory traffic per
  triangular solve; only ever a preconditioner there), or for very large systems the two-level
  multigrid cycle of ``stress_linear``;
- a re-solve of ``K u = f`` as conjugate gradients warm-started from the last displacements, with a
  multiplicative Schwarz preconditioner: an exact solve on the nodes whose rows changed since the
  factorisation (the ends of broken bonds), the cached ``K0^-1`` for everything else, and the local
  solve again (symmetric, so CG applies). ``K0`` differs from ``K`` only in those rows: the
  local solve absorbs the change and CG converges in a few iterations (6 after 1 % of a
  10,000-bond actor's bonds broke at random), each costing one triangular solve with the factor.
  When the changed rows grow past ``REFACTOR_SHARE`` of the nodes, or CG needed more than
  ``SLOW_ITERATIONS``, the next solve factors again; if CG does not converge, the current matrix
  is factored and solved directly (exact). Deterministic: the same sums in the same order.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from . import stress_linear

REFACTOR_SHARE = 0.15  # changed nodes / all nodes past which the matrix is factored again
SLOW_ITERATIONS = 12  # a re-solve that needed more iterations factors again next time
MAX_ITERATIONS = 60  # a re-solve that has not converged by then is solved exactly (LU of the matrix now)
LU_MAX_DOFS = 90_000  # above: the two-level multigrid cycle as the cached solver (LU fill grows fast)
TOL = 3e-5  # relative residual of a re-solve (the old iterative path stopped at 1e-4)
DIRECT_DOFS = 6000  # at most this many DOFs: an exact factor of the matrix as it is (cheap), no CG


def _lu(K: sp.csr_matrix):
    return splu(K.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})


class StiffnessSystem:
    """Assembled stiffness of one graph's bonds over all ``6 n`` DOFs, with a fixed pattern.

    ``bonds``: the bond indices in the pattern (alive when built); ``ke`` (B, 12, 12) and ``dofs``
    (B, 12) their element matrices and global DOFs. ``points`` (n, 3): the nodes (aggregates of the
    multigrid cycle for very large systems).
    """

    def __init__(self, n_nodes: int, n_bonds: int, bonds: np.ndarray, ke: np.ndarray, dofs: np.ndarray,
                 points: np.ndarray):
        self.n = n_nodes
        size = 6 * n_nodes
        self.size = size
        self.points = points
        self.in_pattern = np.zeros(n_bonds, bool)
        self.in_pattern[bonds] = True
        self.current = self.in_pattern.copy()  # bonds whose stiffness is in ``full``
        rows = np.repeat(dofs, 12, axis=1).ravel()
        cols = np.tile(dofs, (1, 12)).ravel()
        diag = np.arange(size)
        A = sp.coo_matrix((np.concatenate([ke.ravel(), np.zeros(size)]),
                           (np.concatenate([rows, diag]), np.concatenate([cols, diag]))),
                          shape=(size, size)).tocsr()
        A.sum_duplicates()
        A.sort_indices()
        self.indptr, self.indices = A.indptr, A.indices
        prow = np.repeat(np.arange(size, dtype=np.int64), np.diff(self.indptr))
        self.keys = prow * size + self.indices
        self.diag = np.searchsorted(self.keys, diag * size + diag)
        self.full = A.data.copy()
        # the nodes of every entry (int32: the index arrays are the system's largest after the factor)
        self.pnode, self.cnode = (prow // 6).astype(np.int32), (self.indices // 6).astype(np.int32)
        self._matrix = A  # the pattern, its values replaced for each solve (no index checks again)
        self.factored: np.ndarray | None = None  # values of the matrix the cached solver was built on
        self.solver = None
        self.refactor = True
        self.exact = False
        self.single = True  # a single-precision factor as the preconditioner (see ``_factor``)
        self.factorisations = 0

    def _positions(self, dofs: np.ndarray) -> np.ndarray:
        rows = np.repeat(dofs, 12, axis=1).ravel()
        cols = np.tile(dofs, (1, 12)).ravel()
        keys = rows * self.size + cols
        order = np.argsort(keys, kind="stable")  # sorted queries: a cache-friendly search
        pos = np.empty(len(keys), np.int64)
        pos[order] = np.searchsorted(self.keys, keys[order])
        return pos

    def set_bonds(self, alive: np.ndarray, ke_of, dofs_of) -> bool:
        """Make the stiffness that of ``alive``; False if a bond outside the pattern is alive."""
        if (alive & ~self.in_pattern).any():
            return False
        gone = np.nonzero(self.current & ~alive)[0]
        back = np.nonzero(alive & ~self.current)[0]
        if len(gone):
            np.subtract.at(self.full, self._positions(dofs_of(gone)), ke_of(gone).ravel())
        if len(back):
            np.add.at(self.full, self._positions(dofs_of(back)), ke_of(back).ravel())
        self.current = alive.copy()
        return True

    def matrix(self, keep: np.ndarray) -> np.ndarray:
        """Values of the system with only the ``keep`` nodes free (the others: unit diagonal)."""
        data = np.where(keep[self.pnode] & keep[self.cnode], self.full, 0.0)
        data[self.diag[~np.repeat(keep, 6)]] = 1.0
        return data

    def _csr(self, data: np.ndarray) -> sp.csr_matrix:
        self._matrix.data = data
        return self._matrix

    def _factor(self, data: np.ndarray, exact: bool = False) -> None:
        """Build the cached solver on ``data``: an exact double-precision LU for small systems (or
        when asked), a single-precision LU (half the memory traffic per solve; only ever a
        preconditioner) up to ``LU_MAX_DOFS``, else the two-level multigrid cycle."""
        K = self._csr(data)
        exact = exact or self.size <= DIRECT_DOFS or not self.single
        if exact or self.size <= LU_MAX_DOFS:
            lu = _lu(K if exact else K.astype(np.float32))
            self.solver = lu.solve if exact else (lambda r: lu.solve(r.astype(np.float32)).astype(float))
        else:
            self.solver = stress_linear.TwoLevel(K.copy(), self.points)
        self.exact = exact
        self.factored = data
        self.refactor = False
        self.factorisations += 1

    def solve(self, keep: np.ndarray, rhs: np.ndarray, x0: np.ndarray | None, info: dict) -> np.ndarray:
        """Solve with the ``keep`` nodes free; ``rhs`` must be zero on the others."""
        data = self.matrix(keep)
        K = self._csr(data)
        changed = np.zeros(0, np.int64)
        if not self.refactor and self.factored is not None:
            changed = np.unique(self.pnode[data != self.factored]).astype(np.int64)
            if len(changed) > REFACTOR_SHARE * self.n:
                self.refactor = True
        # small systems: an exact factor of the matrix as it is now (cheap), kept while it holds
        fresh = self.refactor or self.factored is None or (self.size <= DIRECT_DOFS and len(changed) > 0)
        if fresh:
            self._factor(data)
            changed = np.zeros(0, np.int64)
        if len(changed) == 0 and self.exact:
            info.update(method="lu", iterations=0, changed=0)
            return self.solver(rhs)
        x, iterations, res = self._pcg(K, rhs, x0, changed)
        info.update(method="update", iterations=iterations, changed=len(changed))
        if fresh and iterations > SLOW_ITERATIONS:
            self.single = False  # single precision is too coarse for this matrix: double from now on
        if not res <= TOL:  # did not converge: factor what is there now and solve exactly
            self._factor(data, exact=True)
            info.update(method="lu")
            return self.solver(rhs)
        self.refactor = iterations > SLOW_ITERATIONS
        return x

    def _pcg(self, K, rhs, x0, changed):
        local = (6 * changed[:, None] + np.arange(6)).ravel()
        if len(local):
            K_rows = K[local]  # K is symmetric: its columns ``local`` are these rows transposed
            lu_local = _lu(K_rows[:, local]).solve
        glob = self.solver

        def precondition(r):
            if not len(local):
                return glob(r)
            z_l = lu_local(r[local])
            z = glob(r - K_rows.T @ z_l)
            z[local] += z_l
            z[local] += lu_local(r[local] - K_rows @ z)
            return z

        return stress_linear.pcg(K, rhs, precondition, x0=x0, tol=TOL, maxiter=MAX_ITERATIONS)


def node_order(n: int, pairs: np.ndarray) -> np.ndarray:
    """A fill-reducing elimination order of ``n`` nodes bonded by ``pairs`` (B, 2): SuperLU's
    minimum degree on the node graph (36x smaller than the 6-DOF matrix, the same supernodes)."""
    if n == 0:
        return np.zeros(0, np.int64)
    deg = np.bincount(pairs.ravel(), minlength=n).astype(float)
    lap = sp.coo_matrix((np.concatenate([-np.ones(2 * len(pairs)), deg + 1.0]),
                         (np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)]),
                          np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)]))), shape=(n, n))
    return np.argsort(_lu(lap.tocsr()).perm_c, kind="stable")


class DirectSystem:
    """Exact solves of a part's free DOFs, round after round of ``settle``: the pattern, where each
    bond's 12x12 entries land, and a fill-reducing order are fixed at the first solve; each solve
    sums the alive bonds' matrices into that pattern (``np.bincount``: one pass, no sort) and factors
    it (sparse LU, its order given: no ordering pass). About 2.5x cheaper per round than assembling
    through ``coo_matrix`` and letting SuperLU order the DOFs, with the same solution to rounding.

    ``free`` (n,) nodes free at the first solve (others are never free again: ``settle`` only pins
    more); ``bonds`` the graph's bonds with a free end then; ``dofs`` (B, 12) their DOFs. Nodes
    held later (a free piece's pinned node) and DOFs left with no stiffness (a node that lost every
    bond) get a unit diagonal and no coupling, zero load: u = 0 there, as in ``solve_bonds``.
    """

    def __init__(self, free: np.ndarray, n_bonds: int, bonds: np.ndarray, dofs: np.ndarray, pairs: np.ndarray):
        n = len(free)
        nodes = np.nonzero(free)[0]
        local = np.full(n, -1, np.int64)
        local[nodes] = np.arange(len(nodes))
        ends = local[pairs]
        inner = (ends >= 0).all(1)
        order = node_order(len(nodes), ends[inner])
        place = np.full(n, -1, np.int64)  # each free node's place in the elimination order
        place[nodes[order]] = np.arange(len(nodes))
        self.free = free.copy()
        self.nodes = nodes[order]  # node at each place
        self.dof = (6 * self.nodes[:, None] + np.arange(6)).reshape(-1)  # DOF at each place
        self.size = size = 6 * len(nodes)
        # the pattern is 6x6 blocks of node pairs: found on the node graph, then spread to the DOFs
        m = len(bonds)
        ends = place[pairs]  # (B, 2) places of each bond's nodes, -1 held
        blk_r = np.repeat(ends, 2, axis=1).reshape(m, 2, 2)  # [bond, r, c] -> row node r's place
        blk_c = np.tile(ends, (1, 2)).reshape(m, 2, 2)
        live = (blk_r >= 0) & (blk_c >= 0)
        nodes_n = len(nodes)
        diag = np.arange(nodes_n)
        # column-major keys: the pattern is the CSC of the matrix (what SuperLU factors)
        keys = np.concatenate([(blk_c * nodes_n + blk_r)[live], diag * nodes_n + diag])
        unique, inverse = np.unique(keys, return_inverse=True)
        cnt = np.bincount(unique // nodes_n, minlength=nodes_n)  # blocks in each block column
        nptr = np.concatenate([[0], np.cumsum(cnt)])
        block = np.full((m, 2, 2), -1, np.int64)
        block[live] = inverse[:live.sum()]
        # entry (6 Q + e, 6 P + d) sits at 36 nptr[P] + 6 cnt[P] d + 6 (its block - nptr[P]) + e
        i = np.arange(12)
        r, c, e, d = i[:, None] // 6, i[None, :] // 6, i[:, None] % 6, i[None, :] % 6
        blk = block[:, r, c]  # (B, 12, 12)
        col = np.where(blk >= 0, blk_c[:, r, c], 0)
        entry = 36 * nptr[col] + 6 * cnt[col] * d + 6 * (blk - nptr[col]) + e
        nnz = int(36 * nptr[-1])
        self.entry = np.where(blk >= 0, entry, nnz).reshape(m, 144)  # nnz: a bin for what is not summed
        self.slot = np.full(n_bonds, -1, np.int64)
        self.slot[bonds] = np.arange(m)
        rows_of_blocks = (6 * (unique % nodes_n)[:, None] + np.arange(6)).reshape(-1)
        length = np.repeat(6 * cnt, 6)  # entries in each DOF column
        self.indptr = np.concatenate([[0], np.cumsum(length)]).astype(np.int32)
        first = np.repeat(6 * nptr[:-1], 6)  # each DOF column's first row in rows_of_blocks
        at = np.repeat(first - self.indptr[:-1], length) + np.arange(self.indptr[-1])
        self.indices = rows_of_blocks[at].astype(np.int32)
        dd = np.arange(6)
        pp = inverse[live.sum():]  # each node's diagonal block
        self.diag = (36 * nptr[:-1, None] + 6 * cnt[:, None] * dd + 6 * (pp - nptr[:-1])[:, None] + dd).reshape(-1)
        self.row_node = (self.indices // 6).astype(np.int64)
        self.col_node = np.repeat(np.arange(size) // 6, length)
        self.factorisations = 0

    def covers(self, keep: np.ndarray, bonds: np.ndarray) -> bool:
        """Whether free nodes ``keep`` and ``bonds`` (alive, a free end) are within the pattern, and
        fill at least half of it (a much smaller part, e.g. the next blow on a standing building,
        is cheaper in a system of its own: held nodes still carry their pattern into the factor)."""
        return bool(not (keep & ~self.free).any() and (self.slot[bonds] >= 0).all()
                    and 2 * int(keep[self.nodes].sum()) >= len(self.nodes))

    def solve(self, keep: np.ndarray, bonds: np.ndarray, ke: np.ndarray, rhs: np.ndarray) -> np.ndarray:
        """u (6 n,) of ``K u = rhs`` over the ``keep`` nodes (``rhs`` (6 n,)); u = 0 elsewhere."""
        data = np.bincount(self.entry[self.slot[bonds]].reshape(-1), ke.reshape(-1),
                           minlength=len(self.indices) + 1)[:-1]
        free = keep[self.nodes]  # by place
        if not free.all():
            data[~(free[self.row_node] & free[self.col_node])] = 0.0
        mag = np.add.reduceat(np.abs(data), self.indptr[:-1])  # every column holds its diagonal
        empty = (mag == 0) | ~np.repeat(free, 6)
        data[self.diag[empty]] = 1.0
        dof = self.dof
        b = np.where(empty, 0.0, rhs[dof])
        K = sp.csc_matrix((data, self.indices, self.indptr), shape=(self.size, self.size))
        # supernodes relaxed to 6 columns, panels of 6 (a node's DOFs): ~10 % faster than SuperLU's defaults here
        lu = splu(K, permc_spec="NATURAL", diag_pivot_thresh=0.0, relax=6, panel_size=6,
                  options={"SymmetricMode": True})
        self.factorisations += 1
        u = np.zeros(len(rhs))
        u[dof] = np.where(empty, 0.0, lu.solve(b))
        return u
