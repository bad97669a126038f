"""Full-ranking top-N evaluation under the protocol of DESIGN.md §3.

- Users evaluated: those with at least one held-out item in ``part``.
- Candidates: validation -> every item not in the user's train set; test -> every item not in
  the user's train or validation set. No sampled negatives.
- Ranking: the model's scores over all items, non-candidates masked out, top ``max(ks)`` taken
  with ``argpartition`` on a batch of users at a time (memory O(batch_size * n_items)); equal
  scores rank the lower item index first. Infinite scores are clipped to the largest finite
  value of their dtype (so a candidate always outranks a masked item); NaN scores are an error.
  If a user has fewer than ``max(ks)`` candidates the list is padded with -1 (never a hit).
- Tail users (``tail_users``): the ``floor(fraction * n_users)`` users with the fewest training
  interactions, ties broken by the lower user index (the rounding and tie rule of
  ``leporid.data.stats.tail_indices``; unlike Table 2's statistics, users with no training
  interaction count too, as the most extreme tail); tail metrics average over the evaluated
  users among them.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..data.stats import TAIL_FRACTION, tail_indices
from ..data.validation import check_number
from ..models.base import check_part, top_k
from .metrics import aggregate, per_user_metrics


def tail_users(split, fraction: float = TAIL_FRACTION) -> np.ndarray:
    """Sorted indices of the ``floor(fraction * n_users)`` users with the fewest training
    interactions (ties: lower user index first)."""
    return np.sort(tail_indices(np.diff(split.train.indptr), fraction, include_zero=True))


def _to_numpy(scores) -> np.ndarray:
    if hasattr(scores, "detach"):                       # a torch tensor, possibly on a GPU
        scores = scores.detach()
        if str(scores.dtype) != "torch.float64":
            scores = scores.float()
        scores = scores.cpu().numpy()
    scores = np.asarray(scores)
    if not np.issubdtype(scores.dtype, np.floating):
        scores = scores.astype(np.float32)
    return scores


def candidates_excluded(split, part: str) -> sp.csr_matrix:
    """The user x item matrix of non-candidates for ``part`` (train, or train + validation)."""
    check_part(part)
    return split.train if part == "validation" else split.matrix("train", "validation")


def rank_batch(scores: np.ndarray, excluded: sp.csr_matrix, k: int) -> np.ndarray:
    """Top-``k`` candidate items per row of ``scores`` (rows aligned with ``excluded``'s rows)."""
    if np.isnan(scores).any():
        raise ValueError("the model returned NaN scores")
    info = np.finfo(scores.dtype)
    s = np.clip(scores, info.min, info.max)             # a copy: the model's array is untouched
    rows = np.repeat(np.arange(excluded.shape[0]), np.diff(excluded.indptr))
    s[rows, excluded.indices] = -np.inf
    idx = top_k(s, k)
    n_cand = s.shape[1] - np.diff(excluded.indptr)
    idx[np.arange(idx.shape[1])[None, :] >= n_cand[:, None]] = -1
    return idx


#: ``progress=None`` shows a bar (on a terminal only) from this many user x item scores on
PROGRESS_PAIRS = 10_000_000


def evaluate(model, split, part: str = "test", ks=(1, 5, 10), batch_size: int = 1024,
             tail_fraction: float = TAIL_FRACTION, return_topn: bool = False,
             progress: bool | None = None, per_user: bool = False, users=None) -> dict:
    """Evaluate ``model`` (anything with ``score(users, part)``) on ``part`` of ``split``.

    Returns ``{"part", "ks", "all": {metric@k: value, ..., "n_users"}, "tail": {...},
    "users": evaluated user indices, "topn": (n_users_eval x max(ks)) item indices}`` (``topn``
    only when ``return_topn``). Metrics: see ``leporid.eval.metrics``. With ``per_user``, also
    ``"per_user": {metric@k: array}`` (HR, Precision, Recall, F1u, NDCG of each evaluated user,
    aligned with ``"users"``) and ``"in_tail"`` (bool array), for paired tests over users.

    ``users``: evaluate only these users (those of them with held-out items in ``part``); the
    default, every user with held-out items, is what test results always use (model selection
    may pass a subset, see ``leporid.train.loop``). ``progress``: a per-batch bar; ``None``
    (default) shows it when the evaluation scores at least ``PROGRESS_PAIRS`` pairs and stderr
    is a terminal, ``False`` never, ``True`` always.
    """
    from tqdm.auto import tqdm

    check_part(part)
    ks = tuple(int(k) for k in ks)
    if not ks or min(ks) < 1:
        raise ValueError(f"ks must be positive integers, got {ks}")
    batch_size = check_number(batch_size, "batch_size", low=1, integer=True)
    check_number(tail_fraction, "tail_fraction", low=0, high=1)
    kmax = max(ks)
    held = split.validation if part == "validation" else split.test
    excluded = candidates_excluded(split, part)
    n_rel = np.diff(held.indptr)
    users_all = np.flatnonzero(n_rel > 0).astype(np.int64)
    if users is None:
        users = users_all
    else:
        asked = np.asarray(users)
        if asked.size and (asked.dtype.kind not in "iu" or asked.min() < 0
                           or asked.max() >= split.n_users):
            raise ValueError(f"users must be user indices in [0, {split.n_users})")
        users = np.intersect1d(users_all, asked).astype(np.int64)
    disable = (not progress) if progress is not None else (
        None if len(users) * split.n_items >= PROGRESS_PAIRS else True)
    topn = np.empty((len(users), min(kmax, split.n_items)), np.int64)
    for start in tqdm(range(0, len(users), batch_size), desc=f"evaluate {part}", unit="batch",
                      disable=disable, leave=False):
        ub = users[start:start + batch_size]
        scores = _to_numpy(model.score(ub, part))
        if scores.shape != (len(ub), split.n_items):
            raise ValueError(f"{type(model).__name__}.score returned shape {scores.shape}, "
                             f"expected {(len(ub), split.n_items)}")
        topn[start:start + len(ub)] = rank_batch(scores, excluded[ub], kmax)
    hits = _hits(held[users], topn, kmax)
    values = per_user_metrics(hits, n_rel[users], ks)
    in_tail = np.isin(users, tail_users(split, tail_fraction))
    out = {"part": part, "ks": list(ks), "all": aggregate(values, ks),
           "tail": aggregate(values, ks, in_tail), "users": users}
    if return_topn:
        out["topn"] = topn
    if per_user:
        out["per_user"], out["in_tail"] = values, in_tail
    return out


def _hits(held: sp.csr_matrix, topn: np.ndarray, kmax: int) -> np.ndarray:
    """hits[u, r] = item topn[u, r] is held out for u (padding -1 is never a hit)."""
    held = sp.csr_matrix(held)
    held.sort_indices()
    n_items = held.shape[1]
    row_keys = np.repeat(np.arange(held.shape[0], dtype=np.int64), np.diff(held.indptr))
    keys = row_keys * n_items + held.indices
    q = np.arange(len(topn), dtype=np.int64)[:, None] * n_items + np.maximum(topn, 0)
    pos = np.minimum(np.searchsorted(keys, q), max(len(keys) - 1, 0))
    hits = (keys[pos] == q) & (topn >= 0) if len(keys) else np.zeros(topn.shape, bool)
    if hits.shape[1] < kmax:                            # fewer items than kmax
        hits = np.pad(hits, ((0, 0), (0, kmax - hits.shape[1])))
    return hits
