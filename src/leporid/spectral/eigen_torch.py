"""Largest eigenpairs of ``A = S W S + diag(a)`` by Chebyshev-filtered subspace iteration (torch).

For a GPU, where sparse-times-block products are cheap and ARPACK's one-vector loop is not.
Each sweep applies a degree-``m`` Chebyshev polynomial that damps the unwanted part of the
spectrum, re-orthonormalises, and does a Rayleigh–Ritz step; it stops when every wanted Ritz
pair's residual ``‖A y - θ y‖`` is below ``tol`` (Zhou & Saad, 2007).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch

from .laplacian import KINDS
from .result import EigenResult, check_residuals, finish_eigenpairs


def _to_torch_csr(W, device, dtype):
    W = sp.csr_matrix(W)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(torch.as_tensor(W.indptr.astype(np.int64)),
                                       torch.as_tensor(W.indices.astype(np.int64)),
                                       torch.as_tensor(W.data, dtype=dtype), size=W.shape,
                                       check_invariants=False).to(device)


def top_eigenpairs_torch(W, s, a, k, *, tol=1e-8, seed=123, device="cuda", degree=12,
                         extra=None, max_sweeps=200, dtype=torch.float64):
    """(θ descending, vectors n × k as numpy float64, info) of ``A = diag(s) W diag(s) + diag(a)``."""
    n = W.shape[0]
    Wt = W if isinstance(W, torch.Tensor) else _to_torch_csr(W, device, dtype)
    st = torch.as_tensor(s, dtype=dtype, device=device)[:, None]
    at = torch.as_tensor(a, dtype=dtype, device=device)[:, None]

    def A(Y):
        return st * (Wt @ (st * Y)) + at * Y

    # Gershgorin bound of |A|: the spectrum lies in [-g, g]
    g = float((st * (Wt @ st) + at.abs()).max().item()) if n else 1.0
    b = min(n, k + max(16, k // 2) if extra is None else k + extra)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    Y = torch.randn((n, b), generator=gen, dtype=dtype).to(device)
    Y, _ = torch.linalg.qr(Y)
    theta = None
    n_products = 0
    for sweep in range(max_sweeps):
        if theta is not None:
            # damp [-g, cut] (cut = the block's smallest Ritz value), scale at the largest
            lo, cut, top = -g, float(theta[-1]), float(theta[0])
            e, c = (cut - lo) / 2.0, (cut + lo) / 2.0
            sigma = e / (top - c)
            tau = 2.0 / sigma
            Y0 = Y
            Y1 = (A(Y) - c * Y) * (sigma / e)
            for _ in range(2, degree + 1):
                sigma_new = 1.0 / (tau - sigma)
                Y2 = (A(Y1) - c * Y1) * (2.0 * sigma_new / e) - (sigma * sigma_new) * Y0
                Y0, Y1, sigma = Y1, Y2, sigma_new
            n_products += degree
            Y, _ = torch.linalg.qr(Y1)
        AY = A(Y)
        n_products += 1
        H = Y.T @ AY
        H = (H + H.T) / 2
        evals, V = torch.linalg.eigh(H)
        order = torch.argsort(evals, descending=True)
        theta, V = evals[order], V[:, order]
        Y, AY = Y @ V, AY @ V
        R = AY[:, :k] - Y[:, :k] * theta[:k]
        res = torch.linalg.norm(R, dim=0)
        if float(res.max()) <= tol * max(g, 1.0):
            break
        theta = theta.cpu()
    info = {"sweeps": sweep + 1, "block": b, "degree": degree, "products": n_products,
            "device": str(device)}
    return (theta[:k].cpu().numpy().astype(np.float64), Y[:, :k].cpu().numpy().astype(np.float64),
            info)


def smallest_eigenpairs_dense_torch(Wt: torch.Tensor, k: int, *, alpha: float = 0.5,
                                    kind: str = "sym", tol: float = 1e-8, seed: int = 123,
                                    max_residual: float = 1e-4):
    """``smallest_eigenpairs`` for a dense float64 graph tensor already on its device.

    Residuals are recomputed afterwards from ``Wt`` in float64, as on the CPU path.
    """
    import time

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    n = Wt.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"cannot compute {k} eigenvectors of a graph with {n} nodes")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    t0 = time.perf_counter()
    d = Wt.sum(dim=1)
    dreg = (1 - alpha) * d + alpha * d.max()
    pos = dreg > 0
    if kind == "unnorm":
        c = float((dreg + d).max())
        s_t, a_t, shift = torch.ones_like(d), c - dreg, c
    else:
        s_t = torch.where(pos, dreg.clamp_min(1e-300).rsqrt(), torch.zeros_like(d))
        a_t, shift = torch.zeros_like(d), 1.0
    theta, Q, info = top_eigenpairs_torch(Wt, s_t.cpu().numpy(), a_t.cpu().numpy(), k, tol=tol,
                                          seed=seed, device=Wt.device)
    info.update({"solver": "torch-dense", "n": n, "k": k, "alpha": alpha, "kind": kind,
                 "seconds": time.perf_counter() - t0})
    isolated = (Wt != 0).sum(dim=1).cpu().numpy() == 0
    V, lam = finish_eigenpairs(theta, Q, shift, s_t.cpu().numpy(), kind, isolated)
    # independent residual: ‖L v - λ v‖ / (‖L‖_∞ ‖v‖) from the graph, in float64
    Vt = torch.as_tensor(V, device=Wt.device)
    lam_t = torch.as_tensor(lam, device=Wt.device)
    if kind == "sym":
        LV = Vt - s_t[:, None] * (Wt @ (s_t[:, None] * Vt))
        norm = 1.0 + float((s_t * (Wt @ s_t)).max())
    elif kind == "rw":
        r = s_t ** 2
        LV = Vt - r[:, None] * (Wt @ Vt)
        norm = 1.0 + float((r * d).max())
    else:
        LV = dreg[:, None] * Vt - Wt @ Vt
        norm = max(float((dreg + d).max()), 1.0)
    res = (torch.linalg.norm(LV - Vt * lam_t, dim=0) / (norm * torch.linalg.norm(Vt, dim=0)))
    res = res.cpu().numpy()
    check_residuals(res, max_residual, info)
    return EigenResult(V, lam, res, info)
