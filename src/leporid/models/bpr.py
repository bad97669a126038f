"""BPR-MF (Rendle et al., UAI 2009) on the generic training loop.

score(u, i) = p_u . q_i. Each epoch visits every training pair (u, i) once in random order and
draws, for each, one negative j uniformly from the items u has not trained on (vectorised,
exact: ``leporid.data.sequences.NegativeSampler``). Per-sample objective

    l(u, i, j) = -log sigmoid(p_u . q_i - p_u . q_j) + reg * (|p_u|^2 + |q_i|^2 + |q_j|^2)

Two optimisers (``optimizer``):

- ``"sgd"`` (default): Rendle's plain stochastic gradient descent, one sample at a time in the
  epoch's order, by a serial numba kernel that updates the embedding tables in place (the
  algorithm of ``implicit`` and Cornac; no Hogwild threads, so a seed gives one result on any
  machine). With ``g = sigmoid(-x)``, ``x = p_u . (q_i - q_j)``, the step is
  ``p_u += lr (g (q_i - q_j) - 2 reg p_u)``, ``q_i += lr (g p_u - 2 reg q_i)``,
  ``q_j += lr (-g p_u - 2 reg q_j)`` (all from the values before the step). Why not torch:
  an epoch of ml-100k is ~60k samples of 64 floats, far too little work to amortise torch's
  per-step overhead (a batch of 1024 costs ~2 ms whatever its size); the kernel runs an epoch
  in ~10 ms, about ``implicit``'s time (``benchmarks/bench_bpr.py``). ``batch_size`` only sets
  how often the loop can validate (sequential SGD gives the same result for any chunking);
  ``cosine`` decays ``lr`` per chunk; ``weight_decay`` must be 0 (``reg`` is the L2 term).
- ``"adam"``: mini-batches of ``batch_size`` with the mean of ``l`` over the batch, optimised
  with Adam by the loop (``lr``, ``weight_decay``, optional cosine schedule).

Initial embeddings come from ``init`` (default ``"random"`` with ``init_params={"std": 0.1}``),
like every embedding model. ``fit(split)`` selects the best epoch on validation (``metric``,
``patience``); ``fit(csr_matrix)`` (no validation, e.g. the "bpr" initialiser) trains the
fixed ``epochs``. ``user_embeddings_`` and ``item_embeddings_`` (float32 numpy) hold the
result. No fold-in: test scores use the embeddings learned on train.
"""

from __future__ import annotations

import math

import numpy as np

from .. import DEFAULT_SEED
from .base import check_part, suggest
from .neural import suggest_training
from .pairwise import PairwiseRecommender, bpr_loss, triple_batches

OPTIMIZERS = ("sgd", "adam")


def _sgd_kernel():
    """The compiled per-sample BPR SGD epoch (numba imported on first use)."""
    global _SGD
    if _SGD is None:
        from numba import njit

        # fastmath lets LLVM vectorise the dot product (about 2x); the order of the sum is
        # then fixed per machine (SIMD width), so a seed gives one result on a given machine
        @njit(cache=True, nogil=True, fastmath=True)
        def sgd(P, Q, u, i, j, lr, reg):
            loss = 0.0
            dim = P.shape[1]
            two_reg = np.float32(2.0) * reg
            for n in range(u.shape[0]):
                pu, qi, qj = P[u[n]], Q[i[n]], Q[j[n]]
                x = np.float32(0.0)
                for d in range(dim):
                    x += pu[d] * (qi[d] - qj[d])
                # -log sigmoid(x) = log1p(exp(-x)), computed stably for either sign
                if x > 0:
                    e = math.exp(-x)
                    loss += math.log1p(e)
                    g = np.float32(e / (1.0 + e))
                else:
                    e = math.exp(x)
                    loss += -x + math.log1p(e)
                    g = np.float32(1.0 / (1.0 + e))
                for d in range(dim):
                    a, b, c = pu[d], qi[d], qj[d]
                    pu[d] = a + lr * (g * (b - c) - two_reg * a)
                    qi[d] = b + lr * (g * a - two_reg * b)
                    qj[d] = c + lr * (-g * a - two_reg * c)
            return loss / max(u.shape[0], 1)

        _SGD = sgd
    return _SGD


_SGD = None


class BPRMF(PairwiseRecommender):
    """Matrix factorisation trained with the BPR pairwise loss. Parameters: ``reg``,
    ``optimizer`` and the training settings (``leporid.models.training.TrainingConfig``;
    this model's defaults in ``leporid.models.registry``)."""

    random_std = 0.1

    def __init__(self, reg: float = 1e-3, optimizer: str = "sgd", training=None, **settings):
        self._set_training(training, settings)
        if not (isinstance(reg, (int, float)) and math.isfinite(reg) and reg >= 0):
            raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
        if optimizer == "sgd" and self.weight_decay:
            raise ValueError("weight_decay must be 0 with optimizer='sgd' (reg is its L2 term)")
        self.reg, self.optimizer = float(reg), optimizer

    @property
    def updates_itself(self) -> bool:
        """True with SGD: the loop calls ``manual_step`` instead of backward + Adam."""
        return self.optimizer == "sgd"

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """SGD (default): lr 1e-3-0.3 (log); Adam: lr 1e-4-1e-2 (log) and weight decay 0-1e-2;
        both: dim 8-256 (log), reg 1e-6-1e-1 (log), epochs 10-200."""
        if fixed.get("optimizer", "sgd") == "sgd":
            common = {"lr": suggest(trial, fixed, "lr", "float", 1e-3, 0.3, log=True)}
        else:
            common = suggest_training(trial, fixed)
        return {**common,
                "dim": suggest(trial, fixed, "dim", "int", 8, 256, log=True),
                "reg": suggest(trial, fixed, "reg", "float", 1e-6, 1e-1, log=True),
                "epochs": suggest(trial, fixed, "epochs", "int", 10, 200, step=10)}

    def _make_network(self):
        return self._embedding_tables()

    def batches(self, rng: np.random.Generator) -> list:
        return triple_batches(self._pairs, self._sampler, rng, self.batch_size, self.device,
                              tensors=not self.updates_itself)

    def batch_loss(self, batch):
        u, i, j = batch
        net = self.network_
        pu, qi, qj = net.user_emb(u), net.item_emb(i), net.item_emb(j)
        return bpr_loss((pu * qi).sum(1), (pu * qj).sum(1), (pu, qi, qj), self.reg)

    def manual_step(self, batch, lr: float) -> float:
        """One SGD pass over a chunk of samples, in place on the tables; the mean
        ``-log sigmoid`` of the chunk (before each sample's update)."""
        net = self.network_
        if net.user_emb.weight.device.type != "cpu":
            raise ValueError("optimizer='sgd' runs on the CPU; use optimizer='adam' on "
                             f"{self.device}")
        P = net.user_emb.weight.detach().numpy()
        Q = net.item_emb.weight.detach().numpy()
        return float(_sgd_kernel()(P, Q, *batch, np.float32(lr), np.float32(self.reg)))

    def _finish(self) -> None:
        net = self.network_
        self.user_embeddings_ = net.user_emb.weight.detach().cpu().numpy().astype(np.float32)
        self.item_embeddings_ = net.item_emb.weight.detach().cpu().numpy().astype(np.float32)

    def _fitted_attributes(self) -> dict:   # the embeddings live in the network's weights
        return {k: v for k, v in super()._fitted_attributes().items()
                if k not in ("user_embeddings_", "item_embeddings_")}

    def score(self, users: np.ndarray, part: str = "test") -> np.ndarray:
        """``P[users] @ Q.T`` (float32); during training from the current weights."""
        self._check_fitted()
        check_part(part)
        users = np.asarray(users, dtype=np.int64)
        net = self.network_
        P = net.user_emb.weight.detach().cpu().numpy()
        Q = net.item_emb.weight.detach().cpu().numpy()
        return (P[users] @ Q.T).astype(np.float32, copy=False)


def bpr_initializer(train, dim=64, seed=DEFAULT_SEED, reg=0.1, lr=0.25, epochs=50, batch_size=8192):
    """Embeddings of the project's BPR-MF trained on ``train`` (fixed epochs) — the ``bpr`` scheme.

    Registered lazily in ``leporid.init`` as ``"leporid.models.bpr:bpr_initializer"``, so the
    init layer never imports models. The paper's setting: plain SGD, lr 0.25, reg 0.1 for users
    and items (BPR-MF's per-sample SGD kernel; on ml-100k these embeddings give validation
    HR@10 0.42 as a dot-product scorer, against 0.38 for lr 0.01).
    """
    model = BPRMF(dim=dim, lr=lr, reg=reg, epochs=epochs, batch_size=batch_size,
                  optimizer="sgd", seed=seed).fit(train)
    losses = [e["loss"] for e in model.history_ if "loss" in e]
    return model.user_embeddings_, model.item_embeddings_, {"loss": losses}
