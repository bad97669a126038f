"""Graph-Bert (Zhang et al., 2020) pre-trained on network-structure recovery (paper App. F).

Graph: the heterogeneous user-item interaction graph ``A`` (as node2vec). Nodes carry *random*
attributes ``x_v ~ N(0, 1)`` of size ``attr_dim`` (the paper's data has none). For each target
node ``v``:

- **intimacy subgraph**: ``v`` and the ``k`` nodes with the largest personalised-PageRank
  intimacy ``S = α (I - (1-α) A D⁻¹)⁻¹`` in ``v``'s column (Graph-Bert's definition, α = 0.15),
  computed as the truncated power series ``α Σ_t ((1-α) A D⁻¹)^t`` on blocks of columns
  (never an n x n inverse; terms stop when ``(1-α)^t < 1e-4``); ties go to the lower index,
  nodes of zero intimacy are padding (masked);
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
result is a function of the seed. Cost grows as n·(k+1)²·𝒟 per epoch; the intimacy and hop
pre-processing as nnz(A)·n.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from . import positive, register
from .node2vec import interaction_graph


def intimacy_topk(A: sp.csr_matrix, k: int, alpha: float = 0.15, block: int = 1024,
                  tol: float = 1e-4) -> np.ndarray:
    """(n, k) int64: per node the ``k`` most intimate other nodes, most intimate first, -1 where
    fewer than ``k`` have non-zero intimacy."""
    n = A.shape[0]
    d = np.asarray(A.sum(axis=0)).ravel()
    P = (A @ sp.diags(np.where(d > 0, 1.0 / np.maximum(d, 1e-300), 0.0))).astype(np.float64)
    P = sp.csr_matrix((1.0 - alpha) * P)
    steps = int(np.ceil(np.log(tol) / np.log(1.0 - alpha)))
    out = np.full((n, k), -1, np.int64)
    for b0 in range(0, n, block):
        cols = np.arange(b0, min(b0 + block, n))
        X = np.zeros((n, len(cols)))
        X[cols, np.arange(len(cols))] = 1.0
        S = X.copy()
        for _ in range(steps):
            X = P @ X
            S += X
        S[cols, np.arange(len(cols))] = -np.inf  # not its own context
        for c, v in enumerate(cols):
            s = S[:, c]
            top = np.lexsort((np.arange(n), -s))[:k]  # descending intimacy, ties: lower index
            top = top[s[top] > 0]
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
