"""The recommender protocol every model follows, and helpers shared by the classic models.

A model is anything with

- ``fit(split) -> self``: learn from ``split`` (classic models read ``split.train`` only);
- ``score(users, part) -> (len(users), n_items)`` float32 scores (numpy, or a torch tensor),
  higher = better, for ``part`` in ``{"validation", "test"}``.

The evaluator (``leporid.eval.evaluate``) masks the non-candidate items and ranks the rest, so a
model need not mask anything itself.

Fold-in (classic models): at validation time a user's input profile is their training items; at
test time it is their training + validation items (``fold_in=True``, the default), so the
ten per cent of history between training and test is used as input just as the sequential
models use it as their state (DESIGN.md §3). Everything a model *learns* (similarities,
weights, embeddings) comes from ``split.train`` alone.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

SCORE_PARTS = ("validation", "test")


@runtime_checkable
class Recommender(Protocol):
    """What the evaluator and the tuner need from a model."""

    def fit(self, split) -> "Recommender":  # pragma: no cover - protocol
        ...

    def score(self, users: np.ndarray, part: str):  # pragma: no cover - protocol
        ...


def check_part(part: str) -> str:
    """``part`` if it is a part a model can be scored on, else a ``ValueError``."""
    if part not in SCORE_PARTS:
        raise ValueError(f"part must be one of {SCORE_PARTS}, got {part!r}")
    return part


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest entries of each row, best first.

    Ties are broken deterministically: among equal scores the lower column index ranks first
    (also across the k-th position). Vectorised: ``argpartition`` on the whole block, then an
    exact fix-up only for the rows whose k-th value is tied with values outside the top k.
    ``scores`` must not contain NaN. Returns an int64 array of shape (rows, min(k, columns)).
    """
    s = np.asarray(scores)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D, got shape {s.shape}")
    b, n = s.shape
    k = int(min(k, n))
    if k <= 0 or b == 0:
        return np.empty((b, max(k, 0)), np.int64)
    if k < n:
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
        kth = np.take_along_axis(s, idx, 1).min(axis=1)
        n_ge = np.count_nonzero(s >= kth[:, None], axis=1)
        tied = np.flatnonzero(n_ge > k)
        if tied.size:
            sb, tb = s[tied], kth[tied, None]
            above = sb > tb
            room = k - np.count_nonzero(above, axis=1)
            eq = sb == tb
            keep = above | (eq & (np.cumsum(eq, axis=1) <= room[:, None]))
            idx[tied] = np.nonzero(keep)[1].reshape(len(tied), k)
    else:
        idx = np.broadcast_to(np.arange(n), (b, n))
    idx = idx.astype(np.int64, copy=False)
    vals = np.take_along_axis(s, idx, 1)
    order = np.lexsort((idx, -vals), axis=1)
    return np.take_along_axis(idx, order, 1)


def topk_sparse_rows(block: np.ndarray, k: int, col_offset: int = 0, n_cols: int | None = None,
                     rows_offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO triplets (rows, cols, values) of the ``k`` largest non-zero entries per row of a block.

    Rows are numbered from ``rows_offset``; columns are those of ``block`` (``col_offset`` is
    added). Zeros are never kept.
    """
    idx = top_k(block, k)
    vals = np.take_along_axis(block, idx, 1)
    rows = np.repeat(np.arange(block.shape[0], dtype=np.int64) + rows_offset, idx.shape[1])
    cols, vals = idx.ravel() + col_offset, vals.ravel()
    nz = vals != 0
    return rows[nz], cols[nz], vals[nz]


class BaseRecommender:
    """Shared plumbing: parameters, the fitted split's matrices, fold-in input profiles."""

    #: names of the constructor arguments (for ``get_params`` and result files)
    _param_names: tuple[str, ...] = ()

    def get_params(self) -> dict:
        return {name: getattr(self, name) for name in self._param_names}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _remember(self, split) -> None:
        """Keep what scoring needs: sizes, the training matrix, and the fold-in matrix."""
        self.n_users_, self.n_items_ = split.n_users, split.n_items
        self.train_ = sp.csr_matrix(split.train, dtype=np.float32)
        self._foldin = None
        if getattr(self, "fold_in", False):
            self._foldin = sp.csr_matrix(split.matrix("train", "validation"), dtype=np.float32)

    def _check_fitted(self) -> None:
        if not hasattr(self, "train_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(split) first")

    def profile(self, users: np.ndarray, part: str) -> sp.csr_matrix:
        """Binary input rows of ``users``: train for validation, train+validation for test
        (when ``fold_in``)."""
        self._check_fitted()
        check_part(part)
        users = np.asarray(users, dtype=np.int64)
        src = self._foldin if (part == "test" and self._foldin is not None) else self.train_
        return src[users]
