"""Graph Laplacians of LE (α = 0) and LEPORID (α > 0), DESIGN.md §4.

``D_reg = (1 - α) D + α d_max I``.

- ``sym``:    ``L = I - D_reg^{-1/2} W D_reg^{-1/2}``   (the paper's L_regsym; LE's L_sym at α=0)
- ``rw``:     ``L = I - D_reg^{-1} W``
- ``unnorm``: ``L = D_reg - W``                         (the paper's L_reg, Eq. 7)

Isolated nodes (degree 0, only possible under LE, where ``d_reg = 0``): the inverse square
root of their degree is taken as 0, so the normalised Laplacians act as the identity on them
(eigenvalue 1) and every eigenvector with another eigenvalue is 0 there. No NaN is produced.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..data.validation import check_real_values

KINDS = ("sym", "rw", "unnorm")


def check_graph(W) -> sp.csr_matrix:
    """A symmetric, non-negative, zero-diagonal CSR graph, or a ValueError naming the defect."""
    W = sp.csr_matrix(W)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"graph must be square, got shape {W.shape}")
    check_real_values(W.data, "graph")
    if W.nnz and W.data.min() < 0:
        raise ValueError("graph has negative edge weights")
    if W.diagonal().any():
        raise ValueError("graph has self-loops (non-zero diagonal)")
    return W


def regularized_degrees(W, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Degrees ``d`` and ``d_reg = (1 - α) d + α d_max``."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    d = row_sums(W)
    dmax = d.max() if len(d) else 0.0
    return d, (1.0 - alpha) * d + alpha * dmax


def row_sums(W) -> np.ndarray:
    """Row sums accumulated in float64 (scipy's ``sum`` accumulates float32 data in float32,
    which would make ``D - W`` miss its zero eigenvalue by ~1e-7)."""
    W = sp.csr_matrix(W)
    rows = np.repeat(np.arange(W.shape[0]), np.diff(W.indptr))
    return np.bincount(rows, weights=W.data, minlength=W.shape[0]).astype(np.float64)


def inv_sqrt(x: np.ndarray) -> np.ndarray:
    """``x^{-1/2}`` with 0 where ``x == 0`` (the isolated-node rule)."""
    out = np.zeros_like(x, dtype=np.float64)
    pos = x > 0
    out[pos] = 1.0 / np.sqrt(x[pos])
    return out


def laplacian(W, alpha: float = 0.5, kind: str = "sym") -> sp.csr_matrix:
    """The Laplacian as an explicit sparse matrix (float64); used by tests and small graphs."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    W = check_graph(W).astype(np.float64)
    n = W.shape[0]
    _, dreg = regularized_degrees(W, alpha)
    if kind == "unnorm":
        return (sp.diags(dreg) - W).tocsr()
    eye = sp.eye(n, format="csr")
    if kind == "sym":
        s = sp.diags(inv_sqrt(dreg))
        return (eye - s @ W @ s).tocsr()
    return (eye - sp.diags(inv_sqrt(dreg) ** 2) @ W).tocsr()
