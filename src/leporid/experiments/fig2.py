"""Figure 2 (paper App. E): how much a node's embedding moves when one edge is added to it.

Simulation: ``graphs`` Barabási–Albert graphs with ``n`` nodes, ``m`` edges per new node
(networkx's generator when installed, else ``ba_graph``'s numpy version of the same process).
For every node v and each of ``insertions`` repetitions, one edge (v, u) to a uniformly chosen
non-neighbour u is added; the ``dims``-dimensional embedding (eigenvectors of the ``dims``
smallest eigenvalues of the symmetric normalised Laplacian from ``leporid.spectral.laplacian``:
α = 0 for LE, α = 0.5 for LEPORID, unit-norm columns) is recomputed, each column's sign aligned
with the original (eigenvectors are defined up to sign), and ``‖e_v(after) - e_v(before)‖₂``
recorded. The change of a node is its mean over the insertions; the figure plots the mean
change per degree (degree before the addition).

Claims, with the BA graphs as the replicates (each an independent draw; ``stats.one_sample``,
a t-interval over graphs, inconclusive with fewer than 3 graphs): under LE the change falls
with the degree (each graph's Spearman correlation of degree and change, mean < 0); LEPORID
damps the change of low-degree nodes (each graph's mean LE minus LEPORID change over its nodes
in the lowest degree quartile of all nodes, mean > 0).
"""

from __future__ import annotations

import numpy as np

from .. import DEFAULT_SEED
from .grid import Cell
from .render import write_artefact
from .stats import claim, one_sample

TITLE = "Figure 2: embedding change after one added edge vs node degree (Barabási–Albert)"
ALPHAS = {"le": 0.0, "leporid": 0.5}


def ba_graph(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Dense 0/1 adjacency of a Barabási–Albert graph (networkx when available)."""
    try:
        import networkx as nx
    except ImportError:
        nx = None
    if nx is not None:
        g = nx.barabasi_albert_graph(n, m, seed=int(rng.integers(2**31)))
        A = np.zeros((n, n))
        e = np.array(g.edges())
        A[e[:, 0], e[:, 1]] = A[e[:, 1], e[:, 0]] = 1
        return A
    # the same process: start with m isolated nodes; each new node attaches to m distinct
    # existing nodes chosen with probability proportional to their degree (uniform at first)
    A = np.zeros((n, n))
    targets = list(range(m))
    repeated: list[int] = []
    for v in range(m, n):
        A[v, targets] = A[targets, v] = 1
        repeated += targets + [v] * m
        chosen: set[int] = set()
        while len(chosen) < m:
            chosen.add(int(repeated[rng.integers(len(repeated))]))
        targets = sorted(chosen)
    return A


def embeddings(adjs: np.ndarray, alpha: float, dims: int) -> np.ndarray:
    """Eigenvectors of the ``dims`` smallest eigenvalues of each graph's L_(reg)sym, shape
    (B, n, dims)."""
    from threadpoolctl import threadpool_limits

    from ..spectral import laplacian

    L = np.stack([laplacian(a, alpha, "sym").toarray() for a in adjs])
    with threadpool_limits(1):                  # small matrices: threads only cost (eigen.py)
        _, vecs = np.linalg.eigh(L)             # ascending eigenvalues, batched
    return vecs[:, :, :dims]


def simulate(graphs: int = 50, n: int = 100, m: int = 10, dims: int = 40, insertions: int = 30,
             seed: int = DEFAULT_SEED, alphas: dict | None = None) -> dict:
    """Per node of every graph: degree before the addition and mean change per method."""
    alphas = alphas or ALPHAS
    rng = np.random.default_rng(seed)
    degree, graph, change = [], [], {k: [] for k in alphas}
    for g in range(graphs):
        A = ba_graph(n, m, rng)
        base = {k: embeddings(A[None], a, dims)[0] for k, a in alphas.items()}
        deg = A.sum(1)
        for v in range(n):
            free = np.flatnonzero((A[v] == 0) & (np.arange(n) != v))
            if not len(free):
                continue
            us = rng.choice(free, size=insertions, replace=True)
            batch = np.repeat(A[None], insertions, axis=0)
            r = np.arange(insertions)
            batch[r, v, us] = batch[r, us, v] = 1
            for k, a in alphas.items():
                new = embeddings(batch, a, dims)
                signs = np.sign(np.einsum("bnd,nd->bd", new, base[k]))
                signs[signs == 0] = 1
                new = new * signs[:, None, :]
                change[k].append(float(np.linalg.norm(new[:, v] - base[k][v], axis=1).mean()))
            degree.append(int(deg[v]))
            graph.append(g)
    return {"degree": degree, "graph": graph, "change": change}


def by_degree(sim: dict) -> list[dict]:
    deg = np.asarray(sim["degree"])
    rows = []
    for d in np.unique(deg):
        sel = deg == d
        row = {"degree": int(d), "nodes": int(sel.sum())}
        for k, v in sim["change"].items():
            v = np.asarray(v)[sel]
            row[f"{k} change"] = float(v.mean())
            row[f"{k} std"] = float(v.std(ddof=1)) if len(v) > 1 else 0.0
        rows.append(row)
    return rows


def _graph_ids(sim: dict) -> np.ndarray:
    """Each node's graph (simulations cached before graphs were recorded: one graph each
    ``n`` nodes when every node was kept, else a single group, i.e. inconclusive)."""
    if "graph" in sim:
        return np.asarray(sim["graph"])
    n = len(sim["degree"])
    per = sim.get("n")
    return np.arange(n) // per if per and n % per == 0 else np.zeros(n, int)


def claims_for(sim: dict) -> list[dict]:
    from scipy.stats import spearmanr

    deg = np.asarray(sim["degree"], float)
    le, lep = (np.asarray(sim["change"][k]) for k in ("le", "leporid"))
    gid = _graph_ids(sim)
    graphs = np.unique(gid)
    rhos = np.array([spearmanr(deg[gid == g], le[gid == g])[0] for g in graphs])
    rhos = np.nan_to_num(rhos)          # a graph of equal degrees has no correlation
    t1 = one_sample(-rhos)
    t1.update(what=f"minus Spearman's rho of degree and LE change, per graph ({len(deg)} "
                   f"nodes in {len(graphs)} graphs; mean rho = {rhos.mean():+.3f})",
              metric="−rho", relation=">")
    c1 = claim("fig2/le", "Under LE, low-degree nodes' embeddings change most when an edge is "
                          "added (the change falls with the degree)", [t1])
    low = deg <= np.quantile(deg, 0.25)
    per_graph = [(le - lep)[(gid == g) & low].mean() for g in graphs if ((gid == g) & low).any()]
    t2 = one_sample(per_graph)
    t2.update(what="LE change minus LEPORID change, nodes of the lowest degree quartile, per "
                   "graph", metric="ℓ2 change", relation=">",
              mean_a=float(le[low].mean()), mean_b=float(lep[low].mean()))
    c2 = claim("fig2/leporid", "LEPORID damps the embedding change of low-degree nodes", [t2])
    return [c1, c2]


CAPTION = ("Mean ℓ2 change of a node's embedding after one added edge against the node's "
           "degree, LE (circles) and LEPORID (squares), over the simulated Barabási–Albert "
           "graphs.")


def plot(rows: list[dict], path) -> None:
    from .style import MARKERS, OTHER, OURS, WIDTH, figure

    with figure(path, (WIDTH, 3.2)) as (fig, ax):
        x = [r["degree"] for r in rows]
        for k, colour, mk, ls in (("le", OTHER, MARKERS[0], "--"),
                                  ("leporid", OURS, MARKERS[1], "-")):
            ax.plot(x, [r[f"{k} change"] for r in rows], marker=mk, ls=ls, color=colour, ms=3,
                    label=k.upper())
        ax.set_xlabel("node degree before the addition")
        ax.set_ylabel("ℓ2 change of the node's embedding")
        ax.legend()


def run(ctx) -> dict:
    spec = dict(ctx.budget.fig2)
    seed = ctx.seeds[0]
    cfg = {"kind": "fig2", "setting": "ba", **spec, "alphas": ALPHAS, "seed": seed}

    def compute(c, ctx):
        return {"simulation": simulate(spec["graphs"], spec["n"], spec["m"], spec["dims"],
                                       spec["insertions"], seed)}

    res = ctx.run([Cell(cfg, compute)], "fig2")[0]
    if "error" in res:
        raise RuntimeError(f"fig2 simulation failed: {res['error']}")
    sim = res["simulation"]
    rows = by_degree(sim)
    claims = claims_for({**sim, "n": spec["n"]})
    cols = ["degree", "nodes", "le change", "le std", "leporid change", "leporid std"]
    md = ([{**{c: r[c] for c in cols[:2]}, **{c: f"{r[c]:.4f}" for c in cols[2:]}}
           for r in rows], cols)
    notes = [f"{spec['graphs']} BA graphs, n = {spec['n']}, m = {spec['m']}, {spec['dims']} "
             f"dimensions, {spec['insertions']} insertions per node; seed {seed}; the graphs "
             "are the replicates of the claims"]
    return write_artefact(ctx, "fig2", TITLE, rows, md, claims, notes, extra={"setup": spec},
                          csv_columns=cols, figure=plot, caption=CAPTION)
