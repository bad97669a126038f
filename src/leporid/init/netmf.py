"""NetMF, large-window variant (Qiu et al., WSDM 2018, Algorithm 2), on the Jaccard KNN graphs.

For a graph ``A`` (here the user or the item Jaccard KNN graph of LE / LEPORID, paper App. F)
with degrees ``D`` and volume ``vol = Σ d``, DeepWalk with window ``T`` and ``b`` negative
samples implicitly factorises

    M = vol / (b T) · (Σ_{r=1..T} (D⁻¹A)^r) D⁻¹ .

The large-window algorithm approximates ``D^{-1/2} A D^{-1/2} ≈ U_h Λ_h U_hᵀ`` by its ``h``
largest eigenpairs — the smallest of ``L_sym = I - D^{-1/2} A D^{-1/2}``, computed by
``leporid.spectral.smallest_eigenpairs`` (θ = 1 - λ) — and forms

    M̂ = vol / (b T) · D^{-1/2} U_h (Σ_{r=1..T} Λ_h^r) U_hᵀ D^{-1/2},

then embeds with the rank-𝒟 SVD of ``log(max(M̂, 1)) = U_𝒟 Σ_𝒟 V_𝒟ᵀ`` as ``U_𝒟 Σ_𝒟^{1/2}``.
``M̂`` is dense n x n (float64): NetMF is quadratic in memory by construction (8 n² bytes per
side; ml-1m users: 0.3 GB). Isolated nodes (only under small K) get a zero ``D^{-1/2}`` entry,
so their row of ``M̂`` and their embedding are 0. ``h`` is capped at n (recorded in ``info``).
"""

from __future__ import annotations

import time

import numpy as np

from .. import DEFAULT_SEED
from ..spectral import smallest_eigenpairs
from ..spectral.laplacian import inv_sqrt, row_sums
from .cache import knn_graph
from .registry import positive, register
from .svd import truncated_svd


def netmf_matrix(W, window: int = 10, b: float = 1.0, rank: int | None = None,
                 seed: int = DEFAULT_SEED) -> tuple[np.ndarray, dict]:
    """``log(max(M̂, 1))`` of graph ``W`` (dense float64) and the eigen-solver details.
    ``rank=None`` uses every eigenpair (then ``M̂ = M`` exactly)."""
    n = W.shape[0]
    h = n if rank is None else min(int(rank), n)
    d = row_sums(W)
    vol = d.sum()
    res = smallest_eigenpairs(W, h, alpha=0.0, kind="sym", seed=seed)
    theta = 1.0 - res.eigenvalues
    # Σ_{r=1..T} θ^r elementwise (θ ∈ [-1, 1]: no closed form needed, T is small)
    filt = np.zeros_like(theta)
    power = np.ones_like(theta)
    for _ in range(window):
        power = power * theta
        filt += power
    Y = inv_sqrt(d)[:, None] * res.vectors
    M = (vol / (b * window)) * (Y * filt) @ Y.T
    np.maximum(M, 1.0, out=M)
    np.log(M, out=M)
    return M, {"rank_used": h, "volume": float(vol), "eigen_solver": res.info.get("solver")}


def _check(params, dim):
    positive("n_neighbors", "window", "b", "rank")(params, dim)


@register("netmf", check=_check)
def netmf_init(train, dim=64, seed=DEFAULT_SEED, n_neighbors=1000, window=10, b=1.0, rank=256):
    """NetMF large-window (T=10, b=1, eigen-rank h) on the user and item Jaccard KNN graphs."""
    out, info = [], {"timings_s": {}}
    for side, X in (("user", train), ("item", train.T.tocsr())):
        t0 = time.perf_counter()
        W = knn_graph(X, n_neighbors, side)
        t1 = time.perf_counter()
        M, side_info = netmf_matrix(W, window, b, rank, seed)
        U, s, _ = truncated_svd(M, dim, seed)
        del M
        out.append(U * np.sqrt(s))
        info[side] = {**side_info, "edges": int(W.nnz // 2)}
        info["timings_s"].update({f"{side}_graph": t1 - t0,
                                  f"{side}_netmf": time.perf_counter() - t1})
    return out[0], out[1], info
