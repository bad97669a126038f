"""node2vec (Grover & Leskovec, KDD 2016) on the heterogeneous user-item interaction graph.

Graph: one node per user (0 .. n_users-1) and per item (n_users + j), an edge per training
interaction (bipartite, unweighted). Walks: ``walks_per_node`` (10) rounds, each starting one
walk of ``walk_length`` (80) nodes from every node in a seeded random order. The second-order
transition from ``v`` (having come from ``t``) to a neighbour ``x`` has weight

    1/p  if x = t,     1  if x is a neighbour of t,     1/q  otherwise,

sampled exactly by rejection (propose a uniform neighbour, accept with weight / max weight),
which costs O(log deg) per step instead of O(deg) — the node2vec "alias" tables would need
O(Σ deg²) memory. The first step is uniform. (In a bipartite graph no x is a neighbour of t,
but the walker is general.) The walks are a compiled numba loop seeded by ``seed``.

Skip-gram with negative sampling: gensim's ``Word2Vec`` (sg=1, ``negative`` noise words from
the unigram^0.75 table, ``window``, ``epochs``) — a maintained, compiled implementation that
installs here without touching torch; one worker thread, so the result is a function of the
seed. gensim is imported only when this scheme runs. A node without any interaction keeps the
random start vector gensim gives it (it never occurs in a context).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp
from numba import njit

from .. import DEFAULT_SEED
from .registry import positive, register


def interaction_graph(train: sp.csr_matrix) -> sp.csr_matrix:
    """The (n_users + n_items)-node bipartite adjacency ``[[0, T], [Tᵀ, 0]]`` (sorted CSR)."""
    T = sp.csr_matrix(train)
    A = sp.bmat([[None, T], [T.T, None]], format="csr")
    A.sort_indices()
    return A


@njit(cache=True)
def _is_neighbor(indptr, indices, a, b):
    lo, hi = indptr[a], indptr[a + 1]
    while lo < hi:  # binary search in a's sorted neighbour list
        mid = (lo + hi) // 2
        if indices[mid] < b:
            lo = mid + 1
        else:
            hi = mid
    return lo < indptr[a + 1] and indices[lo] == b


@njit(cache=True)
def _walks(indptr, indices, starts, length, inv_p, inv_q, seed):
    np.random.seed(seed)
    out = np.full((len(starts), length), -1, np.int64)
    wmax = max(inv_p, 1.0, inv_q)
    for w in range(len(starts)):
        v = starts[w]
        out[w, 0] = v
        if indptr[v + 1] == indptr[v]:
            continue
        t = v
        v = indices[indptr[v] + np.random.randint(indptr[v + 1] - indptr[v])]
        out[w, 1] = v
        for s in range(2, length):
            deg = indptr[v + 1] - indptr[v]
            while True:
                x = indices[indptr[v] + np.random.randint(deg)]
                if x == t:
                    wt = inv_p
                elif _is_neighbor(indptr, indices, t, x):
                    wt = 1.0
                else:
                    wt = inv_q
                if np.random.random() * wmax < wt:
                    break
            out[w, s] = x
            t, v = v, x
    return out


def random_walks(A: sp.csr_matrix, walk_length: int = 80, walks_per_node: int = 10,
                 p: float = 1.0, q: float = 1.0, seed: int = DEFAULT_SEED) -> np.ndarray:
    """node2vec walks on graph ``A`` (sorted CSR): an int64 array (walks x walk_length); a walk
    from an isolated node is that node followed by -1 padding."""
    A = sp.csr_matrix(A)
    if not A.has_sorted_indices:
        A = A.sorted_indices()
    rng = np.random.default_rng(seed)
    n = A.shape[0]
    starts = np.concatenate([rng.permutation(n) for _ in range(walks_per_node)])
    return _walks(A.indptr.astype(np.int64), A.indices.astype(np.int64), starts.astype(np.int64),
                  int(walk_length), 1.0 / p, 1.0 / q, int(rng.integers(2**31 - 1)))


def skipgram(walks: np.ndarray, n_nodes: int, dim: int, window: int = 10, negative: int = 5,
             epochs: int = 1, lr: float = 0.025, seed: int = DEFAULT_SEED) -> np.ndarray:
    """Skip-gram with negative sampling over ``walks`` (gensim, one thread): (n_nodes, dim)."""
    from gensim.models import Word2Vec

    tokens = [str(i) for i in range(n_nodes)]  # one str per node, shared by every walk
    sentences = [[tokens[x] for x in w[w >= 0]] for w in walks]
    model = Word2Vec(sentences=sentences, vector_size=dim, window=window, min_count=1, sg=1,
                     hs=0, negative=negative, alpha=lr, min_alpha=lr * 1e-3, epochs=epochs,
                     workers=1, seed=seed, sample=0)
    return np.stack([model.wv[t] for t in tokens]).astype(np.float32)


def _check(params, dim):
    positive("walk_length", "walks_per_node", "p", "q", "window", "negative", "epochs",
             "lr")(params, dim)


@register("node2vec", check=_check)
def node2vec_init(train, dim=64, seed=DEFAULT_SEED, walk_length=80, walks_per_node=10, p=1.0, q=1.0,
                  window=10, negative=5, epochs=1, lr=0.025):
    """node2vec walks (80 x 10 per node, p, q) on the user-item graph + skip-gram (gensim)."""
    n_users = train.shape[0]
    t0 = time.perf_counter()
    A = interaction_graph(train)
    walks = random_walks(A, walk_length, walks_per_node, p, q, seed)
    t1 = time.perf_counter()
    E = skipgram(walks, A.shape[0], dim, window, negative, epochs, lr, seed)
    info = {"timings_s": {"walks": t1 - t0, "skipgram": time.perf_counter() - t1},
            "walks": int(walks.shape[0]), "tokens": int((walks >= 0).sum())}
    return E[:n_users], E[n_users:], info
