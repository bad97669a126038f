"""The dense-graph GPU path: ``smallest_eigenpairs`` for a graph tensor already on its device.

Kept apart from ``eigen_torch`` (the torch eigensolver kernel, which ``eigen`` imports lazily)
so that the import graph stays acyclic: ``eigen_dense_torch -> eigen_torch, result`` and
``eigen -> eigen_torch, result``; ``eigen_torch`` imports neither.
"""

from __future__ import annotations

import time

import torch

from .. import DEFAULT_SEED
from .eigen_torch import top_eigenpairs_torch
from .laplacian import KINDS
from .result import EigenResult, check_residuals, finish_eigenpairs


def smallest_eigenpairs_dense_torch(Wt: torch.Tensor, k: int, *, alpha: float = 0.5,
                                    kind: str = "sym", tol: float = 1e-8, seed: int = DEFAULT_SEED,
                                    max_residual: float = 1e-4):
    """``smallest_eigenpairs`` for a dense float64 graph tensor already on its device.

    Residuals are recomputed afterwards from ``Wt`` in float64, as on the CPU path.
    """
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
