"""DotMF: the worked example of docs/add-a-model.md (a model in one file and one record).

score(u, i) = p_u . q_i; each epoch visits every training pair (u, i) once with one sampled
negative j, and a batch's loss is the BPR loss with an L2 penalty on its embedding rows:

    L = mean_b[-log sigmoid(p_u . q_i - p_u . q_j)] + reg * mean_b[|p_u|^2 + |q_i|^2 + |q_j|^2]
"""

from __future__ import annotations

import numpy as np

from leporid.models.base import check_part
from leporid.models.pairwise import PairwiseRecommender, bpr_loss, triple_batches
from leporid.models.registry import Default, ModelRecord


class DotMF(PairwiseRecommender):
    """Dot-product matrix factorisation with the BPR loss, trained by the generic loop."""

    random_std = 0.1                  # the "random" initialiser draws N(0, 0.1^2)

    def __init__(self, reg: float = 1e-4, training=None, **settings):
        self._set_training(training, settings)     # dim, lr, epochs, seed, ... validated
        if not reg >= 0:
            raise ValueError(f"reg must be >= 0, got {reg!r}")
        self.reg = float(reg)

    def _make_network(self):
        return self._embedding_tables()           # user_emb, item_emb; the base seeds them

    def batches(self, rng):
        return triple_batches(self._pairs, self._sampler, rng, self.batch_size, self.device)

    def batch_loss(self, batch):
        u, i, j = batch
        net = self.network_
        pu, qi, qj = net.user_emb(u), net.item_emb(i), net.item_emb(j)
        return bpr_loss((pu * qi).sum(1), (pu * qj).sum(1), (pu, qi, qj), self.reg)

    def score(self, users, part="test"):
        self._check_fitted()
        check_part(part)
        P = self.network_.user_emb.weight.detach().cpu().numpy()
        Q = self.network_.item_emb.weight.detach().cpu().numpy()
        return (P[np.asarray(users, np.int64)] @ Q.T).astype(np.float32, copy=False)


#: its one registry record: the key (written only here) and its training defaults
RECORD = ModelRecord("dotmf", DotMF, training={
    "lr": Default(1e-2, "the example's choice; a real record names the paper or measurement"),
    "batch_size": Default(1024, "the example's choice; a real record names its reason too"),
})
