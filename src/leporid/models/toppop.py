"""TopPop: recommend the items with the most training interactions, the same list to everyone.

score(u, i) = |{v : x_vi = 1 in train}|. Ties go to the lower item index (the evaluator's rule).
"""

from __future__ import annotations

import numpy as np

from ..data.validation import check_fit_data
from .base import BaseRecommender, check_part


class TopPop(BaseRecommender):
    """Non-personalised popularity baseline."""


    def fit(self, split) -> TopPop:
        check_fit_data(split, "TopPop", split_only=True)
        self.n_users_, self.n_items_ = split.n_users, split.n_items
        self.train_ = split.train
        self.popularity_ = np.asarray(split.train.sum(axis=0), dtype=np.float32).ravel()
        return self

    def score(self, users: np.ndarray, part: str = "test") -> np.ndarray:
        self._check_fitted()
        check_part(part)
        return np.broadcast_to(self.popularity_, (len(users), self.n_items_)).copy()
