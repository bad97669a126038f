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
- **Seeding.** Three tables come from the initialiser (``init``, seeded where every model's
  tables are, ``leporid.models.embedding.seed_tables`` over ``embedding_tables()``): the user
  table ``P`` from the user array, and **both** item tables -- the input table ``E`` (plus its
  zero padding row) and the output table ``Q`` -- from the same item array (repeated, not
  split), so they start equal and diverge in training; with LEPORID the item-item term then
  starts as the spectral similarity ``Σ_k e_k·e_j``. ``freeze_embeddings`` freezes all three;
  the gates always train. ``embedding_tables()`` returns ``[(P, E), (P, Q)]``. Scale matters for
  this dot-product model: LE/LEPORID's default z-scored columns (std 1) start every score ~100x
  larger than the random init and the BPR loss saturated; on ml-100k they gave test HR@10 0.74
  against 0.81-0.82 for random and 0.81-0.83 for the raw eigenvectors (``init_params={"output":
  "raw"}``), which is the form to use with HGN (``benchmarks/README.md``).
- **Defaults** (measured on ml-100k, validation HR@10, one seed, random init): Adam lr 1e-3,
  batch 256 windows, ``L = 5``, ``T = 3``, up to 100 epochs with patience 5 on validation,
  no cosine schedule, and **no weight decay**: the authors' ``l2 = 1e-3`` costs 13 points of
  validation HR@10 here (0.56 vs 0.70; 1e-4 is within noise of 0). The search space covers it.
  The training values are written in HGN's registry record (``docs/training-defaults.md``).
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
from .embedding import seed_tables
from .neural import SequentialRecommender, suggest_training
from .training import check_number

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
        seed_tables(self.tables(), user_emb, item_emb, freeze_embeddings)

    def tables(self) -> list:
        """``[(P, E), (P, Q)]``: the pairs seeded from the initial user and item arrays."""
        return [(self.user_emb, self.item_emb), (self.user_emb, self.out_emb)]

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

    score_batch = 1024

    def __init__(self, seq_len=5, n_targets=3, pooling="mean", training=None, **settings):
        self._set_training(training, settings)
        self.seq_len = check_number("seq_len", seq_len, 1, integer=True)
        self.n_targets = check_number("n_targets", n_targets, 1, integer=True)
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}; choose from {POOLINGS}")
        self.pooling = pooling

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """lr 1e-4-1e-2 (log), weight decay 0-1e-2, L 2-8, T 1-5, batch 128/256/512."""
        return {**suggest_training(trial, fixed),
                "seq_len": suggest(trial, fixed, "seq_len", "int", 2, 8),
                "n_targets": suggest(trial, fixed, "n_targets", "int", 1, 5),
                "batch_size": suggest(trial, fixed, "batch_size", "categorical",
                                      [128, 256, 512])}

    # -- the training contract -------------------------------------------------------------
    def _make_network(self):
        return HGNNetwork(self.n_users_, self.n_items_, self.dim, self.seq_len, self.pooling)

    def embedding_tables(self) -> list:
        return self.network_.tables()

    def _windows_of(self, indptr, items):
        """``L`` items followed by ``T`` targets (``data.sequences.target_windows``)."""
        from ..data.sequences import target_windows

        return target_windows(indptr, items, self.seq_len, self.n_targets, self.n_items_)

    def batch_loss(self, batch) -> torch.Tensor:
        """Mean BPR loss over the real (non-padding) targets of the batch."""
        users, states, targets, negs = batch
        net = self.network_
        z = net.query(users, states)[:, None, :]                      # (B, 1, d)
        real = targets != self.n_items_
        pos = (z * net.out_emb(torch.where(real, targets, 0))).sum(-1)
        neg = (z * net.out_emb(negs)).sum(-1)
        return -F.logsigmoid(pos - neg)[real].mean()

    # -- scoring: r(u, j) = z . q_j for every item --------------------------------------------
    def _score_batch(self, users, states, context):
        return self.network_.query(users, states) @ self.network_.out_emb.weight.T
