"""Top-N metrics from a hit matrix (users x ranks), per user and averaged.

For a user with ``n`` held-out items and ``h_k`` of them among the top k:

- HR@k        = [h_k > 0]
- Precision@k = h_k / k
- Recall@k    = h_k / n
- F1@k        = 2 P R / (P + R) of the *user-averaged* P and R (Dacrema et al.'s convention)
- F1u@k       = the mean over users of each user's 2 P R / (P + R) (0 when h_k = 0)
- NDCG@k      = sum_{r <= k, hit at r} 1 / log2(r + 1)  /  sum_{r <= min(k, n)} 1 / log2(r + 1)
"""

from __future__ import annotations

import numpy as np

METRICS = ("HR", "Precision", "Recall", "F1", "F1u", "NDCG")


def per_user_metrics(hits: np.ndarray, n_relevant: np.ndarray, ks) -> dict[str, np.ndarray]:
    """Per-user HR, Precision, Recall, F1u and NDCG at each k (arrays of length n_users).

    ``hits[u, r]`` says whether the item at rank r + 1 of user u is held out for u;
    ``n_relevant[u] >= 1`` is the number of held-out items of u.
    """
    hits = np.asarray(hits, dtype=bool)
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    if len(hits) and n_rel.min() < 1:
        raise ValueError("every evaluated user needs at least one held-out item")
    kmax = max(ks)
    if hits.shape[1] < kmax:
        raise ValueError(f"hit matrix has {hits.shape[1]} ranks, need {kmax}")
    cum = np.cumsum(hits[:, :kmax], axis=1, dtype=np.float64)
    discount = 1.0 / np.log2(np.arange(2, kmax + 2))
    dcg = np.cumsum(hits[:, :kmax] * discount, axis=1)
    ideal = np.cumsum(discount)
    out = {}
    for k in ks:
        h = cum[:, k - 1]
        p, r = h / k, h / n_rel
        out[f"HR@{k}"] = (h > 0).astype(np.float64)
        out[f"Precision@{k}"] = p
        out[f"Recall@{k}"] = r
        out[f"F1u@{k}"] = np.divide(2 * p * r, p + r, out=np.zeros_like(p), where=(p + r) > 0)
        idcg = ideal[np.minimum(n_rel, k).astype(np.int64) - 1]
        out[f"NDCG@{k}"] = dcg[:, k - 1] / idcg
    return out


def aggregate(per_user: dict[str, np.ndarray], ks, mask: np.ndarray | None = None) -> dict:
    """Means over the users selected by ``mask`` (all when None), plus F1 and ``n_users``."""
    first = next(iter(per_user.values()))
    sel = np.ones(len(first), bool) if mask is None else np.asarray(mask, bool)
    n = int(sel.sum())
    res: dict = {}
    for k in ks:
        mean = {m: float(per_user[f"{m}@{k}"][sel].mean()) if n else float("nan")
                for m in ("HR", "Precision", "Recall", "F1u", "NDCG")}
        p, r = mean["Precision"], mean["Recall"]
        f1 = 2 * p * r / (p + r) if (p + r) > 0 else (0.0 if n else float("nan"))
        res.update({f"HR@{k}": mean["HR"], f"Precision@{k}": p, f"Recall@{k}": r,
                    f"F1@{k}": f1, f"F1u@{k}": mean["F1u"], f"NDCG@{k}": mean["NDCG"]})
    res["n_users"] = n
    return res
