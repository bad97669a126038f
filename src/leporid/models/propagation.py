"""Shared machinery of the graph embedding models (NGCF, LightGCN, DGCF).

:class:`GraphRecommender` (every graph model, DGCF included) owns the one cache of the final
representations: ``final_embeddings()`` propagates once per set of weights (keyed on the
parameters' version counters, ``graph_ops.propagation_cache_key``), in eval mode without
gradients, and forgets it when the best weights are restored or loaded; a subclass supplies
``_propagate_all() -> (users, items)``.

:class:`PropagationRecommender` (NGCF, LightGCN): a subclass supplies ``__init__`` (its
parameters, plus ``reg``), and
``_make_network`` returning an ``nn.Module`` with ``user_emb`` and ``item_emb`` (the *ego*,
layer-0 embeddings) and a method ``propagate(adj, adj_t=None) -> (users, items)``: the final
representations of every user and item over the normalised adjacency ``adj`` (CSR; ``adj_t``
its transpose, ``None`` when symmetric; multiply with ``leporid.models.graph_ops.spmm``). It may
override ``_adjacency_for_step(adj)`` (e.g. node dropout). This base then gives it

- the epoch of BPR triples (every training pair once, one uniform negative each; the same
  batches as BPR-MF);
- the loss of a batch: the network propagates once over the whole graph, and
  ``bpr_loss(e_u . e_i, e_u . e_j) + reg * mean_b(|e0_u|^2 + |e0_i|^2 + |e0_j|^2)`` with the L2
  penalty on the batch's ego embeddings (as in both papers);
- ``score(users, part) = final_users[users] @ final_items.T`` from the cached final
  representations, so evaluating many user batches does not repeat the propagation;
- the training matrix kept as ``train_indptr_`` / ``train_indices_`` so that a loaded model
  rebuilds its adjacency.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .base import check_part
from .graph_ops import adjacency_tensor, as_csr, propagation_cache_key
from .pairwise import PairwiseRecommender, bpr_loss, triple_batches


class GraphRecommender(PairwiseRecommender):
    """Base of the models scored from representations propagated over the user-item graph:
    the cache of the final representations."""

    def _propagate_all(self):  # pragma: no cover - abstract
        """``(users, items)``: the final representations of every user and item (torch)."""
        raise NotImplementedError

    def _finish(self) -> None:
        self._final = None          # new weights (best restored, or loaded): propagate again

    def final_embeddings(self):
        """``(users, items)`` final representations (torch, no grad, eval mode), cached until
        the weights change."""
        import torch

        net = self.network_
        was_training = net.training
        net.eval()
        try:
            key = propagation_cache_key(net)
            cached = getattr(self, "_final", None)
            if cached is None or cached[0] != key:
                with torch.no_grad():
                    cached = self._final = (key, self._propagate_all())
        finally:
            net.train(was_training)
        return cached[1]


class PropagationRecommender(GraphRecommender):
    """Base of embedding models whose network propagates over the normalised adjacency."""

    def _build(self, data) -> None:
        super()._build(data)
        self._adj = self._final = None
        train = sp.csr_matrix(getattr(data, "train", data))
        self.train_indptr_ = train.indptr.astype(np.int64)
        self.train_indices_ = train.indices.astype(np.int64)

    def adjacency(self):
        """``L = D^{-1/2} A D^{-1/2}`` of the training graph, CSR (built once, on the device)."""
        adj = getattr(self, "_adj", None)
        if adj is None or str(adj.device) != str(self.device_of_network()):
            train = sp.csr_matrix((np.ones(len(self.train_indices_)), self.train_indices_,
                                   self.train_indptr_), shape=(self.n_users_, self.n_items_))
            adj = self._adj = as_csr(adjacency_tensor(train, self.device_of_network()))
        return adj

    def _propagate_all(self):
        return self.network_.propagate(self.adjacency())

    def device_of_network(self):
        return next(self.network_.parameters()).device

    def _adjacency_for_step(self, adj):
        """``(adjacency, its transpose or None when symmetric)`` one training step propagates
        over (override for node dropout)."""
        return adj, None

    def batches(self, rng: np.random.Generator) -> list:
        return triple_batches(self._pairs, self._sampler, rng, self.batch_size, self.device)

    def batch_loss(self, batch):
        u, i, j = batch
        net = self.network_
        users, items = net.propagate(*self._adjacency_for_step(self.adjacency()))
        eu = users[u]
        pos, neg = (eu * items[i]).sum(1), (eu * items[j]).sum(1)
        return bpr_loss(pos, neg, (net.user_emb(u), net.item_emb(i), net.item_emb(j)),
                        self.reg)

    def score(self, users: np.ndarray, part: str = "test") -> np.ndarray:
        """``final_users[users] @ final_items.T`` (float32 numpy); no fold-in, so ``part`` only
        selects which items the caller excludes."""
        self._check_fitted()
        check_part(part)
        import torch

        U, V = self.final_embeddings()
        out = U[torch.as_tensor(np.asarray(users, np.int64), device=U.device)] @ V.T
        return out.cpu().numpy().astype(np.float32, copy=False)
