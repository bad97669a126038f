"""SLIM with ElasticNet (Ning & Karypis 2011), as Dacrema et al. (RecSys 2019) run it.

For every item j, with X the binary training matrix and X_{-j} X with column j set to zero,

    w_j = argmin_{w >= 0}  1/(2 n_users) ||x_j - X_{-j} w||^2 + alpha l1_ratio ||w||_1
                           + alpha (1 - l1_ratio) / 2 ||w||^2

(scikit-learn's ``ElasticNet(positive=True, fit_intercept=False)``), so W has a zero diagonal
and non-negative entries; only the ``topk`` largest coefficients of each column are kept.
Scores are ``p_u W`` with p_u the user's (fold-in) profile. Items are solved in parallel
chunks on threads (scikit-learn's coordinate descent releases the GIL); each chunk zeroes the
target column in its own copy of X.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import scipy.sparse as sp

from .. import DEFAULT_SEED
from ..data.validation import check_bool, check_number
from .base import BaseRecommender, suggest


def _fit_items(X: sp.csc_matrix, items: np.ndarray, alpha: float, l1_ratio: float,
               topk: int, max_iter: int, tol: float, seed: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import ElasticNet

    X = X.copy()                                   # this chunk zeroes columns in its own copy
    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, positive=True, fit_intercept=False,
                       copy_X=False, precompute=False, selection="random", max_iter=max_iter,
                       tol=tol, random_state=seed)
    rows, cols, vals = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=ConvergenceWarning)
        for j in items:
            lo, hi = X.indptr[j], X.indptr[j + 1]
            y = np.zeros(X.shape[0])
            y[X.indices[lo:hi]] = X.data[lo:hi]
            saved = X.data[lo:hi].copy()
            X.data[lo:hi] = 0.0
            model.fit(X, y, check_input=False)
            X.data[lo:hi] = saved
            coef = model.coef_
            nz = np.flatnonzero(coef > 0)
            if len(nz) > topk:
                # largest first; ties -> lower index (stable sort on -coef)
                nz = nz[np.argsort(-coef[nz], kind="stable")[:topk]]
            rows.append(nz), cols.append(np.full(len(nz), j)), vals.append(coef[nz])
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float32)
    return (np.concatenate(rows).astype(np.int64), np.concatenate(cols).astype(np.int64),
            np.concatenate(vals).astype(np.float32))


class SLIM(BaseRecommender):
    """SLIM ElasticNet item-item model; ``W_`` (n_items x n_items, CSR) after ``fit``."""


    def __init__(self, topk: int = 100, l1_ratio: float = 0.1, alpha: float = 1.0,
                 max_iter: int = 100, tol: float = 1e-4, fold_in: bool = True,
                 n_jobs: int | None = None, seed: int = DEFAULT_SEED):
        v = {"owner": "SLIM"}
        self.topk = check_number(topk, "topk", low=1, integer=True, **v)
        self.l1_ratio = check_number(l1_ratio, "l1_ratio", low=0, low_open=True, high=1, **v)
        self.alpha = check_number(alpha, "alpha", low=0, low_open=True, **v)
        self.max_iter = check_number(max_iter, "max_iter", low=1, integer=True, **v)
        self.tol = check_number(tol, "tol", low=0, low_open=True, **v)
        self.n_jobs = check_number(n_jobs, "n_jobs", low=1, integer=True, allow_none=True, **v)
        self.seed = check_number(seed, "seed", low=0, high=2**32 - 1, integer=True, **v)
        self.fold_in = check_bool(fold_in, "fold_in", "SLIM")

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """topk 5-1000, l1_ratio 1e-5-1 (log), alpha 1e-3-1 (log)."""
        return {"topk": suggest(trial, fixed, "topk", "int", 5, 1000),
                "l1_ratio": suggest(trial, fixed, "l1_ratio", "float", 1e-5, 1.0, log=True),
                "alpha": suggest(trial, fixed, "alpha", "float", 1e-3, 1.0, log=True)}

    def fit(self, split) -> SLIM:
        from joblib import Parallel, delayed

        self._remember(split)
        X = sp.csc_matrix(self.train_, dtype=np.float64)
        X.sort_indices()
        n_items = X.shape[1]
        n_jobs = self.n_jobs or min(os.cpu_count() or 1, 8)
        chunks = [c for c in np.array_split(np.arange(n_items), max(1, 4 * n_jobs)) if len(c)]
        parts = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(_fit_items)(X, c, self.alpha, self.l1_ratio, self.topk, self.max_iter,
                                self.tol, self.seed) for c in chunks)
        rows = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
        vals = np.concatenate([p[2] for p in parts])
        self.W_ = sp.csr_matrix((vals, (rows, cols)), shape=(n_items, n_items), dtype=np.float32)
        return self

    def score(self, users: np.ndarray, part: str = "test") -> np.ndarray:
        P = self.profile(users, part)
        return np.asarray((P @ self.W_).toarray(), dtype=np.float32)
