"""The user-item bipartite graph of the graph-based recommenders (NGCF, LightGCN, DGCF), as
torch sparse tensors.

Nodes are ordered users first, then items: node ``u`` is user ``u`` (``0 <= u < n_users``),
node ``n_users + i`` is item ``i``. With ``R`` the binary ``n_users x n_items`` training matrix::

    A = [[0,   R],          D = diag(A 1)          L = D^{-1/2} A D^{-1/2}
         [R^T, 0]]

``L`` is the symmetric-normalised adjacency of NGCF (Wang et al. 2019, eq. 8) and LightGCN
(He et al. 2020, eq. 7): ``L_ui = 1 / sqrt(|N_u| |N_i|)``. Decisions:

- interactions are binarised (a repeated or weighted pair counts once, weight 1);
- an isolated node (a user or item without training interactions) has ``D^{-1/2} = 0``, so its
  row and column of ``L`` are empty (no NaN, no self-loop added; a model that wants ``L + I``
  adds the identity itself, as NGCF does);
- built in float64 by scipy and cast once to float32; ``adjacency_tensor`` gives a coalesced
  COO tensor (any torch sparse op accepts it), ``as_csr`` the CSR form the products should use.
  Never a dense N x N matrix.
- products: ``spmm(adj, x, adj_t)`` is ``adj @ x`` with a CSR ``adj`` (measured on ml-100k's
  graph, 1 thread: 4x faster than COO) and a backward ``grad_x = adj_t @ grad`` that reuses the
  transpose it is given -- ``L`` itself, since ``L`` is symmetric -- where
  ``torch.sparse.mm``'s own backward transposes and re-sorts the matrix at every step (10x the
  forward's cost).

``normalized_adjacency(train)`` gives the scipy matrix (for references and other uses);
``to_torch_sparse(matrix, device)`` converts any scipy sparse matrix; ``adjacency_tensor(train,
device)`` does both. ``drop_nodes(adj, p, generator)`` is NGCF's node dropout.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..utils.sparse import torch_coo as to_torch_sparse


def bipartite_adjacency(train) -> sp.csr_matrix:
    """``A = [[0, R], [R^T, 0]]`` (float64, binary) for ``train`` (users x items, sparse or
    dense array-like); ``(n_users + n_items)`` square, users first."""
    R = sp.csr_matrix(train, dtype=np.float64, copy=True)
    if R.ndim != 2:
        raise ValueError(f"train must be a 2-D users x items matrix, got shape {R.shape}")
    R.sum_duplicates()
    R.eliminate_zeros()
    if R.nnz and not np.isfinite(R.data).all():
        raise ValueError("train contains NaN or infinite values")
    R.data[:] = 1.0                       # binary interactions
    n_u, n_i = R.shape
    return sp.csr_matrix(sp.bmat([[sp.csr_matrix((n_u, n_u)), R],
                                  [R.T, sp.csr_matrix((n_i, n_i))]], dtype=np.float64))


def normalized_adjacency(train) -> sp.csr_matrix:
    """``L = D^{-1/2} A D^{-1/2}`` (scipy CSR, float64) of the bipartite graph of ``train``;
    isolated nodes get ``D^{-1/2} = 0`` (empty row and column). See the module docstring."""
    A = bipartite_adjacency(train)
    deg = np.asarray(A.sum(axis=1)).ravel()
    inv_sqrt = np.zeros_like(deg)
    nz = deg > 0
    inv_sqrt[nz] = deg[nz] ** -0.5
    Dm = sp.diags(inv_sqrt)
    return sp.csr_matrix(Dm @ A @ Dm)


def adjacency_tensor(train, device="cpu"):
    """``L`` of ``train`` as a float32 torch sparse tensor on ``device`` (the usual call)."""
    return to_torch_sparse(normalized_adjacency(train), device)


def as_csr(adj):
    """``adj`` (torch sparse COO or CSR) in CSR layout (torch's "beta" warning silenced)."""
    import warnings

    import torch

    if adj.layout == torch.sparse_csr:
        return adj
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return adj.coalesce().to_sparse_csr()


def _spmm_function():
    import torch

    class SpMM(torch.autograd.Function):
        @staticmethod
        def forward(ctx, adj, adj_t, x):
            ctx.adj_t = adj_t
            return adj @ x

        @staticmethod
        def backward(ctx, grad):
            return None, None, ctx.adj_t @ grad

    return SpMM


_SPMM = None


def spmm(adj, x, adj_t=None):
    """``adj @ x`` (``adj`` sparse, best CSR; ``x`` dense), differentiable with respect to ``x``
    with the backward ``adj_t @ grad``. ``adj_t`` is ``adj``'s transpose; ``None`` means ``adj``
    is symmetric (like ``L``) and is reused. The sparse matrices get no gradient."""
    global _SPMM
    if _SPMM is None:
        _SPMM = _spmm_function()
    return _SPMM.apply(adj, adj if adj_t is None else adj_t, x)


def drop_nodes(adj, p: float, generator=None):
    """Node dropout (NGCF, Sec. 2.4.2): each node is blocked with probability ``p`` -- all its
    outgoing messages, i.e. its column of ``adj``, are removed -- and the kept entries are scaled
    by ``1 / (1 - p)`` so the expected message is unchanged.

    Returns ``(dropped, dropped_transposed)``, both CSR (for :func:`spmm`); ``p = 0`` returns
    ``(as_csr(adj), None)`` (unchanged, symmetric when ``adj`` is)."""
    import torch

    if p <= 0:
        return as_csr(adj), None
    if p >= 1:
        raise ValueError(f"node dropout must be in [0, 1), got {p!r}")
    n = adj.shape[1]
    keep_node = torch.rand(n, generator=generator, device="cpu") >= p
    keep_node = keep_node.to(adj.device)
    adj = (adj.to_sparse_coo() if adj.layout != torch.sparse_coo else adj).coalesce()
    idx, val = adj.indices(), adj.values()
    keep = keep_node[idx[1]]
    idx, val = idx[:, keep], val[keep] / (1.0 - p)
    dropped = torch.sparse_coo_tensor(idx, val, adj.shape, device=adj.device,
                                      check_invariants=False)
    transposed = torch.sparse_coo_tensor(idx.flip(0), val, adj.shape[::-1], device=adj.device,
                                         check_invariants=False)
    return as_csr(dropped), as_csr(transposed)


def propagation_cache_key(network) -> tuple:
    """A key that changes whenever any parameter of ``network`` changes (identity and in-place
    version counter of each parameter, which optimiser steps and ``load_state_dict`` bump), or
    when it switches between train and eval mode: lets a model propagate once per set of
    weights instead of once per scored batch of users."""
    return (network.training,) + tuple((id(p), p._version) for p in network.parameters())
