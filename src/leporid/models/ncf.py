"""NCF as NeuMF (He et al., WWW 2017), in PyTorch, on the generic training loop.

Two towers over separate embedding tables, fused by one linear layer into a logit::

    GMF:  phi_G = p_u^G * q_i^G                                   (element-wise, dim)
    MLP:  phi_M = a_K(... a_1(W_1 [p_u^M ; q_i^M] + b_1) ...)      (ReLU; 2 dim -> mlp_layers)
    y(u, i) = h^T [phi_G ; phi_M] + b                              (the logit)

``mlp_layers`` are the sizes after the concatenation: the default ``(64, 32)`` with ``dim = 64``
is the 128-64-32 tower (``--param mlp_layers=64,32`` on the command line). Pointwise log
loss: every training pair ``(u, i)`` once per epoch in random order, labelled 1, each with
``n_neg`` (default 4) items ``j`` drawn uniformly from those ``u`` has not trained on,
labelled 0; a batch of ``batch_size`` positives and their negatives
has the loss

    L = mean over its (1 + n_neg) batch_size rows of BCE(sigmoid(y(u, i)), label)

Adam, no cosine schedule by default; ``score(u, i) = y(u, i)`` (the logit; the sigmoid does not
change the ranking), for all items in chunks of at most ``max_pairs`` (user, item) pairs so
memory stays bounded, with the first MLP layer split as ``W_1 [p ; q] = W_1u p + W_1i q``.

Decisions: both towers are seeded from the one initialiser -- the GMF tables *and* the MLP
tables receive the same initial arrays (``dim`` columns each), so a LEPORID initialisation
reaches both towers (``embedding_tables()`` returns both pairs); ``freeze_embeddings`` freezes
all four. The default ``"random"`` initialiser draws ``N(0, 0.01^2)`` as in the authors' code.
The paper's optional pre-training of GMF and MLP separately is not done (it initialises from
those models' own embeddings, which would bypass the initialiser under study); the towers are
trained jointly from the start.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .base import check_part, suggest
from .neural import suggest_training
from .pairwise import PairwiseRecommender, batched, shuffled_triples
from .training import check_number


class NeuMFNet(nn.Module):
    """The GMF and MLP towers and the fusing layer."""

    def __init__(self, n_users: int, n_items: int, dim: int, mlp_layers: tuple[int, ...]):
        super().__init__()
        self.user_gmf = nn.Embedding(n_users, dim)
        self.item_gmf = nn.Embedding(n_items, dim)
        self.user_mlp = nn.Embedding(n_users, dim)
        self.item_mlp = nn.Embedding(n_items, dim)
        sizes = [2 * dim, *mlp_layers]
        self.mlp = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.out = nn.Linear(dim + sizes[-1], 1)
        self.dim = dim

    def forward(self, u, i):
        """Logits ``y(u_b, i_b)`` for index tensors ``u``, ``i`` of equal shape."""
        g = self.user_gmf(u) * self.item_gmf(i)
        h = torch.cat([self.user_mlp(u), self.item_mlp(i)], dim=-1)
        for lin in self.mlp:
            h = F.relu(lin(h))
        return self.out(torch.cat([g, h], dim=-1)).squeeze(-1)

    def score_all(self, u, max_pairs: int = 1 << 16):
        """Logits of users ``u`` (B,) against every item: (B, n_items), computed in chunks of
        at most ``max_pairs`` pairs (the first MLP layer split into a user and an item part)."""
        d, h_w, b = self.dim, self.out.weight[0], self.out.bias
        Qg = self.item_gmf.weight * h_w[:d]                  # GMF: p . (q * h_G)
        gmf = self.user_gmf(u) @ Qg.T + b
        first = self.mlp[0]
        a = self.user_mlp(u) @ first.weight[:, :d].T + first.bias          # (B, H1)
        c = self.item_mlp.weight @ first.weight[:, d:].T                   # (M, H1)
        n_items = c.shape[0]
        out = torch.empty(len(u), n_items, dtype=a.dtype, device=a.device)
        rows = max(1, max_pairs // max(n_items, 1))
        for s in range(0, len(u), rows):
            x = F.relu(a[s:s + rows, None, :] + c[None, :, :])
            for lin in self.mlp[1:]:
                x = F.relu(lin(x))
            out[s:s + rows] = gmf[s:s + rows] + x @ h_w[d:]
        return out


class NeuMF(PairwiseRecommender):
    """Neural matrix factorisation: GMF + MLP towers, pointwise log loss, sampled negatives."""

    def __init__(self, mlp_layers=(64, 32), n_neg: int = 4, training=None, **settings):
        self._set_training(training, settings)
        if isinstance(mlp_layers, int):
            mlp_layers = [mlp_layers]
        elif isinstance(mlp_layers, str):        # "64,32" or "64-32" from --param
            try:
                mlp_layers = [int(x) for x in mlp_layers.replace("-", ",").split(",")]
            except ValueError:
                pass
        try:
            self.mlp_layers = [check_number("mlp_layers", x, 1, integer=True)
                               for x in mlp_layers]
        except (TypeError, ValueError):
            self.mlp_layers = []
        if not self.mlp_layers or isinstance(mlp_layers, str):
            raise ValueError("mlp_layers must be a non-empty list of integers >= 1, got "
                             f"{mlp_layers!r}")
        self.n_neg = check_number("n_neg", n_neg, 1, integer=True)

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """lr 1e-4-1e-2 (log), weight decay 0-1e-2, n_neg 1-8, MLP depth 1-3 (layers of dim,
        dim/2, dim/4 after the 2 dim concatenation: 64, 64-32, 64-32-16 for dim 64)."""
        p = suggest_training(trial, fixed)
        p["n_neg"] = suggest(trial, fixed, "n_neg", "int", 1, 8)
        if "mlp_layers" in fixed:
            p["mlp_layers"] = fixed.pop("mlp_layers")
        else:
            depth = trial.suggest_int("mlp_depth", 1, 3)
            dim = int(fixed.get("dim", 64))
            p["mlp_layers"] = [max(1, dim >> k) for k in range(depth)]
        return p

    def _make_network(self):
        return NeuMFNet(self.n_users_, self.n_items_, self.dim, tuple(self.mlp_layers))

    def embedding_tables(self) -> list:
        net = self.network_
        return [(net.user_gmf, net.item_gmf), (net.user_mlp, net.item_mlp)]

    def batches(self, rng: np.random.Generator) -> list:
        """``(u, i, j)`` with ``j`` of shape (B, n_neg): every training pair once, shuffled."""
        return batched(shuffled_triples(self._pairs, self._sampler, rng, self.n_neg),
                       self.batch_size, self.device)

    def batch_loss(self, batch):
        u, i, j = batch
        net = self.network_
        pos = net(u, i)                                       # (B,)
        neg = net(u[:, None].expand_as(j), j)                 # (B, n_neg)
        logits = torch.cat([pos, neg.reshape(-1)])
        labels = torch.cat([torch.ones_like(pos), torch.zeros(neg.numel(), device=pos.device)])
        return F.binary_cross_entropy_with_logits(logits, labels)

    def score(self, users: np.ndarray, part: str = "test") -> np.ndarray:
        """Logits of ``users`` against every item (float32 numpy), from the current weights."""
        self._check_fitted()
        check_part(part)
        net = self.network_
        u = torch.as_tensor(np.asarray(users, np.int64), device=next(net.parameters()).device)
        with torch.no_grad():
            s = net.score_all(u)
        return s.cpu().numpy().astype(np.float32, copy=False)
