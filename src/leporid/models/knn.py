"""ItemKNN and UserKNN collaborative filtering in the style of Dacrema et al. (RecSys 2019).

Similarity between two entity vectors a (the *target*) and b (a candidate *neighbour*), with
``a.b`` their dot product, ``|a|^2`` their squared norms (set sizes on binary data) and ``h`` the
shrink term:

- cosine      ``a.b / (|a| |b| + h)``  (``normalize=False``: the raw dot product ``a.b``)
- asymmetric  ``a.b / (|a|^(2 alpha) |b|^(2 (1 - alpha)) + h)``  (Aiolli 2013; alpha = 0.5 is
  cosine)
- jaccard     ``a.b / (|a|^2 + |b|^2 - a.b + h)``                (binary data)
- dice        ``a.b / (|a|^2 + |b|^2 + h)``                      (binary data; Dacrema et al.'s
  form, half the textbook Dice coefficient — the same ranking when h = 0)
- tversky     ``a.b / (a.b + ta |a \\ b| + tb |b \\ a| + h)``     (binary data)

A zero denominator gives similarity 0; an entity is never its own neighbour. Only the ``topk``
most similar neighbours of each target are kept (ties: lower index), zeros are never stored.
Similarities are computed block by block of targets, so memory is O(block * n), never a dense
n x n matrix.

Feature weighting (applied to the binary matrix before cosine/asymmetric similarities and, for
every similarity, to the input profile at scoring time): the compared entities are the
*documents* and the other side the *terms*. ``TF-IDF``: ``w = idf_t``; ``BM25``
(k1 = 1.2, b = 0.75): ``w = (k1 + 1) / (k1 ((1 - b) + b len_d / avg_len) + 1) idf_t``, with
``idf_t = log(n_docs / (1 + df_t))``, all counted on the training matrix. (Dacrema et al.'s
UserKNN weights with items as documents too; we weight users as documents for UserKNN.)

Scoring (fold-in, see ``models.base``): ItemKNN ``s_u = p_u W`` with ``W[i, j] = sim(j, i)`` for
``i`` among the top-k of target ``j``; UserKNN ``s_u = sum_{v in topk(u)} sim(u, v) x_v``, the
similarity of u's (fold-in) profile to every *other* user's training profile computed at scoring
time.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..data.validation import check_bool, check_choice, check_matrix, check_number
from .base import BaseRecommender, suggest, topk_sparse_rows

SIMILARITIES = ("cosine", "jaccard", "asymmetric", "dice", "tversky")
SET_SIMILARITIES = ("jaccard", "dice", "tversky")
WEIGHTINGS = ("none", "BM25", "TF-IDF")
BM25_K1, BM25_B = 1.2, 0.75


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.float32)
    np.divide(num, den, out=out, where=den != 0)
    return out


def similarity_block(dot: np.ndarray, sq_target: np.ndarray, sq_other: np.ndarray,
                     similarity: str = "cosine", shrink: float = 0.0, normalize: bool = True,
                     asymmetric_alpha: float = 0.5, tversky_alpha: float = 1.0,
                     tversky_beta: float = 1.0) -> np.ndarray:
    """Similarities (b x n) of b targets to n entities from their dot products and squared norms.

    See the module docstring for the formulas.
    """
    dot = np.asarray(dot, dtype=np.float32)
    a = np.asarray(sq_target, dtype=np.float32)[:, None]
    b = np.asarray(sq_other, dtype=np.float32)[None, :]
    if similarity == "cosine":
        if not normalize:
            return dot.copy()
        den = np.sqrt(a) * np.sqrt(b) + shrink
    elif similarity == "asymmetric":
        pa = np.power(a, asymmetric_alpha, out=np.zeros_like(a), where=a > 0)
        pb = np.power(b, 1.0 - asymmetric_alpha, out=np.zeros_like(b), where=b > 0)
        den = pa * pb + shrink                    # an empty vector has dot 0: similarity 0
    elif similarity == "jaccard":
        den = a + b - dot + shrink
    elif similarity == "dice":
        den = a + b + shrink
    elif similarity == "tversky":
        den = dot + tversky_alpha * (a - dot) + tversky_beta * (b - dot) + shrink
    else:
        raise ValueError(f"unknown similarity {similarity!r}; choose from {SIMILARITIES}")
    return _safe_div(dot, den)


def similarity_matrix(X: sp.spmatrix, topk: int = 100, block_size: int = 512,
                      **sim_args) -> sp.csr_matrix:
    """Top-k similarity between the rows of ``X`` (n x f) as an n x n CSR matrix.

    Row t holds the ``topk`` most similar *other* rows of X to row t (its neighbours), computed
    block by block of rows. ``sim_args`` go to ``similarity_block``.
    """
    X = check_matrix(X, binary=False)
    topk = check_number(topk, "topk", low=1, integer=True)
    block_size = check_number(block_size, "block_size", low=1, integer=True)
    n = X.shape[0]
    sq = np.asarray(X.multiply(X).sum(axis=1), dtype=np.float32).ravel()
    XT = X.T.tocsr()
    rows, cols, vals = [], [], []
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        dot = (X[start:stop] @ XT).toarray()
        block = similarity_block(dot, sq[start:stop], sq, **sim_args)
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0
        r, c, v = topk_sparse_rows(block, topk, rows_offset=start)
        rows.append(r), cols.append(c), vals.append(v)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n, n), dtype=np.float32)


def idf(df: np.ndarray, n_docs: int) -> np.ndarray:
    """``log(n_docs / (1 + df))`` (may be <= 0 for terms in nearly every document)."""
    return np.log(n_docs / (1.0 + np.asarray(df, dtype=np.float64))).astype(np.float32)


def bm25_doc_factor(lengths: np.ndarray, avg_len: float, k1: float = BM25_K1,
                    b: float = BM25_B) -> np.ndarray:
    """BM25 term-frequency factor of a binary entry in a document of the given length."""
    lengths = np.asarray(lengths, dtype=np.float64)
    return ((k1 + 1.0) / (k1 * ((1.0 - b) + b * lengths / max(avg_len, 1e-12)) + 1.0)).astype(
        np.float32)


class _KNNBase(BaseRecommender):

    def __init__(self, topk: int = 100, shrink: float = 0.0, similarity: str = "cosine",
                 normalize: bool = True, feature_weighting: str = "none",
                 asymmetric_alpha: float = 0.5, tversky_alpha: float = 1.0,
                 tversky_beta: float = 1.0, fold_in: bool = True, block_size: int = 512):
        name = type(self).__name__
        check_choice(similarity, "similarity", SIMILARITIES, name)
        check_choice(feature_weighting, "feature_weighting", WEIGHTINGS, name)
        self.topk = check_number(topk, "topk", low=1, integer=True, owner=name)
        self.shrink = check_number(shrink, "shrink", low=0, owner=name)
        self.similarity = similarity
        self.asymmetric_alpha = check_number(asymmetric_alpha, "asymmetric_alpha", low=0,
                                             owner=name)
        self.tversky_alpha = check_number(tversky_alpha, "tversky_alpha", low=0, owner=name)
        self.tversky_beta = check_number(tversky_beta, "tversky_beta", low=0, owner=name)
        self.block_size = check_number(block_size, "block_size", low=1, integer=True, owner=name)
        self.normalize = check_bool(normalize, "normalize", name)
        self.feature_weighting = feature_weighting
        self.fold_in = check_bool(fold_in, "fold_in", name)

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """Dacrema et al.: similarity, topk 5-1000, shrink 0-1000, feature weighting (cosine
        and asymmetric only), the asymmetric / Tversky alphas."""
        sim = suggest(trial, fixed, "similarity", "categorical", list(SIMILARITIES))
        p = {"similarity": sim,
             "topk": suggest(trial, fixed, "topk", "int", 5, 1000),
             "shrink": suggest(trial, fixed, "shrink", "int", 0, 1000)}
        if sim == "cosine":
            p["normalize"] = suggest(trial, fixed, "normalize", "categorical", [True, False])
        if sim == "asymmetric":
            p["asymmetric_alpha"] = suggest(trial, fixed, "asymmetric_alpha", "float", 0.0, 2.0)
        if sim == "tversky":
            p["tversky_alpha"] = suggest(trial, fixed, "tversky_alpha", "float", 0.0, 2.0)
            p["tversky_beta"] = suggest(trial, fixed, "tversky_beta", "float", 0.0, 2.0)
        if sim in ("cosine", "asymmetric"):
            p["feature_weighting"] = suggest(trial, fixed, "feature_weighting", "categorical",
                                             ["none", "BM25", "TF-IDF"])
        return p

    def _sim_args(self) -> dict:
        return dict(similarity=self.similarity, shrink=self.shrink, normalize=self.normalize,
                    asymmetric_alpha=self.asymmetric_alpha, tversky_alpha=self.tversky_alpha,
                    tversky_beta=self.tversky_beta)

    def _weights(self, doc_lengths: np.ndarray, doc_lengths_train: np.ndarray,
                 term_df: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(document factor, term factor): the weight of a binary entry is their product."""
        n_docs = len(doc_lengths_train)
        if self.feature_weighting == "none":
            return (np.ones(len(doc_lengths), np.float32), np.ones(len(term_df), np.float32))
        term = idf(term_df, n_docs)
        if self.feature_weighting == "TF-IDF":
            return np.ones(len(doc_lengths), np.float32), term
        return bm25_doc_factor(doc_lengths, float(np.mean(doc_lengths_train))), term

    def _sim_input(self, weighted: sp.csr_matrix, binary: sp.csr_matrix) -> sp.csr_matrix:
        return binary if self.similarity in SET_SIMILARITIES else weighted


class ItemKNN(_KNNBase):
    """Item-based KNN: ``score(u, j) = sum_{i in profile(u)} w_ui sim(j, i) [i in topk(j)]``."""

    def fit(self, split) -> ItemKNN:
        self._remember(split)
        X = self.train_
        item_len = np.diff(X.tocsc().indptr)           # documents = items
        user_df = np.diff(X.indptr)                     # terms = users
        self.item_factor_, self.user_factor_ = self._weights(item_len, item_len, user_df)
        Xw = sp.diags(self.user_factor_) @ X @ sp.diags(self.item_factor_)
        S = similarity_matrix(self._sim_input(sp.csr_matrix(Xw), X).T, topk=self.topk,
                              block_size=self.block_size, **self._sim_args())
        self.similarity_ = S                            # S[j, i] = sim(target j, neighbour i)
        self.W_ = S.T.tocsr()                           # scores = profile @ W_
        return self

    def score(self, users: np.ndarray, part: str = "test") -> np.ndarray:
        users = np.asarray(users, dtype=np.int64)
        P = self.profile(users, part)
        P = sp.diags(self.user_factor_[users]) @ P @ sp.diags(self.item_factor_)
        return np.asarray((P @ self.W_).toarray(), dtype=np.float32)


class UserKNN(_KNNBase):
    """User-based KNN: ``score(u, i) = sum_{v in topk(u), v != u} sim(u, v) w_vi``."""

    def fit(self, split) -> UserKNN:
        self._remember(split)
        X = self.train_
        self._user_len = np.diff(X.indptr)             # documents = users
        self._item_df = np.diff(X.tocsc().indptr)      # terms = items
        doc, self.item_factor_ = self._weights(self._user_len, self._user_len, self._item_df)
        self.Xw_ = sp.csr_matrix(sp.diags(doc) @ X @ sp.diags(self.item_factor_))
        neigh = self._sim_input(self.Xw_, X)
        self._neighT = neigh.T.tocsr()
        self._neigh_sq = np.asarray(neigh.multiply(neigh).sum(axis=1), np.float32).ravel()
        return self

    def neighbours(self, users: np.ndarray, part: str = "test") -> sp.csr_matrix:
        """Top-k similarity rows (len(users) x n_users) of ``users``' input profiles."""
        users = np.asarray(users, dtype=np.int64)
        P = self.profile(users, part)
        doc, _ = self._weights(np.diff(P.indptr), self._user_len, self._item_df)
        if self.similarity not in SET_SIMILARITIES:
            P = sp.csr_matrix(sp.diags(doc) @ P @ sp.diags(self.item_factor_))
        sq = np.asarray(P.multiply(P).sum(axis=1), np.float32).ravel()
        block = similarity_block((P @ self._neighT).toarray(), sq, self._neigh_sq,
                                 **self._sim_args())
        block[np.arange(len(users)), users] = 0.0      # never your own neighbour
        r, c, v = topk_sparse_rows(block, self.topk)
        return sp.csr_matrix((v, (r, c)), shape=(len(users), self.n_users_), dtype=np.float32)

    def score(self, users: np.ndarray, part: str = "test") -> np.ndarray:
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64)
        out = np.empty((len(users), self.n_items_), np.float32)
        for start in range(0, len(users), self.block_size):
            sl = slice(start, start + self.block_size)
            out[sl] = (self.neighbours(users[sl], part) @ self.Xw_).toarray()
        return out
