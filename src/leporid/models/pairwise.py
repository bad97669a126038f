"""The pairwise family's shared parts: training pairs, negative sampling, the BPR loss.

Every model trained on (user, positive item, sampled negative item) triples -- BPR-MF, NCF,
NGCF, LightGCN, DGCF -- builds on this module; it sits below all of them.

- :class:`PairwiseRecommender` keeps the training pairs ``(u, i)`` of ``data`` and a
  ``NegativeSampler`` over the same matrix (``leporid.data.sequences``: a negative ``j`` is
  drawn uniformly from the items ``u`` has not trained on, exactly, vectorised).
- :func:`pair_order_triples`: an epoch where the negatives are drawn in the (user-sorted) pair
  order and then shuffled with their pairs (BPR-MF, NGCF, LightGCN); the same distribution
  as drawing in the shuffled order, and the sampler's binary searches stay cache-friendly
  (3x faster sampling on ml-100k).
- :func:`shuffled_triples`: an epoch where the pairs are shuffled first and the negatives drawn
  in that order, ``n_neg`` per pair (NCF, DGCF).
- :func:`bpr_loss`: ``mean_b[-log sigmoid(pos_b - neg_b)] + reg * mean_b[sum_t |ego_t[b]|^2]``.

The two epoch orders consume the generator differently, so each model keeps the one it was
written with (its seeded results depend on it).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .neural import EmbeddingRecommender


def training_pairs(data):
    """``((users, items), sampler)``: the training pairs of ``data`` (a ``Split`` or a users x
    items sparse matrix) as int64 arrays, and a ``NegativeSampler`` over the same matrix."""
    from ..data.sequences import NegativeSampler

    X = sp.csr_matrix(getattr(data, "train", data))
    coo = X.tocoo()
    return (coo.row.astype(np.int64), coo.col.astype(np.int64)), NegativeSampler(X)


def batched(arrays, batch_size: int, device="cpu", tensors: bool = True) -> list:
    """``arrays`` (equal length) cut into tuples of at most ``batch_size`` rows; torch tensors
    on ``device`` unless ``tensors`` is false."""
    if tensors:
        import torch

        arrays = [torch.as_tensor(a, device=device) for a in arrays]
    n, b = len(arrays[0]), batch_size
    return [tuple(a[s:s + b] for a in arrays) for s in range(0, n, b)]


def pair_order_triples(pairs, sampler, rng: np.random.Generator):
    """One epoch of BPR triples ``(u, i, j)``: every training pair once in random order, with
    one negative ``j`` drawn uniformly from the items ``u`` has not trained on, drawn in the
    (user-sorted) pair order and then shuffled with its pair."""
    users, items = pairs
    perm = rng.permutation(len(users))
    j = sampler.sample(users, rng)[perm]
    return users[perm], items[perm], j


def shuffled_triples(pairs, sampler, rng: np.random.Generator, n_neg: int | None = None):
    """One epoch of ``(u, i, j)``: every training pair once in random order, then negatives
    drawn in that order -- one per pair (``j`` of shape (P,)) or, with ``n_neg``, ``n_neg`` per
    pair (shape (P, n_neg))."""
    users, items = pairs
    perm = rng.permutation(len(users))
    u, i = users[perm], items[perm]
    if n_neg is None:
        return u, i, sampler.sample(u, rng)
    return u, i, sampler.sample(np.repeat(u, n_neg), rng).reshape(len(u), n_neg)


def triple_batches(pairs, sampler, rng: np.random.Generator, batch_size: int,
                   device="cpu", tensors: bool = True) -> list:
    """:func:`pair_order_triples` cut into ``(u, i, j)`` batches of at most ``batch_size``
    rows (int64 tensors on ``device``; numpy arrays when not ``tensors``)."""
    return batched(pair_order_triples(pairs, sampler, rng), batch_size, device, tensors)


def bpr_loss(pos, neg, ego=(), reg: float = 0.0):
    """``mean_b[-log sigmoid(pos_b - neg_b)] + reg * mean_b[sum_t |ego_t[b]|^2]``: the BPR loss
    of scores ``pos``/``neg`` (shape (B,)) with an L2 penalty on the batch's embedding rows
    ``ego`` (each (B, d); the *ego*, i.e. layer-0, embeddings for graph models)."""
    import torch.nn.functional as F

    loss = -F.logsigmoid(pos - neg).mean()
    if reg and ego:
        loss = loss + reg * sum(e.square().sum(1) for e in ego).mean()
    return loss


class PairwiseRecommender(EmbeddingRecommender):
    """An embedding model trained on sampled triples: ``_build`` keeps the training pairs
    (``self._pairs``) and the negative sampler (``self._sampler``) of the data."""

    def _build(self, data) -> None:
        super()._build(data)
        self._pairs, self._sampler = training_pairs(data)
