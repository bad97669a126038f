"""DGCF: Disentangled Graph Collaborative Filtering (Wang et al., SIGIR 2020), in PyTorch.

Every embedding e (dim d) is split into K intent chunks e = (e_1, ..., e_K), e_k of size d/K
(``factors``; d must be divisible by K). Each training interaction (u, i) carries K intent
scores S_k(u, i), initialised to 1; intent k defines a weighted bipartite graph over the same
edges. One layer with inputs u_k^0, i_k^0 runs T routing iterations (``routing_iterations``),
t = 1..T (paper Eqs. 4-8):

    S~_k(u,i)  = exp S_k(u,i) / sum_k' exp S_k'(u,i)            (softmax over intents, per edge)
    D_k(u)     = sum_{i in N_u} S~_k(u,i),   D_k(i) = sum_{u in N_i} S~_k(u,i)
    L_k(u,i)   = S~_k(u,i) / sqrt(D_k(u) D_k(i))                 (symmetric normalisation)
    u_k^t      = sum_{i in N_u} L_k(u,i) i_k^0,   i_k^t = sum_{u in N_i} L_k(u,i) u_k^0
    S_k(u,i)  += normalize(u_k^t) . tanh(normalize(i_k^0))        (routing update)

The layer output is (u_k^T, i_k^T); layer l + 1 takes it as input (``layers`` = L). The final
representation is the sum over layers, e = e^(0) + e^(1) + ... + e^(L) (paper Eq. 13), and
score(u, i) = e_u . e_i. Propagation is one torch sparse product per iteration over a
block-diagonal (K N) x (K N) matrix holding the K intent graphs (N = users + items; never a
dense N x N matrix); gradients flow through the routing weights, as in the paper.

Loss of a batch of triples (u, i, j), j a sampled negative:

    L = mean_b softplus(-(e_u . e_i - e_u . e_j))
        + reg * mean_b (|u^0|^2 + |i^0|^2 + |j^0|^2)                 (L2 on the ego embeddings)
        + cor_weight * sum_{k < k'} dCor(E_k, E_k')                    (independence, Eq. 11-12)

where E_k stacks the k-th chunks of the final representations of a sample of the batch's
nodes (up to ``cor_samples`` distinct users and as many distinct items, drawn with the epoch's
generator). dCor is the sample distance correlation of Szekely et al.: with double-centred
Euclidean distance matrices A, B of X, Y (n rows), dCov^2(X, Y) = mean(A * B) and
dCor = dCov(X, Y) / sqrt(dCov(X, X) dCov(Y, Y)); a small epsilon inside the square roots
keeps gradients finite at zero distances.

Decisions and differences from the authors' TensorFlow code (read to understand, not copied):

- one score per interaction shared by both directions (the paper's S_k(u, i)), so each intent
  graph is symmetric; the authors keep separate scores for (u, i) and (i, u) edges;
- the routing update uses L2-normalised u_k^t and i_k^0 as the authors' code does (the
  paper's Eq. 8 writes u_k^t . tanh(i_k^0) without normalisation); scores left by layer l
  are where layer l + 1 starts, as in the authors' code;
- layers are summed (paper) rather than averaged (authors' code: a constant factor);
- the independence term sums dCor over all intent pairs k < k' (paper Eq. 12); the authors'
  code uses consecutive pairs only, divided by K(K+1)/2.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from .base import check_part, suggest
from .graph_ops import bipartite_adjacency
from .neural import suggest_training
from .pairwise import bpr_loss, shuffled_triples
from .propagation import GraphRecommender
from .training import check_number


# -- bipartite graph helpers: per-intent, differentiable edge weights (graph_ops builds the
# fixed-weight adjacency of NGCF/LightGCN; DGCF re-weights every edge at every iteration) ------
def bipartite_edges(train) -> tuple[np.ndarray, np.ndarray]:
    """``(users, items)`` int64 arrays of the distinct interactions of the users x items matrix
    ``train`` (binarised and checked by ``graph_ops.bipartite_adjacency``, the shared builder)."""
    n_users = sp.csr_matrix(train).shape[0]
    R = bipartite_adjacency(train)[:n_users, n_users:].tocoo()
    return R.row.astype(np.int64), R.col.astype(np.int64)


def sym_normalised_weights(weights, users, items, n_users: int, n_items: int):
    """``w_e / sqrt(D(u_e) D(i_e))`` for edge weights ``weights`` (..., E) of the bipartite
    graph ``(users, items)``, with D the weighted degree of each side (summed over the edges
    of the last axis, separately for every leading index, e.g. every intent). Nodes without
    edges never appear in the result, so a zero degree needs no rule."""
    lead = weights.shape[:-1]
    du = weights.new_zeros(*lead, n_users).index_add_(-1, users, weights)
    di = weights.new_zeros(*lead, n_items).index_add_(-1, items, weights)
    return weights * torch.rsqrt(du[..., users] * di[..., items])


def block_graph(users, items, n_users: int, n_items: int, blocks: int) -> dict:
    """Index structure of ``blocks`` copies of the symmetric bipartite graph ``(users, items)``
    (distinct edges, torch int64) as one block-diagonal (K N) x (K N) sparse matrix, N = users
    + items: coalesced COO ``index`` (2, 2 K E) and ``perm`` ordering the per-block values
    ``cat([w, w], 1).reshape(-1)`` (w of shape (K, E)) like ``index``. Built once per graph."""
    n = n_users + n_items
    off = (torch.arange(blocks, device=users.device) * n).unsqueeze(1)     # (K, 1)
    rows, cols = off + users, off + n_users + items                       # user / item rows
    index = torch.stack([torch.cat([rows, cols], 1).reshape(-1),
                         torch.cat([cols, rows], 1).reshape(-1)])
    perm = torch.argsort(index[0] * (blocks * n) + index[1])
    return {"users": users, "items": items, "n_users": n_users, "n_items": n_items,
            "blocks": blocks, "index": index[:, perm].contiguous(), "perm": perm}


def _block_matrix(weights, graph):
    n = graph["blocks"] * (graph["n_users"] + graph["n_items"])
    values = torch.cat([weights, weights], 1).reshape(-1)[graph["perm"]]
    return torch.sparse_coo_tensor(graph["index"], values, (n, n), is_coalesced=True,
                                   check_invariants=False)


class _SymmetricPropagate(torch.autograd.Function):
    """``y = A x`` for the symmetric block matrix A of ``weights``, backward by hand:
    dx = A dy (A is symmetric) and dw(u,i) = dy_u . x_i + dy_i . x_u on the E edges only
    (PyTorch's generic sparse-values backward made a training step 1.5x slower on ml-100k,
    ``benchmarks/bench_dgcf.py``)."""

    @staticmethod
    def forward(ctx, w, x, graph):
        ctx.graph = graph
        ctx.save_for_backward(w, x)
        return torch.sparse.mm(_block_matrix(w, graph), x.reshape(-1, x.shape[-1])) \
            .reshape(x.shape)

    @staticmethod
    def backward(ctx, g):
        w, x = ctx.saved_tensors
        graph = ctx.graph
        gw = gx = None
        if ctx.needs_input_grad[1]:
            gx = torch.sparse.mm(_block_matrix(w, graph), g.reshape(-1, g.shape[-1])) \
                .reshape(g.shape)
        if ctx.needs_input_grad[0]:
            u, i = graph["users"], graph["n_users"] + graph["items"]
            gw = (g[:, u] * x[:, i]).sum(-1) + (g[:, i] * x[:, u]).sum(-1)
        return gw, gx, None


def bipartite_propagate(weights, graph, x_users, x_items):
    """One symmetric message pass over K weighted bipartite graphs at once.

    ``weights`` (K, E) per-intent edge weights, ``graph`` from :func:`block_graph`,
    ``x_users`` (K, n_users, d), ``x_items`` (K, n_items, d). Returns ``(y_users, y_items)``
    with y_u = sum_i w(u,i) x_i and y_i = sum_u w(u,i) x_u per intent: one torch sparse
    product of the block-diagonal matrix, differentiable in ``weights`` and ``x``."""
    n_users = x_users.shape[1]
    y = _SymmetricPropagate.apply(weights, torch.cat([x_users, x_items], 1), graph)
    return y[:, :n_users], y[:, n_users:]


# -- the maths of the model (module-level functions, tested against numpy references) -----------
def intent_distribution(scores):
    """S~_k(u,i): softmax of the scores (K, E) over the K intents, per edge."""
    return torch.softmax(scores, 0)


def routing_layer(x_users, x_items, scores, graph, iterations: int,
                  update_last: bool = True):
    """One DGCF layer: ``iterations`` routing iterations (module docstring) on chunked inputs
    ``x_users`` (K, n_users, d), ``x_items`` (K, n_items, d) with intent scores ``scores``
    (K, E) on ``graph`` (:func:`block_graph`). Returns ``(y_users, y_items, scores)``, the
    scores updated after the last iteration only when ``update_last`` (the next layer starts
    from them)."""
    users, items = graph["users"], graph["items"]
    n_users, n_items = graph["n_users"], graph["n_items"]
    tanh_i0 = torch.tanh(F.normalize(x_items, dim=-1))[:, items]            # (K, E, d)
    for t in range(iterations):
        w = sym_normalised_weights(intent_distribution(scores), users, items, n_users,
                                   n_items)
        y_users, y_items = bipartite_propagate(w, graph, x_users, x_items)
        if t < iterations - 1 or update_last:
            scores = scores + (F.normalize(y_users, dim=-1)[:, users] * tanh_i0).sum(-1)
    return y_users, y_items, scores


def dgcf_embeddings(user_emb, item_emb, graph, layers: int, iterations: int):
    """Final (n_users, dim) and (n_items, dim) representations: the sum of the ego embeddings
    and the ``layers`` routing-layer outputs, intent chunks concatenated back in order
    (``graph`` from :func:`block_graph` with ``blocks`` = the number of intents K)."""
    n_users, dim = user_emb.shape
    factors = graph["blocks"]
    d = dim // factors
    xu = user_emb.reshape(n_users, factors, d).transpose(0, 1)              # (K, n_users, d)
    xi = item_emb.reshape(-1, factors, d).transpose(0, 1)
    scores = user_emb.new_ones(factors, len(graph["users"]))
    su, si = xu, xi
    for layer in range(layers):
        xu, xi, scores = routing_layer(xu, xi, scores, graph, iterations,
                                       update_last=layer < layers - 1)
        su, si = su + xu, si + xi
    return (su.transpose(0, 1).reshape(n_users, dim),
            si.transpose(0, 1).reshape(-1, dim))


def distance_correlation(x, y, eps: float = 1e-8):
    """Sample distance correlation of the rows of ``x`` (n, p) and ``y`` (n, q) (torch):
    0 for independent samples in the limit, 1 when y is x up to a rotation and scale."""
    def centred(z):
        r = z.square().sum(1, keepdim=True)
        dist = torch.sqrt((r - 2 * z @ z.T + r.T).clamp_min(0) + eps)
        return dist - dist.mean(0, keepdim=True) - dist.mean(1, keepdim=True) + dist.mean()

    a, b = centred(x), centred(y)

    def dcov(p, q):
        return torch.sqrt((p * q).mean().clamp_min(0) + eps)

    return dcov(a, b) / torch.sqrt(dcov(a, a) * dcov(b, b))


def independence_loss(emb, factors: int):
    """sum_{k < k'} dCor(E_k, E_k') over the intent chunks of ``emb`` (n, dim) (Eq. 12)."""
    chunks = emb.chunk(factors, dim=1)
    total = emb.new_zeros(())
    for k in range(factors):
        for k2 in range(k + 1, factors):
            total = total + distance_correlation(chunks[k], chunks[k2])
    return total


class DGCF(GraphRecommender):
    """Disentangled Graph Collaborative Filtering (see the module docstring)."""

    random_std = 0.1

    def __init__(self, factors: int = 4, layers: int = 1, routing_iterations: int = 2,
                 cor_weight: float = 0.01, cor_samples: int = 128, reg: float = 1e-4,
                 training=None, **settings):
        self._set_training(training, settings)
        self.factors = check_number("factors", factors, 1, integer=True)
        if self.dim % self.factors:
            raise ValueError(f"dim ({self.dim}) must be divisible by factors ({self.factors})")
        self.layers = check_number("layers", layers, 1, integer=True)
        self.routing_iterations = check_number("routing_iterations", routing_iterations, 1,
                                                integer=True)
        self.cor_weight = check_number("cor_weight", cor_weight, 0.0)
        self.cor_samples = check_number("cor_samples", cor_samples, 2, integer=True)
        self.reg = check_number("reg", reg, 0.0)

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """lr 1e-4-1e-2 (log), weight decay 0-1e-2, reg 1e-6-1e-1 (log), factors {1,2,4,8}
        (those dividing a pinned dim),
        layers 1-3, routing iterations 1-3, cor_weight 1e-4-1 (log)."""
        return {**suggest_training(trial, fixed),
                "reg": suggest(trial, fixed, "reg", "float", 1e-6, 1e-1, log=True),
                "factors": suggest(trial, fixed, "factors", "categorical",
                                   [k for k in (1, 2, 4, 8) if fixed.get("dim", 64) % k == 0]),
                "layers": suggest(trial, fixed, "layers", "int", 1, 3),
                "routing_iterations": suggest(trial, fixed, "routing_iterations", "int", 1, 3),
                "cor_weight": suggest(trial, fixed, "cor_weight", "float", 1e-4, 1.0,
                                      log=True)}

    # -- network ----------------------------------------------------------------------------
    def _make_network(self):
        self._graph = None    # the graph is data, not weights: built from edge_users_/items_
        return self._embedding_tables()

    def _build(self, data) -> None:
        train = sp.csr_matrix(getattr(data, "train", data))
        self.edge_users_, self.edge_items_ = bipartite_edges(train)
        if len(self.edge_users_) == 0:
            raise ValueError("DGCF: the training matrix has no interactions")
        super()._build(data)

    def propagate(self):
        """Final user and item representations from the current weights (differentiable)."""
        net = self.network_
        graph = getattr(self, "_graph", None)
        if graph is None or graph["users"].device != net.user_emb.weight.device:
            users = torch.as_tensor(self.edge_users_, device=net.user_emb.weight.device)
            items = torch.as_tensor(self.edge_items_, device=users.device)
            graph = block_graph(users, items, self.n_users_, self.n_items_, self.factors)
            self._graph = graph
        return dgcf_embeddings(net.user_emb.weight, net.item_emb.weight, graph, self.layers,
                               self.routing_iterations)

    # -- training ---------------------------------------------------------------------------
    def batches(self, rng: np.random.Generator) -> list:
        u, i, j = shuffled_triples((self.edge_users_, self.edge_items_), self._sampler, rng)
        out, b = [], self.batch_size
        dev = self.device
        for s in range(0, len(u), b):
            ub, ib, jb = u[s:s + b], i[s:s + b], j[s:s + b]
            # the independence term's sample: distinct users and items of this batch
            cu, ci = np.unique(ub), np.unique(ib)
            cu = rng.choice(cu, min(len(cu), self.cor_samples), replace=False)
            ci = rng.choice(ci, min(len(ci), self.cor_samples), replace=False)
            out.append(tuple(torch.as_tensor(a, device=dev) for a in (ub, ib, jb, cu, ci)))
        return out

    def batch_loss(self, batch):
        u, i, j, cu, ci = batch
        net = self.network_
        eu, ei = self.propagate()
        pos, neg = (eu[u] * ei[i]).sum(1), (eu[u] * ei[j]).sum(1)
        loss = bpr_loss(pos, neg, (net.user_emb(u), net.item_emb(i), net.item_emb(j)), self.reg)
        if self.cor_weight and self.factors > 1:
            loss = loss + self.cor_weight * independence_loss(torch.cat([eu[cu], ei[ci]]),
                                                              self.factors)
        return loss

    # -- scoring ----------------------------------------------------------------------------
    def _propagate_all(self):
        return self.propagate()

    def score(self, users: np.ndarray, part: str = "test") -> np.ndarray:
        """``E_u[users] @ E_i.T`` of the final representations (float32 numpy); during
        training from the current weights."""
        self._check_fitted()
        check_part(part)
        users = np.asarray(users, dtype=np.int64)
        eu, ei = (e.cpu().numpy() for e in self.final_embeddings())
        return (eu[users] @ ei.T).astype(np.float32, copy=False)
