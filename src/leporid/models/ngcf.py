"""NGCF, Neural Graph Collaborative Filtering (Wang et al., SIGIR 2019), on the generic loop.

With ``L = D^{-1/2} A D^{-1/2}`` the symmetric-normalised user-item adjacency
(``leporid.models.graph_ops``; users first, then items), ``E^(0) = [P; Q]`` the ego embeddings
and per layer ``l`` two weight matrices ``W1^(l), W2^(l)`` (``d_l x d_{l+1}``), the paper's
matrix form (eq. 7)::

    E^(l+1) = LeakyReLU( (L + I) E^(l) W1^(l) + ((L E^(l)) * E^(l)) W2^(l) )

(``*`` element-wise, LeakyReLU slope 0.2), for ``layers`` layers of ``layer_size`` (paper: 3 of
64). The final representation concatenates the layers, ``e = [e^(0) || e^(1) || ... || e^(K)]``,
and ``score(u, i) = e_u . e_i``. Loss of a batch of triples ``(u, i, j)``::

    L = mean_b[-log sigmoid(e_u . e_i - e_u . e_j)] + reg * mean_b[|e0_u|^2 + |e0_i|^2 + |e0_j|^2]

(BPR with the L2 penalty on the batch's ego embeddings, as the authors' code does).

Regularisation during training only (paper Sec. 2.4.2):

- *message dropout* (``message_dropout``): dropout on each layer's output ``E^(l+1)``, which
  then feeds the next layer too;
- *node dropout* (``node_dropout``): at each step every node is blocked with that
  probability -- its outgoing messages, i.e. its column of ``L``, removed, the rest scaled by
  ``1/(1-p)`` (``graph_ops.drop_nodes``); the self-connection ``I`` is kept.

Decisions: no bias terms (the paper's equations; the authors' code adds them); ``normalize``
(default on, as in the authors' code) L2-normalises each propagated layer ``E^(1..K)`` in the
concatenation only (the next layer still receives the unnormalised one) -- the paper does not
say, and without it the deeper layers' scale dominates the dot product; weights get Xavier
uniform initialisation; the ego embeddings come from ``init`` (default ``"random"``,
``N(0, 0.1^2)``), one table per side. Propagation runs on the whole graph at every step, and
once per set of weights when scoring (``leporid.models.propagation``).

Measured (benchmarks/README.md): with the default lr, z-scored spectral embeddings (std 1 per
column) saturate the BPR loss through the unnormalised layer-0 part and NGCF does not train;
``init_params={"output": "raw"}`` (orthonormal vectors) trains normally.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import suggest
from .graph_ops import drop_nodes, spmm
from .neural import suggest_training
from .propagation import PropagationRecommender
from .training import check_number

LEAKY_SLOPE = 0.2


class NGCFNet(nn.Module):
    """Ego tables, the per-layer ``W1``/``W2`` and the propagation (eq. 7)."""

    def __init__(self, n_users: int, n_items: int, dim: int, layer_sizes: list[int],
                 message_dropout: float = 0.0, normalize: bool = True):
        super().__init__()
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items, dim)
        sizes = [dim, *layer_sizes]
        self.W1 = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes, sizes[1:]))
        self.W2 = nn.ModuleList(nn.Linear(a, b, bias=False) for a, b in zip(sizes, sizes[1:]))
        for lin in [*self.W1, *self.W2]:
            nn.init.xavier_uniform_(lin.weight)
        self.dropout = nn.Dropout(message_dropout)
        self.normalize = normalize

    def propagate(self, adj, adj_t=None):
        """Final ``(users, items)``: the concatenated layers over ``adj`` (``L``; ``adj_t`` its
        transpose, ``None`` when symmetric)."""
        e = torch.cat([self.user_emb.weight, self.item_emb.weight])
        parts = [e]
        for w1, w2 in zip(self.W1, self.W2):
            side = spmm(adj, e, adj_t)                           # L E
            e = F.leaky_relu(w1(side + e) + w2(side * e), LEAKY_SLOPE)
            e = self.dropout(e)
            parts.append(F.normalize(e, dim=1) if self.normalize else e)
        out = torch.cat(parts, dim=1)
        n = self.user_emb.num_embeddings
        return out[:n], out[n:]


class NGCF(PropagationRecommender):
    """Embedding propagation with feature transforms and user-item affinity, BPR loss."""

    random_std = 0.1

    def __init__(self, layers: int = 3, layer_size: int = 64, message_dropout: float = 0.1,
                 node_dropout: float = 0.0, normalize: bool = True, reg: float = 1e-5,
                 training=None, **settings):
        self._set_training(training, settings)
        self.layers = check_number("layers", layers, 1, integer=True)
        self.layer_size = check_number("layer_size", layer_size, 1, integer=True)
        for name, rate in (("message_dropout", message_dropout), ("node_dropout", node_dropout)):
            if check_number(name, rate, 0.0, 1.0) == 1.0:
                raise ValueError(f"{name} must be < 1 (1 drops everything), got {rate!r}")
        self.message_dropout, self.node_dropout = float(message_dropout), float(node_dropout)
        self.normalize = bool(normalize)
        self.reg = check_number("reg", reg, 0.0)

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """lr 1e-4-1e-2 (log), weight decay 0-1e-2, layers 1-4, message and node dropout 0-0.5,
        reg 1e-6-1e-2 (log)."""
        return {**suggest_training(trial, fixed),
                "layers": suggest(trial, fixed, "layers", "int", 1, 4),
                "message_dropout": suggest(trial, fixed, "message_dropout", "float", 0.0, 0.5),
                "node_dropout": suggest(trial, fixed, "node_dropout", "float", 0.0, 0.5),
                "reg": suggest(trial, fixed, "reg", "float", 1e-6, 1e-2, log=True)}

    def _make_network(self):
        return NGCFNet(self.n_users_, self.n_items_, self.dim, [self.layer_size] * self.layers,
                       self.message_dropout, self.normalize)

    def _adjacency_for_step(self, adj):
        # drawn from torch's global generator, seeded by the loop's model build: reproducible
        return drop_nodes(adj, self.node_dropout) if self.network_.training else (adj, None)
