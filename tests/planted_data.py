"""A tiny synthetic data set with planted structure, for "the model learns" tests.

``groups`` clusters of users and items; every user interacts with ``per_user`` random items of
its own cluster (random time order), all items equally popular. A model that learns the
clusters ranks the held-out items (own cluster) first; TopPop cannot tell the clusters apart.
"""

import numpy as np

from leporid.data import prepare
from leporid.data.interactions import Interactions
from leporid.eval import evaluate
from leporid.models import TopPop


def planted_split(groups=4, users_per_group=20, items_per_group=15, per_user=10, seed=0):
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(groups * users_per_group):
        g = u // users_per_group
        chosen = rng.choice(items_per_group, per_user, replace=False) + g * items_per_group
        users += [u] * per_user
        items += chosen.tolist()
    ts = rng.permutation(len(users)).astype(float)
    inter = Interactions.from_raw(np.array(users), np.array(items), ts, name="planted")
    return prepare(inter, min_count=2)


def hr10(model, split):
    return evaluate(model, split, "test")["all"]["HR@10"]


def toppop_hr10(split):
    return hr10(TopPop().fit(split), split)
