"""HGN: the Hierarchical Gating Network of Ma, Kang and Liu (KDD 2019).

A sequential model: user ``u`` (embedding ``p_u``) with state ``S`` = the last ``L`` items,
oldest first, whose input embeddings form ``E_S`` (L x d).

Feature gating (which latent features of each recent item matter to this user)::

    E_S^F = E_S ⊙ σ(E_S W_g1 + 1 (p_u W_g2)ᵀ + 1 bᵀ)            W_g1, W_g2 ∈ R^{d x d}, b ∈ R^d

Instance gating (which of the recent items matter), one weight per position::

    a = σ(E_S^F w_g3 + (p_u W_g4)ᵀ)                              w_g3 ∈ R^d, W_g4 ∈ R^{d x L}
    s = Σ_k a_k E_S^F[k] / |S|                                   (average pooling, the paper)

Prediction for item ``j`` with a separate output embedding ``q_j``::

    r(u, j) = p_u·q_j + s·q_j + Σ_{k∈S} e_k·q_j = (p_u + s + Σ_{k∈S} e_k)·q_j

so a whole ranking is one ``(p_u + s + Σ e_k) Qᵀ`` product. Training: windows of ``L`` items
followed by ``T`` targets from each user's chronological training sequence
(``leporid.data.sequences.target_windows``), one uniformly sampled negative ``j⁻`` per target
among the items the user has not trained on (``NegativeSampler``), BPR loss averaged over the
real targets of the batch::

    L = mean_{(u, S, j⁺, j⁻)} -log σ(r(u, j⁺) - r(u, j⁻))

with L2 regularisation as Adam's ``weight_decay`` (as the authors' code does it).

Decisions
---------
- **Padding.** States shorter than ``L`` are left-padded with the padding item ``n_items``
  (row ``n_items`` of ``E``). Padded positions are *masked*, not merely zero: their embedding is
  replaced by 0 before any use, their instance weight is set to 0, and the pooling divides by
  the number of real items ``|S|`` -- so the padding row's value can never change a score. A user
  with no history gets ``s = 0`` and the plain ``p_u·q_j`` score. (The authors' code pads with a
  trained item 0 whose embedding enters every gate and sum.)
- **Pooling.** ``pooling="mean"`` (default) is the paper's average pooling over the real items;
  ``pooling="weighted"`` divides by ``Σ_k a_k`` instead, as the authors' code does.
- **Output bias.** The authors' code adds a learned per-item bias to ``r``; the paper's
  equation has none, and neither does this module.
- **Seeding.** Three tables come from the initialiser (``init``, through
  ``leporid.models.embedding.seed_embedding``): the user table ``P`` from the user array, and
  **both** item tables -- the input table ``E`` (plus its zero padding row) and the output table
  ``Q`` -- from the same item array (repeated, not split), so they start equal and diverge in
  training; with LEPORID the item-item term then starts as the spectral similarity
  ``Σ_k e_k·e_j``. ``freeze_embeddings`` freezes all three; the gates always train.
  ``embedding_tables()`` returns ``[(P, E), (P, Q)]``. Scale matters for this dot-product
  model: LE/LEPORID's default z-scored columns (std 1) start every score ~100x larger than
  the random init and the BPR loss saturated; on ml-100k they gave test HR@10 0.74 against
  0.81-0.82 for random and 0.81-0.83 for the raw eigenvectors (``init_params={"output":
  "raw"}``), which is the form to use with HGN (``benchmarks/README.md``).
- **Defaults** (measured on ml-100k, validation HR@10, one seed, random init): Adam lr 1e-3,
  batch 256 windows, ``L = 5``, ``T = 3``, up to 100 epochs with patience 5 on validation,
  no cosine schedule, and **no weight decay**: the authors' ``l2 = 1e-3`` costs 13 points of
  validation HR@10 here (0.56 vs 0.70; 1e-4 is within noise of 0). The search space covers it.
- **States at scoring time** follow DESIGN.md §3 exactly as DLR² does (the framework's
  ``SequentialRecommender``): validation from the last ``L`` training items, test from the last
  ``L`` items before the test period (validation topped up from train).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .base import suggest
from .embedding import seed_embedding
from .neural import SequentialRecommender, _check_number, suggest_training, training_args

POOLINGS = ("mean", "weighted")


class HGNNetwork(nn.Module):
    """Embeddings ``P`` (users), ``E`` (input items, row ``n_items`` = padding), ``Q`` (output
    items) and the two gating layers."""

    def __init__(self, n_users: int, n_items: int, dim: int = 64, seq_len: int = 5,
                 pooling: str = "mean", user_emb: np.ndarray | None = None,
                 item_emb: np.ndarray | None = None, freeze_embeddings: bool = False):
        super().__init__()
        self.n_users, self.n_items, self.dim, self.seq_len = n_users, n_items, dim, seq_len
        self.pooling = pooling
        self.user_emb = nn.Embedding(n_users, dim)
        self.item_emb = nn.Embedding(n_items + 1, dim, padding_idx=n_items)
        self.out_emb = nn.Embedding(n_items, dim)
        self.gate_item = nn.Linear(dim, dim)                 # W_g1 and b
        self.gate_user = nn.Linear(dim, dim, bias=False)     # W_g2
        bound = 1.0 / math.sqrt(dim)
        self.inst_item = nn.Parameter(torch.empty(dim).uniform_(-bound, bound))            # w_g3
        self.inst_user = nn.Parameter(torch.empty(dim, seq_len).uniform_(-bound, bound))   # W_g4
        if user_emb is not None:
            seed_embedding(self.user_emb, user_emb)
            seed_embedding(self.item_emb, item_emb)
            seed_embedding(self.out_emb, item_emb)
        for table in (self.user_emb, self.item_emb, self.out_emb):
            table.weight.requires_grad_(not freeze_embeddings)

    def gates(self, users: torch.Tensor, states: torch.Tensor):
        """``(E_S, mask, feature_gate, instance_weights, s)`` for a batch of states.

        Shapes: ``E_S`` (B, L, d) with padded rows zeroed, ``mask`` (B, L) bool (real items),
        ``feature_gate`` (B, L, d), ``instance_weights`` (B, L) (0 on padding), ``s`` (B, d).
        """
        mask = states != self.n_items
        e = torch.where(mask[..., None], self.item_emb(states), 0.0)
        u = self.user_emb(users)
        gate = torch.sigmoid(self.gate_item(e) + self.gate_user(u)[:, None, :])
        gated = e * gate
        a = torch.sigmoid(gated @ self.inst_item + u @ self.inst_user)
        a = torch.where(mask, a, 0.0)
        pooled = (a[..., None] * gated).sum(1)
        if self.pooling == "mean":
            den = mask.sum(1, keepdim=True).to(pooled.dtype)
        else:
            den = a.sum(1, keepdim=True)
        s = pooled / den.clamp_min(torch.finfo(pooled.dtype).tiny)   # no history -> s = 0
        return e, mask, gate, a, s

    def query(self, users: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """``z = p_u + s + Σ_{k∈S} e_k`` (B, d), so that ``r(u, j) = z·q_j``."""
        e, _, _, _, s = self.gates(users, states)
        return self.user_emb(users) + s + e.sum(1)


class HGN(SequentialRecommender):
    """HGN as a recommender: ``fit(split)``, ``score(users, part)``, ``save``/``load``.

    Parameters: ``seq_len`` (``L``, recent items in a state), ``n_targets`` (``T``, targets
    per training window), ``pooling`` (``"mean"`` or ``"weighted"``), ``batch_size``
    (windows per step), and the shared neural parameters (``leporid.models.neural``).
    Learned state: ``network_``, ``history_``, ``val_states_`` / ``test_states_``.
    """

    name = "hgn"

    def __init__(self, dim=64, seq_len=5, n_targets=3, pooling="mean", init="random",
                 init_params=None, freeze_embeddings=False, lr=1e-3, weight_decay=0.0,
                 batch_size=256, epochs=100, iterations=None, cosine=False, metric="HR@10",
                 evals_per_epoch=1, eval_every=None, patience=5, seed=123, threads=None,
                 device="cpu"):
        self._set_training(**training_args(locals()))
        self.seq_len = _check_number("seq_len", seq_len, 1, integer=True)
        self.n_targets = _check_number("n_targets", n_targets, 1, integer=True)
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose from {POOLINGS}")
        self.pooling = pooling
        self.batch_size = _check_number("batch_size", batch_size, 1, integer=True)

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """lr 1e-4-1e-2 (log), weight decay 0-1e-2, L 2-8, T 1-5, batch 128/256/512."""
        return {**suggest_training(trial, fixed),
                "seq_len": suggest(trial, fixed, "seq_len", "int", 2, 8),
                "n_targets": suggest(trial, fixed, "n_targets", "int", 1, 5),
                "batch_size": suggest(trial, fixed, "batch_size", "categorical",
                                      [128, 256, 512])}

    # -- the training contract -------------------------------------------------------------
    def _make_network(self, user_init, item_init):
        return HGNNetwork(self.n_users_, self.n_items_, self.dim, self.seq_len, self.pooling,
                          user_init, item_init, self.freeze_embeddings)

    def embedding_tables(self) -> list:
        net = self.network_
        return [(net.user_emb, net.item_emb), (net.user_emb, net.out_emb)]

    def _build(self, data) -> None:
        from ..data.sequences import NegativeSampler, target_windows

        super()._build(data)
        indptr, items = data.sequences("train")
        w = target_windows(indptr, items, self.seq_len, self.n_targets, self.n_items_)
        if len(w[0]) == 0:
            raise ValueError("no training windows: every user has fewer than 2 training items")
        self._windows = w
        self._t_windows = tuple(torch.as_tensor(a, device=self.device) for a in w)
        self._sampler = NegativeSampler(data.train)

    def batches(self, rng: np.random.Generator) -> list:
        """Every training window once in random order, one fresh negative per target slot."""
        users = self._windows[0]
        perm = rng.permutation(len(users))
        negs = self._sampler.sample(np.repeat(users[perm], self.n_targets), rng)
        dev = self.device
        perm_t = torch.as_tensor(perm, device=dev)
        neg_t = torch.as_tensor(negs.reshape(len(perm), self.n_targets), device=dev)
        t_users, t_states, t_targets = self._t_windows
        b = self.batch_size
        return [(t_users[idx], t_states[idx], t_targets[idx], neg_t[s:s + b])
                for s in range(0, len(perm), b) for idx in (perm_t[s:s + b],)]

    def batch_loss(self, batch) -> torch.Tensor:
        """Mean BPR loss over the real (non-padding) targets of the batch."""
        users, states, targets, negs = batch
        net = self.network_
        z = net.query(users, states)[:, None, :]                      # (B, 1, d)
        real = targets != self.n_items_
        pos = (z * net.out_emb(torch.where(real, targets, 0))).sum(-1)
        neg = (z * net.out_emb(negs)).sum(-1)
        return -F.logsigmoid(pos - neg)[real].mean()

    # -- scoring -----------------------------------------------------------------------------
    @torch.no_grad()
    def score_states(self, users: np.ndarray, states: np.ndarray,
                     batch: int = 1024) -> torch.Tensor:
        """Scores ``r(u, j)`` of all items for ``users`` with the given ``states`` (padding =
        ``n_items``), float32 (len(users), n_items)."""
        self._check_fitted()
        net = self.network_
        dev = next(net.parameters()).device
        u = torch.as_tensor(np.asarray(users, np.int64), device=dev)
        st = torch.as_tensor(np.asarray(states, np.int64), device=dev)
        if st.shape != (len(u), self.seq_len):
            raise ValueError(f"states must have shape ({len(u)}, {self.seq_len}), "
                             f"got {tuple(st.shape)}")
        q = net.out_emb.weight
        out = torch.empty(len(u), self.n_items_, device=dev)
        for i in range(0, len(u), batch):
            out[i:i + batch] = net.query(u[i:i + batch], st[i:i + batch]) @ q.T
        return out

    def score(self, users: np.ndarray, part: str) -> torch.Tensor:
        """(len(users), n_items) scores of ``part`` ("validation" | "test"); state: DESIGN §3."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        return self.score_states(users, self.states_for(users, part))
