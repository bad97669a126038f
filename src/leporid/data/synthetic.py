"""Synthetic implicit-feedback data with power-law popularity (benchmarks and tests)."""

from __future__ import annotations

import numpy as np

from .. import DEFAULT_SEED
from .interactions import Interactions


def power_law_interactions(n_users: int, n_items: int, n_interactions: int, *,
                           item_exponent: float = 0.9, user_sigma: float = 1.0,
                           min_per_user: int = 20, communities: int = 0,
                           affinity: float = 0.0, seed: int = DEFAULT_SEED,
                           name: str = "synthetic") -> Interactions:
    """About ``n_interactions`` distinct (user, item) events with timestamps.

    Item popularity follows a Zipf law ``p_i ∝ (i + 1)^-item_exponent`` (items shuffled);
    user activity is log-normal with at least ``min_per_user`` items each.

    Taste structure (off by default: then a user's neighbours are barely more similar than
    any other user): with ``communities = C > 0`` each user belongs to one of C communities,
    (Zipf-sized: community c holds a share ∝ 1/(c+1) of the users) each with its own Zipf
    ranking of the items, and draws each item from its community's
    ranking with probability ``affinity``, from the global one otherwise — so users of one
    community share their favourite items, as users of real data share tastes. Each user's
    community is in ``meta["community"]`` (indexed like the users: every user has items).
    """
    if communities < 0 or not 0.0 <= affinity <= 1.0:
        raise ValueError(f"communities must be >= 0 and affinity in [0, 1], got {communities} "
                         f"and {affinity}")
    rng = np.random.default_rng(seed)
    act = rng.lognormal(0.0, user_sigma, n_users)
    per_user = np.maximum(min_per_user, np.round(act / act.sum() * n_interactions)).astype(np.int64)
    per_user = np.minimum(per_user, n_items // 2)
    pop = (np.arange(n_items) + 1.0) ** -item_exponent
    cdf = np.cumsum(pop[rng.permutation(n_items)])
    cdf /= cdf[-1]
    if communities:
        # community c's cdf is stored shifted by c, so one searchsorted serves all of them
        ccdf = np.stack([np.cumsum(pop[rng.permutation(n_items)]) for _ in range(communities)])
        ccdf = (ccdf / ccdf[:, -1:] + np.arange(communities)[:, None]).ravel()
        share = 1.0 / np.arange(1, communities + 1)          # Zipf-sized, like genres
        community = rng.choice(communities, n_users, p=share / share.sum())
    users = np.empty(0, np.int64)
    items = np.empty(0, np.int64)
    need = per_user.copy()
    for _ in range(20):  # redraw for users whose draws collided until every quota is met
        draw = np.repeat(np.arange(n_users), np.ceil(need * 1.3).astype(np.int64) + 2)
        cand = np.searchsorted(cdf, rng.random(len(draw)), side="right").clip(0, n_items - 1)
        if communities:
            own = rng.random(len(draw)) < affinity
            c = community[draw[own]]
            pos = np.searchsorted(ccdf, c + rng.random(len(c)), side="right")
            cand[own] = (pos - c * n_items).clip(0, n_items - 1)
        users, items = np.concatenate([users, draw]), np.concatenate([items, cand])
        key, first = np.unique(users * n_items + items, return_index=True)
        users, items = users[np.sort(first)], items[np.sort(first)]
        have = np.bincount(users, minlength=n_users)
        need = np.maximum(per_user - have, 0)
        if not need.any():
            break
    # keep each user's first per_user distinct items
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    start = np.concatenate([[0], np.cumsum(np.bincount(users, minlength=n_users))[:-1]])
    keep = (np.arange(len(users)) - start[users]) < per_user[users]
    users, items = users[keep], items[keep]
    ts = rng.permutation(len(users)).astype(np.float64)
    meta = {"community": community} if communities else {}
    return Interactions.from_raw(users, items, ts, name=name, meta=meta)
