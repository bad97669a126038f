"""Synthetic implicit-feedback data with power-law popularity (benchmarks and tests)."""

from __future__ import annotations

import numpy as np

from .interactions import Interactions


def power_law_interactions(n_users: int, n_items: int, n_interactions: int, *,
                           item_exponent: float = 0.9, user_sigma: float = 1.0,
                           min_per_user: int = 20, seed: int = 123,
                           name: str = "synthetic") -> Interactions:
    """About ``n_interactions`` distinct (user, item) events with timestamps.

    Item popularity follows a Zipf law ``p_i ∝ (i + 1)^-item_exponent`` (items shuffled);
    user activity is log-normal with at least ``min_per_user`` items each.
    """
    rng = np.random.default_rng(seed)
    act = rng.lognormal(0.0, user_sigma, n_users)
    per_user = np.maximum(min_per_user, np.round(act / act.sum() * n_interactions)).astype(np.int64)
    per_user = np.minimum(per_user, n_items // 2)
    pop = (np.arange(n_items) + 1.0) ** -item_exponent
    cdf = np.cumsum(pop[rng.permutation(n_items)])
    cdf /= cdf[-1]
    users = np.empty(0, np.int64)
    items = np.empty(0, np.int64)
    need = per_user.copy()
    for _ in range(20):  # redraw for users whose draws collided until every quota is met
        draw = np.repeat(np.arange(n_users), np.ceil(need * 1.3).astype(np.int64) + 2)
        cand = np.searchsorted(cdf, rng.random(len(draw)), side="right").clip(0, n_items - 1)
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
    return Interactions.from_raw(users, items, ts, name=name)
