"""Training: the generic loop every neural model trains through, and hyperparameter search.

``leporid.train.loop.train(model, split)`` (what ``model.fit(split)`` runs) trains any neural
model of ``leporid.models`` with model selection on validation; ``leporid.train.tuning`` searches
hyperparameters on validation. Sequence windows and the negative sampler live below models, in
``leporid.data.sequences``.
"""

from .loop import format_entry, train

__all__ = ["format_entry", "train"]
