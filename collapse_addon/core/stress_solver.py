"""Static stress in the bonds of a support graph, and progressive failure ("settle").

Pure numpy/scipy (never imports bpy).

Model: every node (shard) is a rigid body with 6 degrees of freedom (translation u, small rotation
theta). Every alive bond is a zero-length elastic joint at its face centroid p, reached from each
shard's centroid by a rigid arm, with stiffness from its face (area A, equivalent rectangle
d1 x d2 along the frame's t1, t2: ``SupportGraph.extents``) over the centroid-to-centroid length L:
axial E A / L, shear G A / L, bending E I / L (I1 = d1 d2^3 / 12, I2 = d2 d1^3 / 12) and torsion
G (I1 + I2) / L, G = 0.4 E. Supports (``fixed``) are held. ``K u = f``
is solved once for all components (``stress_linear``: sparse LU for small systems, conjugate
gradients with a rigid-mode multigrid preconditioner for large ones): a component without a
fixed node is a free body; it carries only its inertial (d'Alembert) loads: its rigid acceleration
from the resultant force and moment is subtracted from each node's load, and one node is pinned
(it gets no reaction, the load being self-equilibrated). Rotations make cantilevers and slab spans
carry their load by bending.

Bond forces in the joint frame (n, t1, t2): axial N = k_n (u_b - u_a) . n (positive: tension),
shear V = |k_s (u_b - u_a)_t|, moments about t1 and t2 and torsion.

Failure (``overloaded`` / ``utilisation``), against the bond's capacities (``core.strength``):
compression -N / C; shear V / (S + mu max(-N, 0)) (Mohr-Coulomb); tension N / T; bending: the
extreme fibre, (N + 6 |M1| / d2 + 6 |M2| / d1) / F with F the flexural capacity f_fl A (compression
across the face raises the moment it takes, as in masonry). The utilisation is the largest ratio; >= 1 breaks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from .errors import SpecError

POISSON_G = 0.4  # G / E for an isotropic solid with nu ~ 0.25
TRANSIENT_REACH = 3.0  # m: mass that takes an impact's blow by its inertia (about a bay)
REUSE_DOFS = 300  # free DOFs from which settle keeps its direct system between rounds (DirectSystem)


def components(n_nodes: int, pairs: np.ndarray, alive: np.ndarray | None = None) -> np.ndarray:
    """Connected-component label of every node over the alive bonds (labels 0..k-1, stable order)."""
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    if alive is not None:
        pairs = pairs[np.asarray(alive, bool)]
    m = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n_nodes, n_nodes))
    _, labels = connected_components(m, directed=False)
    labels = labels.astype(np.int64)
    # relabel by first node so labels do not depend on scipy's traversal (already so when each
    # label first appears right after the largest one before it: then nothing to do)
    if n_nodes == 0 or (labels[0] == 0 and (np.diff(np.maximum.accumulate(labels)) <= 1).all()):
        return labels
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first, kind="stable")
    remap = np.empty(len(order), np.int64)
    remap[order] = np.arange(len(order))
    return remap[labels]


def _skew(r: np.ndarray) -> np.ndarray:
    s = np.zeros(r.shape[:-1] + (3, 3))
    s[..., 0, 1], s[..., 0, 2] = -r[..., 2], r[..., 1]
    s[..., 1, 0], s[..., 1, 2] = r[..., 2], -r[..., 0]
    s[..., 2, 0], s[..., 2, 1] = -r[..., 1], r[..., 0]
    return s


def bond_frames(normal: np.ndarray) -> np.ndarray:
    """(M, 3, 3) rows n, t1, t2: a right-handed frame with n the bond normal (deterministic)."""
    n = normal / np.linalg.norm(normal, axis=1, keepdims=True)
    helper = np.where((np.abs(n[:, 2]) < 0.9)[:, None], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0])
    t1 = np.cross(helper, n)
    t1 /= np.linalg.norm(t1, axis=1, keepdims=True)
    t2 = np.cross(n, t1)
    return np.stack([n, t1, t2], 1)


@dataclass(frozen=True)
class _Operator:
    """Per bond: the (6, 12) map from the two nodes' DOFs to the joint's local relative motion."""

    g: np.ndarray  # (M, 6, 12)
    k: np.ndarray  # (M, 6) local stiffness
    dofs: np.ndarray  # (M, 12) global DOF indices


def _operator(graph, bonds: np.ndarray) -> _Operator:
    pairs = graph.bond_pairs[bonds]
    a, b = pairs[:, 0], pairs[:, 1]
    p = graph.bond_centroid[bonds]
    frames = bond_frames(graph.bond_normal[bonds])
    area = graph.bond_area[bonds]
    length = np.linalg.norm(graph.centroid[b] - graph.centroid[a], axis=1)
    length = np.maximum(length, 0.05 * np.sqrt(area) + 1e-6)
    e = graph.bond_youngs()[bonds]
    g_mod = POISSON_G * e
    ext = graph.extents()[bonds]
    # about t1 the fibres run along t2 (and the other way round); torsion ~ the polar moment
    i1 = ext[:, 0] * ext[:, 1] ** 3 / 12.0
    i2 = ext[:, 1] * ext[:, 0] ** 3 / 12.0
    k = np.stack([e * area, g_mod * area, g_mod * area, g_mod * (i1 + i2), e * i1, e * i2],
                 1) / length[:, None]
    m = len(bonds)
    # relative translation at p: (u_b + theta_b x r_b) - (u_a + theta_a x r_a); u + t x r = u - S(r) t
    blk = np.zeros((m, 6, 12))
    eye = np.broadcast_to(np.eye(3), (m, 3, 3))
    ra, rb = p - graph.centroid[a], p - graph.centroid[b]
    blk[:, :3, 0:3] = -eye
    blk[:, :3, 3:6] = _skew(ra)
    blk[:, :3, 6:9] = eye
    blk[:, :3, 9:12] = -_skew(rb)
    blk[:, 3:, 3:6] = -eye
    blk[:, 3:, 9:12] = eye
    rot = np.zeros((m, 6, 6))
    rot[:, :3, :3] = frames
    rot[:, 3:, 3:] = frames
    g = np.einsum("mij,mjk->mik", rot, blk)
    return _Operator(g, k, _bond_dofs(pairs))


def _element_matrices(graph, bonds, scale):
    """Operator and stiffness matrix of each listed bond."""
    op = _operator(graph, bonds)
    return op, np.einsum("mki,mk,mkj->mij", op.g, op.k / scale, op.g)


def _bond_dofs(pairs: np.ndarray) -> np.ndarray:
    """(B, 12) global DOF indices of bonds between nodes ``pairs`` (B, 2)."""
    return np.concatenate([6 * pairs[:, :1] + np.arange(6), 6 * pairs[:, 1:] + np.arange(6)], 1)


class Elements:
    """Every bond's operator and 12x12 matrix of one support graph, each computed once (they depend
    on the rest geometry only) and gathered for every solve of the graph or of a part of it.

    A judgement re-solves an actor round after round and the same bonds again at the next one: the
    element matrices were ~1/3 of the actor solver's stress time. A bond's matrix is the same bits
    computed alone or in any batch (element-wise products), so a gathered one is exactly what
    ``_element_matrices`` gives. Matrices are kept per force scale (``_scale_of``: a few values,
    the median modulus of the parts judged), each bond's only once it was asked for.
    """

    def __init__(self, graph):
        self.graph = graph
        m = graph.n_bonds
        self.done = np.zeros(m, bool)
        self.g = np.zeros((m, 6, 12))
        self.k = np.zeros((m, 6))
        self.scaled: dict[float, list] = {}  # scale -> [slot (M,) of each bond's row, rows, rows used]

    def view(self, ids: np.ndarray | None = None) -> ElementView:
        """The elements of a graph whose bond i is this graph's bond ``ids[i]`` (None: this graph)."""
        return ElementView(self, np.arange(self.graph.n_bonds) if ids is None else np.asarray(ids, np.int64))

    def get(self, ids: np.ndarray, scale: float):
        """(g, k, ke) of bonds ``ids`` (indices into this graph) at force scale ``scale``."""
        todo = np.unique(ids[~self.done[ids]])
        if len(todo):
            op = _operator(self.graph, todo)
            self.g[todo], self.k[todo] = op.g, op.k
            self.done[todo] = True
        entry = self.scaled.get(scale)
        if entry is None:
            entry = self.scaled[scale] = [np.full(self.graph.n_bonds, -1, np.int64), np.zeros((0, 12, 12)), 0]
        slot, rows, used = entry
        new = np.unique(ids[slot[ids] < 0])
        if len(new):
            if used + len(new) > len(rows):
                grown = np.zeros((max(2 * len(rows), used + len(new)), 12, 12))
                grown[:used] = rows[:used]
                rows = entry[1] = grown
            g = self.g[new]
            rows[used:used + len(new)] = np.einsum("mki,mk,mkj->mij", g, self.k[new] / scale, g)
            slot[new] = np.arange(used, used + len(new))
            entry[2] = used + len(new)
        return self.g[ids], self.k[ids], rows[slot[ids]]


class ElementView:
    """``Elements`` of a sub-graph: its bond i is the whole graph's bond ``ids[i]``."""

    def __init__(self, store: Elements, ids: np.ndarray):
        self.store = store
        self.ids = ids

    def sub(self, bond_index: np.ndarray) -> ElementView:
        """The view of a sub-graph of this one (its bond i is this one's ``bond_index[i]``)."""
        return ElementView(self.store, self.ids[bond_index])

    def matrices(self, graph, bonds: np.ndarray, scale: float):
        """What ``_element_matrices(graph, bonds, scale)`` gives, gathered from the store."""
        g, k, ke = self.store.get(self.ids[bonds], scale)
        return _Operator(g, k, _bond_dofs(graph.bond_pairs[bonds])), ke


def _cache_elements(graph, bonds, scale, cache) -> None:
    """Keep every listed bond's operator and 12x12 matrix in ``cache`` (computed once per graph)."""
    m = graph.n_bonds
    if cache.get("graph") is not graph:
        cache.clear()
        cache.update(graph=graph, done=np.zeros(m, bool), g=np.zeros((m, 6, 12)), k=np.zeros((m, 6)),
                     dofs=np.zeros((m, 12), np.int64), ke=np.zeros((m, 12, 12)))
    todo = bonds[~cache["done"][bonds]]
    if len(todo):
        op = _operator(graph, todo)
        cache["g"][todo], cache["k"][todo], cache["dofs"][todo] = op.g, op.k, op.dofs
        cache["ke"][todo] = np.einsum("mki,mk,mkj->mij", op.g, op.k / scale, op.g)
        cache["done"][todo] = True


def _assemble(ke, dofs, free_dof, index, nf):
    """Sum the bonds' 12x12 matrices over the free DOFs (CSR)."""
    rows = np.repeat(dofs, 12, axis=1).ravel()
    cols = np.tile(dofs, (1, 12)).ravel()
    keep = free_dof[rows] & free_dof[cols]
    return coo_matrix((ke.ravel()[keep], (index[rows[keep]], index[cols[keep]])), shape=(nf, nf)).tocsr()


def _solve_cached(graph, alive, bonds, held, loads, scale, cache) -> np.ndarray:
    """Displacements (6 n,) with the stiffness system, its factor and the last solution kept in
    ``cache`` (``stress_system``): a re-solve after bonds broke is a local update, not a new solve."""
    from .stress_system import StiffnessSystem

    _cache_elements(graph, bonds, scale, cache)
    system = cache.get("system")
    if system is None or not system.set_bonds(alive, lambda b: cache["ke"][b], lambda b: cache["dofs"][b]):
        system = StiffnessSystem(graph.n_nodes, graph.n_bonds, bonds, cache["ke"][bonds], cache["dofs"][bonds],
                                 graph.centroid)
        cache["system"] = system
    degree = np.bincount(graph.bond_pairs[alive].ravel(), minlength=graph.n_nodes)
    keep = ~held & (degree > 0)  # held nodes and nodes with no bond carry nothing: u = 0
    rhs = np.where(np.repeat(keep, 6), loads.ravel() / scale, 0.0)
    info: dict = {}
    u = system.solve(keep, rhs, cache.get("u"), info)
    cache.update(u=u, iterations=info.get("iterations"), method=info.get("method"), changed=info.get("changed"))
    return u


def _direct_dofs() -> int:
    from .stress_system import DIRECT_DOFS

    return DIRECT_DOFS


def _scale_of(graph, cache: dict | None = None) -> float:
    """A force scale so the assembled system is well conditioned (kept in ``cache`` for ``graph``)."""
    kept = None if cache is None else cache.get("scale_of")
    if kept is not None and kept[0] is graph:
        return kept[1]
    scale = float(np.median(graph.bond_youngs())) if graph.n_bonds else 1.0
    if cache is not None:
        cache["scale_of"] = (graph, scale)
    return scale


def _free_body_loads(graph, labels, free_comp, node_forces, weight=None):
    """Subtract the rigid acceleration of unsupported components from their node loads (6 per node).

    ``weight`` (N,) in [0, 1] scales each node's share of the inertia (1: all of its mass).
    """
    n = graph.n_nodes
    loads = np.zeros((n, 6))
    loads[:, :3] = node_forces
    nodes = np.nonzero(free_comp[labels])[0]
    if len(nodes) == 0:
        return loads
    lab = labels[nodes]
    k = int(labels.max()) + 1
    share = np.ones(len(nodes)) if weight is None else np.asarray(weight, float)[nodes]
    mass = graph.mass[nodes] * share
    node_inertia = graph.inertia[nodes] * share[:, None, None]
    x = graph.centroid[nodes]
    f = node_forces[nodes]
    mtot = np.bincount(lab, mass, k)
    com = np.stack([np.bincount(lab, mass * x[:, i], k) for i in range(3)], 1) / np.maximum(mtot, 1e-300)[:, None]
    ftot = np.stack([np.bincount(lab, f[:, i], k) for i in range(3)], 1)
    r = x - com[lab]
    # bincount adds in index order like np.add.at (the same sums), several times faster
    torque = np.stack([np.bincount(lab, c, k) for c in np.cross(r, f).T], 1)
    rr = np.einsum("ni,ni->n", r, r)
    parallel = mass[:, None, None] * (rr[:, None, None] * np.eye(3) - np.einsum("ni,nj->nij", r, r))
    itot = np.stack([np.bincount(lab, c, k) for c in (node_inertia + parallel).reshape(-1, 9).T], 1).reshape(k, 3, 3)
    comps = np.unique(lab)
    acc = ftot / np.maximum(mtot, 1e-300)[:, None]
    alpha = np.zeros((k, 3))
    if len(comps):  # elementwise 3x3 inverses: the same result in any thread count
        from .stress_linear import batched_inverse

        reg = itot[comps] + (1e-12 * np.trace(itot[comps], axis1=1, axis2=2) + 1e-300)[:, None, None] * np.eye(3)
        alpha[comps] = np.einsum("kij,kj->ki", batched_inverse(reg), torque[comps])
    a_node = acc[lab] + np.cross(alpha[lab], r)
    loads[nodes, :3] = f - mass[:, None] * a_node
    loads[nodes, 3:] = -np.einsum("nij,nj->ni", node_inertia, alpha[lab])
    return loads


def _reach_weights(graph, transient, reach):
    """Share of each node's inertia that answers a transient load: 1 - d / reach from the nearest
    loaded node (1 on the loaded nodes themselves)."""
    from scipy.spatial import cKDTree

    reach = TRANSIENT_REACH if reach is None else float(reach)
    if not (np.isfinite(reach) and reach > 0):
        raise SpecError("reach", f"must be > 0 m, got {reach!r}", "e.g. 3.0, about a bay")
    loaded = np.nonzero(np.abs(transient).sum(1) > 0)[0]
    if len(loaded) == 0:
        return np.ones(graph.n_nodes)
    d, _ = cKDTree(graph.centroid[loaded]).query(graph.centroid)
    return np.clip(1.0 - d / reach, 0.0, 1.0)


def solve_bonds(graph, alive: np.ndarray, node_forces: np.ndarray, fixed: np.ndarray, cache: dict | None = None,
                transient: np.ndarray | None = None, reach: float | None = None,
                elements: ElementView | None = None, labels: np.ndarray | None = None):
    """Local joint forces of every bond, (M, 6): N, V1, V2, torsion, M1, M2 (zero for dead bonds).

    Also returns the component labels and which components hold a fixed node. ``cache`` (a dict
    kept between calls on the same graph, e.g. by ``settle``) keeps the assembled system and its
    factor (``core.stress_system``): a re-solve after a few bonds broke or supports changed is a
    local update started from the last displacements. ``transient`` (N, 3):
    loads too short for the supports to answer (an impact's contact force): each actor takes them
    as a free body, by the inertia of its mass within ``reach`` metres of where they act
    (d'Alembert, weighted 1 - d / reach; default ``TRANSIENT_REACH``), so they stress the joints
    near the hit and travel neither to the foundations nor to the far side of the building.
    ``elements``: the graph's bond matrices, computed once (``Elements``); ``labels``: the
    components over ``alive`` when the caller has them. Only bonds with a free end enter the
    system (a part mostly held, e.g. a landing block judged near its contacts, costs its free
    nodes); the others carry nothing (zero forces).
    """
    n, m = graph.n_nodes, graph.n_bonds
    alive = np.asarray(alive, bool)
    fixed = np.asarray(fixed, bool)
    node_forces = np.asarray(node_forces, float)
    if alive.shape != (m,):
        raise SpecError("alive", f"must be a ({m},) bool array, got shape {alive.shape}", "one flag per bond")
    if fixed.shape != (n,):
        raise SpecError("fixed", f"must be a ({n},) bool array, got shape {fixed.shape}", "one flag per node")
    if node_forces.shape != (n, 3) or not np.isfinite(node_forces).all():
        raise SpecError("node_forces", f"must be a finite ({n}, 3) array, got shape {node_forces.shape}",
                        "one force vector (N) per node")
    labels = components(n, graph.bond_pairs, alive) if labels is None else labels
    k = int(labels.max()) + 1 if n else 0
    supported = np.bincount(labels[fixed], minlength=k) > 0
    out = np.zeros((m, 6))
    bonds = np.nonzero(alive)[0]
    loads = _free_body_loads(graph, labels, ~supported, node_forces)
    if transient is not None:
        transient = np.asarray(transient, float)
        if transient.shape != (n, 3) or not np.isfinite(transient).all():
            raise SpecError("transient", f"must be a finite ({n}, 3) array, got shape {transient.shape}",
                            "one force vector (N) per node, or None")
        loads += _free_body_loads(graph, labels, np.ones(k, bool), transient, _reach_weights(graph, transient, reach))
    held = fixed.copy()
    # pin the first node of each free component (its load is self-equilibrated: no reaction)
    _, first = np.unique(labels, return_index=True)
    held[first[~supported]] = True
    if len(bonds) == 0:
        return out, labels, supported
    scale = _scale_of(graph, cache)
    if cache is not None and 6 * int((~held).sum()) > _direct_dofs():
        # kept between calls: assembled and factored once, re-solved by update (a small free part,
        # e.g. one actor of a big graph, is cheaper solved exactly over its own DOFs, as below)
        u = _solve_cached(graph, alive, bonds, held, loads, scale, cache)
        local = np.einsum("mij,mj->mi", cache["g"], u[cache["dofs"]]) * cache["k"]
        return np.where(alive[:, None], local, 0.0), labels, supported
    # a bond between two held nodes adds nothing to the free DOFs and carries nothing (u = 0 at both ends)
    bonds = bonds[~held[graph.bond_pairs[bonds]].all(1)]
    op, ke = _element_matrices(graph, bonds, scale) if elements is None else elements.matrices(graph, bonds, scale)
    ndof = 6 * n
    free_dof = np.repeat(~held, 6)
    index = np.full(ndof, -1)
    index[free_dof] = np.arange(free_dof.sum())
    nf = int(free_dof.sum())
    u = np.zeros(ndof)
    if cache is not None and nf >= REUSE_DOFS:
        # settle's next rounds (or the next judgement) solve the same part with fewer bonds: the
        # pattern and the order are kept, each solve is a sum and a factor (``DirectSystem``)
        from .stress_system import DirectSystem

        kept = cache.get("direct")
        if kept is None or kept[0] is not graph or not kept[1].covers(~held, bonds):
            kept = cache["direct"] = (graph, DirectSystem(~held, m, bonds, op.dofs, graph.bond_pairs[bonds]))
        u = kept[1].solve(~held, bonds, ke, loads.ravel() / scale)
    elif nf:
        from .stress_linear import solve_stiffness

        kmat = _assemble(ke, op.dofs, free_dof, index, nf)
        # isolated free DOFs (nodes without bonds) get unit stiffness: they carry nothing
        empty = np.asarray(abs(kmat).sum(axis=1)).ravel() == 0
        if empty.any():
            kmat = kmat + coo_matrix((np.ones(empty.sum()), (np.nonzero(empty)[0],) * 2), shape=(nf, nf)).tocsr()
        rhs = loads.ravel()[free_dof] / scale
        rhs[empty] = 0.0
        u[free_dof] = solve_stiffness(kmat, rhs, graph.centroid[~held])
    local = np.einsum("mij,mj->mi", op.g, u[op.dofs]) * op.k
    out[bonds] = local
    return out, labels, supported


def bond_forces(graph, alive, node_forces, fixed) -> tuple[np.ndarray, np.ndarray]:
    """Static force in every alive bond: (normal (M,) N, + tension / - compression; shear (M,) N)."""
    local, _, _ = solve_bonds(graph, alive, node_forces, fixed)
    return local[:, 0], np.hypot(local[:, 1], local[:, 2])


def fibre_force(graph, normal, moment) -> np.ndarray:
    """Extreme-fibre stress x area: N + 6 |M1| / d2 + 6 |M2| / d1 on the face's rectangle.

    ``moment``: (M, 2) moments about t1 and t2, or (M,) a magnitude (then the face is taken square).
    """
    moment = np.asarray(moment, float)
    if moment.ndim == 1:
        return normal + 6.0 * np.abs(moment) / np.maximum(graph.bond_depth, 1e-12)
    ext = np.maximum(graph.extents(), 1e-12)
    return normal + 6.0 * (np.abs(moment[:, 0]) / ext[:, 1] + np.abs(moment[:, 1]) / ext[:, 0])


def utilisation(graph, normal, shear, moment=None) -> np.ndarray:
    """Load / capacity of every bond (>= 1: over capacity); ``moment`` (M, 2) about t1, t2 (or (M,))."""
    normal = np.asarray(normal, float)
    shear = np.asarray(shear, float)
    compression = np.maximum(-normal, 0.0)
    tiny = 1e-300
    u_c = compression / np.maximum(graph.capacity_compression, tiny)
    u_s = shear / np.maximum(graph.capacity_shear + graph.bond_friction() * compression, tiny)
    u_t = np.maximum(normal, 0.0) / np.maximum(graph.capacity_tension, tiny)
    ratio = np.maximum(np.maximum(u_c, u_s), u_t)
    if moment is not None:
        fibre = fibre_force(graph, normal, moment)
        ratio = np.maximum(ratio, np.maximum(fibre, 0.0) / np.maximum(graph.flexure(), tiny))
    return ratio


def overloaded(graph, normal, shear, moment=None) -> np.ndarray:
    """(M,) bool: bonds whose load exceeds a capacity (see ``utilisation``)."""
    return utilisation(graph, normal, shear, moment) >= 1.0


def bond_utilisation(graph, alive, node_forces, fixed, cache: dict | None = None, transient=None,
                     reach: float | None = None, elements: ElementView | None = None, labels=None):
    """Utilisation of every bond (0 for dead ones) with the full check (axial, shear, bending)."""
    local, labels, supported = solve_bonds(graph, alive, node_forces, fixed, cache, transient, reach, elements,
                                           labels)
    ratio = utilisation(graph, local[:, 0], np.hypot(local[:, 1], local[:, 2]), local[:, 4:6])
    return np.where(alive, ratio, 0.0), local, labels, supported


@dataclass(frozen=True)
class SettleResult:
    """What is left after overloaded bonds broke, round by round.

    ``broken``: bond indices in the order they broke; ``broken_round`` the round each broke in (0:
    the first solve); ``broken_ratio`` its utilisation when it broke; ``labels`` (N,) the component
    (actor) of every node; ``supported`` (K,) whether each component holds a fixed node;
    ``utilisation`` (M,) of the final solve; ``stable``: no bond over capacity at the end.
    """

    alive: np.ndarray
    broken: np.ndarray
    broken_round: np.ndarray
    broken_ratio: np.ndarray
    labels: np.ndarray
    supported: np.ndarray
    utilisation: np.ndarray
    rounds: int
    stable: bool

    @property
    def n_components(self) -> int:
        return len(self.supported)


def settle(graph, alive, node_forces, fixed, *, max_rounds: int = 200,
           break_fraction: float = 0.25, transient: np.ndarray | None = None,
           reach: float | None = None, cache: dict | None = None,
           elements: ElementView | None = None, final_solve: bool = True) -> SettleResult:
    """Solve, break the most overloaded bonds, re-solve, until nothing is over capacity.

    Each round breaks the overloaded bonds whose utilisation is within ``break_fraction`` of the
    worst one (at least the worst): load re-routes before the next ones go, so failure spreads as
    it would, instead of every overloaded bond letting go at once. ``transient``: impact loads,
    taken by each actor's inertia (see ``solve_bonds``), re-balanced on the actors of every round:
    once the hit piece breaks off, what is left no longer feels the blow. ``cache``: a dict kept
    by the caller between calls on the same graph (e.g. one per standing building): the assembled
    system and its factor carry over from one call to the next (``core.stress_system``); by
    default each call starts its own. ``elements``: the graph's bond matrices, computed once
    (``Elements``; by default each solve computes those it needs). ``final_solve=False``: when the
    rounds run out, the pieces are found but not solved again (a caller that does not ask whether
    they hold saves a solve); ``stable`` is then False and ``utilisation`` that of the last solve
    (0 for the bonds it broke).
    """
    if not 0.0 <= break_fraction < 1.0:
        raise SpecError("break_fraction", f"must be from 0 to below 1, got {break_fraction!r}",
                        "e.g. 0.25: each round breaks bonds within 25 % of the worst")
    if not isinstance(max_rounds, int) or max_rounds < 1:
        raise SpecError("max_rounds", f"must be a whole number >= 1, got {max_rounds!r}", "e.g. 200")
    alive = np.asarray(alive, bool).copy()
    broken, rounds_of, ratios = [], [], []
    stable = False
    rounds = 0
    cache = {} if cache is None else cache
    node_forces = np.asarray(node_forces, float)
    fixed = np.asarray(fixed, bool)
    ratio, _, labels, supported = bond_utilisation(graph, alive, node_forces, fixed, cache, transient, reach,
                                                   elements)
    for rnd in range(max_rounds):
        rounds = rnd + 1
        worst = float(ratio.max()) if len(ratio) else 0.0
        if worst < 1.0:
            stable = True
            break
        cut = np.nonzero(ratio >= max(1.0, worst * (1.0 - break_fraction)))[0]
        cut = cut[np.argsort(-ratio[cut], kind="stable")]
        alive[cut] = False
        broken.append(cut)
        rounds_of.append(np.full(len(cut), rnd))
        ratios.append(ratio[cut])
        if not final_solve and rnd == max_rounds - 1:
            ratio = np.where(alive, ratio, 0.0)
            labels = components(graph.n_nodes, graph.bond_pairs, alive)
            supported = np.bincount(labels[fixed], minlength=int(labels.max()) + 1) > 0
            break
        ratio, labels, supported = _resolve(graph, alive, node_forces, fixed, ratio, cut, cache, transient, reach,
                                            elements)
    stable = stable or (final_solve or rounds < max_rounds) and bool((ratio < 1.0).all())

    def cat(xs, dt):
        return np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)

    return SettleResult(alive, cat(broken, np.int64), cat(rounds_of, np.int64), cat(ratios, float),
                        labels, supported, ratio, rounds, stable)


def _resolve(graph, alive, node_forces, fixed, ratio, cut, cache, transient=None, reach=None, elements=None):
    """Re-solve after ``cut`` broke: only the actors that held a broken bond changed.

    The others keep their forces (their loads and bonds did not change), so a local failure in a
    building of many actors costs a solve of its own actor, not of the whole graph.
    """
    from .support_graph import subgraph

    labels = components(graph.n_nodes, graph.bond_pairs, alive)
    k = int(labels.max()) + 1 if len(labels) else 0
    supported = np.bincount(labels[fixed], minlength=k) > 0
    touched = np.zeros(k, bool)
    touched[labels[graph.bond_pairs[cut].ravel()]] = True
    nodes = touched[labels]
    ratio = np.where(alive, ratio, 0.0)
    if nodes.mean() > 0.5:  # most of the graph: one solve, warm-started
        full, _, _, _ = bond_utilisation(graph, alive, node_forces, fixed, cache, transient, reach, elements, labels)
        return full, labels, supported
    sub, node_index, bond_index = subgraph(graph, nodes)
    part, _, _, _ = bond_utilisation(sub, alive[bond_index], node_forces[node_index], fixed[node_index],
                                     transient=None if transient is None else transient[node_index], reach=reach,
                                     elements=None if elements is None else elements.sub(bond_index))
    ratio[bond_index] = part
    return ratio, labels, supported


def design_for_gravity(graph, factor: float = 1.5, gravity: float = 9.81, fixed=None):
    """A copy of ``graph`` whose capacities are at least ``factor`` x the loads of standing under gravity.

    A real building was designed: its members were sized so that its own weight, times the code's
    load factor (EN 1990 6.4.3.2: gamma_G = 1.35), stays within what each section carries. The
    procedural generator and an artist's mesh size nothing, so without this a Voronoi joint of a
    masonry lintel or a long-span beam end can be over capacity before anything happens. Each bond
    keeps the larger of its material capacity and ``factor`` x its static demand under gravity with
    every bond intact (compression, tension, shear, extreme-fibre flexure separately); bonds
    raised this way are flagged in ``designed``. Loads beyond that (a support removed, an impact)
    are what breaks the building. ``factor`` <= 0 returns the graph unchanged.
    """
    import dataclasses

    if not (isinstance(factor, int | float) and np.isfinite(factor)):
        raise SpecError("design_factor", f"must be a number, got {factor!r}", "e.g. 1.5, or 0 to turn it off")
    if factor <= 0 or graph.n_bonds == 0:
        return graph
    fixed = graph.support if fixed is None else np.asarray(fixed, bool)
    forces = np.zeros((graph.n_nodes, 3))
    forces[:, 2] = -graph.mass * gravity
    local, _, _ = solve_bonds(graph, np.ones(graph.n_bonds, bool), forces, fixed)
    normal = local[:, 0]
    shear = np.hypot(local[:, 1], local[:, 2])
    fibre = fibre_force(graph, normal, local[:, 4:6])
    new = {
        "capacity_compression": np.maximum(graph.capacity_compression, factor * np.maximum(-normal, 0.0)),
        "capacity_tension": np.maximum(graph.capacity_tension, factor * np.maximum(normal, 0.0)),
        "capacity_shear": np.maximum(graph.capacity_shear, factor * shear),
        "capacity_flexure": np.maximum(graph.flexure(), factor * np.maximum(fibre, 0.0)),
    }
    raised = np.zeros(graph.n_bonds, bool)
    for key, value in new.items():
        old = graph.flexure() if key == "capacity_flexure" else getattr(graph, key)
        raised |= value > old
    return dataclasses.replace(graph, designed=raised, **new)

