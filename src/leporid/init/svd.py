"""SVD initialisation: the truncated SVD of the binary user x item training matrix.

``T ≈ U_𝒟 Σ_𝒟 V_𝒟ᵀ`` (the 𝒟 largest singular values); users get ``U_𝒟 Σ_𝒟^{1/2}``, items
``V_𝒟 Σ_𝒟^{1/2}``, so that ``user · item`` reproduces the rank-𝒟 approximation of ``T``.
``T`` stays sparse: ARPACK (``scipy.sparse.linalg.svds``) with a seeded start vector. When
𝒟 ≥ min(n_users, n_items) there are only min(...) singular triplets: the dense SVD gives them
and the remaining columns are zero (recorded in ``info["zero_columns"]``).

Sign rule (singular vectors are defined up to a joint sign): each column is flipped so that
the largest-magnitude entry of the user vector is positive (the item column follows).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from threadpoolctl import threadpool_limits

from .. import DEFAULT_SEED
from .registry import register


def truncated_svd(M, k: int, seed: int = DEFAULT_SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(U, s, V)`` of the ``k`` largest singular triplets of ``M`` (sparse or dense),
    ``s`` descending, ``M ≈ U diag(s) Vᵀ``, signs by the rule of this module.

    ``k >= min(M.shape)`` (ARPACK's limit) uses a dense SVD and pads with zero triplets.
    """
    n, m = M.shape
    r = min(n, m)
    if k < r:
        v0 = np.random.default_rng(seed).uniform(-1.0, 1.0, r)
        # ARPACK's small BLAS-2 calls lose 10-30x to thread spinning on a shared 2-core box
        with threadpool_limits(limits=1, user_api="blas"):
            U, s, Vt = sla.svds(M.astype(np.float64), k=k, v0=v0, solver="arpack")
    else:
        dense = M.toarray() if sp.issparse(M) else np.asarray(M)
        U, s, Vt = np.linalg.svd(dense.astype(np.float64), full_matrices=False)
        pad = k - len(s)
        U = np.hstack([U, np.zeros((n, pad))])
        Vt = np.vstack([Vt, np.zeros((pad, m))])
        s = np.concatenate([s, np.zeros(pad)])
    order = np.argsort(-s, kind="stable")
    U, s, V = U[:, order], s[order], Vt[order].T
    if len(U):
        sign = np.sign(U[np.abs(U).argmax(axis=0), np.arange(k)])
        sign[sign == 0] = 1.0
        U, V = U * sign, V * sign
    return U, s, V


@register("svd")
def svd_init(train, dim=64, seed=DEFAULT_SEED):
    """Truncated SVD of the binary training matrix: users U Σ^½, items V Σ^½."""
    U, s, V = truncated_svd(train, dim, seed)
    root = np.sqrt(s)
    info = {"singular_values": s, "zero_columns": int((s == 0).sum())}
    return U * root, V * root, info
