"""What every eigensolver returns, and the steps they share after solving (no heavy imports).

The CPU solvers (``eigen.py``) and the torch ones (``eigen_torch.py``) both end here, so the
sign rule, the isolated-node rule and the residual warning are one piece of code.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np


@dataclass
class EigenResult:
    """``vectors`` (n × k, unit columns), ascending ``eigenvalues``, relative ``residuals``."""

    vectors: np.ndarray
    eigenvalues: np.ndarray
    residuals: np.ndarray
    info: dict = field(default_factory=dict)


def _sign_fix(V: np.ndarray) -> np.ndarray:
    idx = np.argmax(np.abs(V), axis=0)
    signs = np.sign(V[idx, np.arange(V.shape[1])])
    signs[signs == 0] = 1.0
    return V * signs


def finish_eigenpairs(theta, Q, shift, s, kind, isolated):
    """Solver output (θ descending, vectors of A) -> (vectors, λ ascending) of the Laplacian:
    the rw transform, the isolated-node rule made exact, and the sign rule."""
    lam = np.asarray(shift - np.asarray(theta), dtype=np.float64)
    V = np.array(Q, dtype=np.float64)
    if kind == "rw":
        V = s[:, None] * V
        nrm = np.linalg.norm(V, axis=0)
        V = V / np.where(nrm > 0, nrm, 1.0)
    if kind != "unnorm":
        V[np.ix_(isolated, np.abs(lam - 1.0) > 1e-6)] = 0.0
    return _sign_fix(V), lam


def check_residuals(res, max_residual, info) -> None:
    info["max_residual"] = float(res.max())
    if res.max() > max_residual:
        warnings.warn(f"eigen-residual {res.max():.2e} exceeds {max_residual:.0e} "
                      f"({info.get('solver')} solver); results may be inaccurate", RuntimeWarning,
                      stacklevel=1)


def zscore(V: np.ndarray) -> np.ndarray:
    """Column-wise (x - mean) / std as the authors do; a constant column becomes all zeros."""
    mu = V.mean(axis=0)
    sd = V.std(axis=0)
    return (V - mu) / np.where(sd > 0, sd, 1.0)


def subspace_agreement(A: np.ndarray, B: np.ndarray) -> tuple[float, float]:
    """(mean, min) cosine of the principal angles between the column spaces of ``A`` and ``B``
    (1 = the same subspace; insensitive to signs and rotations inside repeated eigenvalues)."""
    qa, _ = np.linalg.qr(np.asarray(A, np.float64))
    qb, _ = np.linalg.qr(np.asarray(B, np.float64))
    cos = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)
    return float(cos.mean()), float(cos.min())
