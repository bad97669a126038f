"""Graph-Bert (Zhang et al., 2020) pre-trained on network-structure recovery (paper App. F).

Graph: the heterogeneous user-item interaction graph ``A`` (as node2vec). Nodes carry *random*
attributes ``x_v ~ N(0, 1)`` of size ``attr_dim`` (the paper's data has none). For each target
node ``v``:

- **intimacy subgraph**: ``v`` and the ``k`` nodes with the largest personalised-PageRank
  intimacy ``S = α (I - (1-α) A D⁻¹)⁻¹`` in ``v``'s column (Graph-Bert's definition, α = 0.15;
  columns of zero-degree nodes in ``A D⁻¹`` are zero). Up to ``EXACT_MAX_NODES`` = 16,384 nodes
  ``S`` is exact: ``M = I - (1-α) A D⁻¹`` is built as one dense n x n float64 array (2 GiB at
  the limit), LU-factorised in place once (partial pivoting; ``M`` is column-diagonally dominant
  and ``‖M⁻¹‖₁ ≤ 1/α``, so well conditioned) and solved on blocks of identity columns, about
  (2/3 + 2) n³ flops. Larger graphs use the truncated power series ``α Σ_t ((1-α) A D⁻¹)^t`` on
  blocks of columns (never an n x n array; terms stop when ``(1-α)^t < 1e-4``, ~57 sparse
  products per block; the omitted tail, < 1e-4 of each column's mass, can swap near-equal
  intimacies). Intimacies are rounded to 1e-12 before ordering, so exact ties (symmetric nodes,
  e.g. users with the same items) stay ties on either path; ties go to the lower index, a node is
  not its own context, nodes of zero intimacy are padding (masked). Measured on the ML-1M
  training graph (authors' protocol: 9,687 nodes, 697k edges, k = 7) on a shared 2-core machine
  under load (times noisy): exact path 39-46 s, 1.5 GB peak RSS (whole process); series 329 s
  (361 s for the code before the exact path), 0.7-0.8 GB. 99.897 % of the nodes get identical
  context lists (99.975 % of the entries); the 10 that differ were checked against a 1e-15
  series, and the exact path's lists are the right ones (swaps of intimacies 3e-10 to 1.4e-7
  apart, below the series' truncation error);
- **embeddings** of each subgraph node ``u``: ``W x_u`` plus the three parameter-free
  sinusoidal codes of Graph-Bert: its Weisfeiler-Lehman role (WL colour refinement of the whole
  graph, iterated until the partition is stable), its position in the intimacy order (0 =
  target) and its hop distance to the target (BFS, capped at ``max_hop``);
- a transformer encoder (``layers`` x ``heads``, width 𝒟, no dropout) whose outputs are
  averaged over the subgraph into ``z_v`` (Graph-Bert's fusion).

Pre-training (graph recovery): for a batch B of nodes, ``ŝ_uv = cos(z_u, z_v)`` is fitted to
the adjacency with self-loops, ``L = mean_{u,v ∈ B} (ŝ_uv - (A + I)_uv)²``, Adam ``lr``,
``epochs`` passes over the nodes in seeded random batches of ``batch_size``. The user and item
embeddings are the ``z`` of their nodes after training. Torch runs on ``threads`` threads
(restored afterwards) inside a forked RNG, so the caller's torch state is untouched and the
result is a function of the seed. Cost grows as n·(k+1)²·𝒟 per epoch; the intimacy as n³
(exact path) or nnz(A)·n·57 (series), the hop pre-processing as nnz(A)·n.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from . import positive, register
from .node2vec import interaction_graph


#: graphs with at most this many nodes get the exact intimacy (one dense n x n float64 LU:
#: 2 GiB at the limit); larger ones the truncated power series
EXACT_MAX_NODES = 16_384
#: intimacies are rounded to this many decimals before ordering, so that exact ties (symmetric
#: nodes) stay ties whichever path computed them
INTIMACY_DECIMALS = 12


def _transition(A: sp.spmatrix, alpha: float) -> sp.csr_matrix:
    """``(1-α) A D⁻¹`` in float64 (``D``: column sums; columns of zero-degree nodes are zero)."""
    A = sp.csr_matrix(A, dtype=np.float64)
    d = np.asarray(A.sum(axis=0)).ravel()
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
    return sp.csr_matrix((1.0 - alpha) * (A @ sp.diags(inv)))


def _exact_blocks(A, alpha, block):
    """``(cols, S[:, cols])`` with ``S = α M⁻¹``, ``M = I - (1-α) A D⁻¹`` factorised once by a
    dense LU (partial pivoting) and solved on blocks of identity columns. ``M`` is the only n x n
    array: it is built in place (Fortran order) and overwritten by its LU factors."""
    from scipy.linalg import lu_factor, lu_solve

    n = A.shape[0]
    P = _transition(A, alpha).tocoo()
    P.sum_duplicates()
    M = np.zeros((n, n), order="F")
    M[P.row, P.col] = -P.data
    del P
    diag = np.arange(n)
    M[diag, diag] += 1.0
    lu = lu_factor(M, overwrite_a=True, check_finite=False)  # lu[0] is M's memory
    del M
    for b0 in range(0, n, block):
        cols = np.arange(b0, min(b0 + block, n))
        E = np.zeros((n, len(cols)), order="F")
        E[cols, np.arange(len(cols))] = 1.0
        S = lu_solve(lu, E, overwrite_b=True, check_finite=False)
        S *= alpha
        yield cols, S


def _series_blocks(A, alpha, block, tol):
    """``(cols, S[:, cols])`` with ``S ≈ α Σ_{t≤T} ((1-α) A D⁻¹)^t``, ``T`` the first power with
    ``(1-α)^T ≤ tol`` (the omitted tail has mass at most ``(1-α)^(T+1) < tol`` per column)."""
    n = A.shape[0]
    P = _transition(A, alpha)
    steps = int(np.ceil(np.log(tol) / np.log(1.0 - alpha)))
    for b0 in range(0, n, block):
        cols = np.arange(b0, min(b0 + block, n))
        X = np.zeros((n, len(cols)))
        X[cols, np.arange(len(cols))] = 1.0
        S = X.copy()
        for _ in range(steps):
            X = P @ X
            S += X
        S *= alpha
        yield cols, S


def intimacy_topk(A: sp.csr_matrix, k: int, alpha: float = 0.15, block: int = 1024,
                  tol: float = 1e-4, method: str = "auto") -> np.ndarray:
    """(n, k) int64: per node the ``k`` most intimate other nodes, most intimate first, -1 where
    fewer than ``k`` have non-zero intimacy (after rounding to ``INTIMACY_DECIMALS``; ties go to
    the lower index).

    ``method``: ``"exact"`` (dense LU of ``I - (1-α) A D⁻¹``), ``"series"`` (power series cut at
    ``tol``) or ``"auto"`` (exact up to ``EXACT_MAX_NODES`` nodes, the series above)."""
    if method not in ("auto", "exact", "series"):
        raise ValueError(f"method must be 'auto', 'exact' or 'series', got {method!r}")
    n = A.shape[0]
    if method == "auto":
        method = "exact" if n <= EXACT_MAX_NODES else "series"
    blocks = _exact_blocks(A, alpha, block) if method == "exact" else \
        _series_blocks(A, alpha, block, tol)
    out = np.full((n, k), -1, np.int64)
    kk = min(k, n)
    for cols, S in blocks:
        np.round(S, INTIMACY_DECIMALS, out=S)
        S[cols, np.arange(len(cols))] = -np.inf  # not its own context
        kth = -np.partition(-S, kk - 1, axis=0)[kk - 1]  # each column's k-th largest
        for c, v in enumerate(cols):
            s = S[:, c]
            cand = np.flatnonzero((s >= kth[c]) & (s > 0))  # ascending index
            top = cand[np.argsort(-s[cand], kind="stable")][:k]  # descending, ties: lower index
            out[v, :len(top)] = top
    return out


def wl_colours(A: sp.csr_matrix, max_iter: int = 30) -> np.ndarray:
    """Weisfeiler-Lehman colour refinement from a uniform colouring, until stable."""
    n = A.shape[0]
    col = np.zeros(n, np.int64)
    for _ in range(max_iter):
        sig = [(int(col[v]), tuple(sorted(col[A.indices[A.indptr[v]:A.indptr[v + 1]]].tolist())))
               for v in range(n)]
        table = {s: i for i, s in enumerate(sorted(set(sig)))}
        new = np.array([table[s] for s in sig], np.int64)
        if len(table) == len(np.unique(col)):
            return new
        col = new
    return col


def sinusoid(pos: np.ndarray, dim: int) -> np.ndarray:
    """Transformer sinusoidal code of integer positions: (len(pos), dim) float32."""
    pos = np.asarray(pos, np.float64)[..., None]
    i = np.arange(dim)
    angle = pos / np.power(10000.0, (2 * (i // 2)) / dim)
    return np.where(i % 2 == 0, np.sin(angle), np.cos(angle)).astype(np.float32)


def subgraph_codes(A: sp.csr_matrix, k: int, dim: int, alpha: float = 0.15,
                   max_hop: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per node: ``nodes`` (n, k+1) (target first; padding repeats the target), ``pad`` mask
    (n, k+1) and the summed WL + position + hop codes (n, k+1, dim)."""
    n = A.shape[0]
    ctx = intimacy_topk(A, k, alpha)
    nodes = np.concatenate([np.arange(n)[:, None], ctx], axis=1)
    pad = nodes < 0
    nodes = np.where(pad, np.arange(n)[:, None], nodes)
    hop = np.zeros(nodes.shape, np.int64)
    for b0 in range(0, n, 1024):
        rows = np.arange(b0, min(b0 + 1024, n))
        dist = shortest_path(A, unweighted=True, indices=rows)
        h = np.take_along_axis(dist, nodes[rows], axis=1)
        hop[rows] = np.where(np.isfinite(h), np.minimum(h, max_hop), max_hop).astype(np.int64)
    wl = wl_colours(A)
    codes = sinusoid(wl[nodes], dim) + sinusoid(np.arange(k + 1), dim)[None] + \
        sinusoid(hop, dim)
    return nodes, pad, codes


def _check(params, dim):
    positive("k", "layers", "heads", "attr_dim", "epochs", "batch_size", "lr", "alpha",
             "threads", "max_hop")(params, dim)
    if dim % params["heads"]:
        raise ValueError(f"dim {dim} must be a multiple of heads ({params['heads']})")
    if not params["alpha"] < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {params['alpha']}")


@register("graphbert", check=_check)
def graphbert_init(train, dim=64, seed=123, k=7, layers=2, heads=2, attr_dim=64, epochs=30,
                   batch_size=256, lr=1e-3, alpha=0.15, max_hop=10, threads=2):
    """Graph-Bert pre-trained on graph recovery (random node attributes, intimacy subgraphs)."""
    import torch

    n_users = train.shape[0]
    t0 = time.perf_counter()
    A = interaction_graph(train)
    n = A.shape[0]
    nodes, pad, codes = subgraph_codes(A, k, dim, alpha, max_hop)
    target = (A + sp.eye(n, format="csr")).tocsr()
    t1 = time.perf_counter()
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            Z, losses = _pretrain(torch, nodes, pad, codes, target, dim, attr_dim, layers,
                                  heads, epochs, batch_size, lr, seed)
    finally:
        torch.set_num_threads(old)
    info = {"timings_s": {"subgraphs": t1 - t0, "pretrain": time.perf_counter() - t1},
            "loss": losses, "nodes": n}
    return Z[:n_users], Z[n_users:], info


def _pretrain(torch, nodes, pad, codes, target, dim, attr_dim, layers, heads, epochs,
              batch_size, lr, seed):
    n = len(nodes)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.standard_normal((n, attr_dim)).astype(np.float32))
    nodes_t, pad_t, codes_t = torch.from_numpy(nodes), torch.from_numpy(pad), \
        torch.from_numpy(codes)
    proj = torch.nn.Linear(attr_dim, dim)
    enc = torch.nn.TransformerEncoder(
        torch.nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, batch_first=True),
        layers, enable_nested_tensor=False)
    params = list(proj.parameters()) + list(enc.parameters())
    opt = torch.optim.Adam(params, lr=lr)

    def embed(batch):
        h = proj(x[nodes_t[batch]]) + codes_t[batch]
        out = enc(h, src_key_padding_mask=pad_t[batch])
        keep = (~pad_t[batch]).unsqueeze(-1).float()
        return (out * keep).sum(1) / keep.sum(1)

    losses = []
    for _ in range(epochs):
        perm = rng.permutation(n)
        total = 0.0
        for s in range(0, n, batch_size):
            b = np.sort(perm[s:s + batch_size])
            z = torch.nn.functional.normalize(embed(torch.from_numpy(b)), dim=1)
            goal = torch.from_numpy(target[b][:, b].toarray().astype(np.float32))
            loss = ((z @ z.T - goal) ** 2).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        losses.append(total / n)
    with torch.no_grad():
        Z = torch.cat([embed(torch.arange(s, min(s + 1024, n))) for s in range(0, n, 1024)])
    return Z.numpy().astype(np.float32), losses
