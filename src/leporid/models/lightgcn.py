"""LightGCN (He et al., SIGIR 2020) in PyTorch, on the generic training loop.

With ``L = D^{-1/2} A D^{-1/2}`` the symmetric-normalised user-item adjacency
(``leporid.models.graph_ops``; users first, then items) and ``E^(0) = [P; Q]`` the ego
embeddings (the only parameters)::

    E^(l+1) = L E^(l)                      l = 0 .. K-1   (no weights, no nonlinearity)
    E       = (E^(0) + E^(1) + ... + E^(K)) / (K + 1)    (layer combination, alpha_k = 1/(K+1))
    score(u, i) = e_u . e_i

Loss of a batch of triples ``(u, i, j)`` (``j`` a uniform negative ``u`` has not trained on)::

    L = mean_b[-log sigmoid(e_u . e_i - e_u . e_j)] + reg * mean_b[|e0_u|^2 + |e0_i|^2 + |e0_j|^2]

with the L2 penalty on the ego embeddings of the batch, as in the paper (eq. 15). Adam, no
cosine schedule by default. Decisions: initial embeddings come from ``init`` (default
``"random"``, ``N(0, 0.1^2)`` like the authors' code) into the one ego table per side; the
propagation runs on the whole graph at every step and once per set of weights when scoring
(``leporid.models.propagation``). K = 0 is matrix factorisation with BPR.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .base import suggest
from .graph_ops import spmm
from .neural import suggest_training
from .propagation import PropagationRecommender
from .training import check_number


def light_propagate(adj, ego, layers: int):
    """``mean(E^(0), L E^(0), ..., L^K E^(0))`` for ``ego = E^(0)`` (torch, differentiable;
    ``adj`` symmetric)."""
    out, e = ego, ego
    for _ in range(layers):
        e = spmm(adj, e)
        out = out + e
    return out / (layers + 1)


class LightGCNNet(nn.Module):
    """The ego tables and the parameter-free propagation."""

    def __init__(self, n_users: int, n_items: int, dim: int, layers: int):
        super().__init__()
        self.layers = layers
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items, dim)

    def propagate(self, adj, adj_t=None):
        """Final ``(users, items)`` representations over the symmetric ``adj``."""
        if adj_t is not None:
            raise ValueError("LightGCN propagates over the symmetric L only")
        ego = torch.cat([self.user_emb.weight, self.item_emb.weight])
        out = light_propagate(adj, ego, self.layers)
        return out[:self.user_emb.num_embeddings], out[self.user_emb.num_embeddings:]


class LightGCN(PropagationRecommender):
    """Linear propagation over the user-item graph, mean of the layers, BPR loss."""

    random_std = 0.1

    def __init__(self, layers: int = 3, reg: float = 1e-4, training=None, **settings):
        self._set_training(training, settings)
        self.layers = check_number("layers", layers, 0, integer=True)
        self.reg = check_number("reg", reg, 0.0)

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """lr 1e-4-1e-2 (log), weight decay 0-1e-2, layers 1-4, reg 1e-6-1e-2 (log)."""
        return {**suggest_training(trial, fixed),
                "layers": suggest(trial, fixed, "layers", "int", 1, 4),
                "reg": suggest(trial, fixed, "reg", "float", 1e-6, 1e-2, log=True)}

    def _make_network(self):
        return LightGCNNet(self.n_users_, self.n_items_, self.dim, self.layers)
