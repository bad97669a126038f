"""Training: the generic loop every neural model trains through, and hyperparameter search.

``leporid.train.loop.train(model, split)`` (what ``model.fit(split)`` runs) trains any neural
model of ``leporid.models`` with model selection on validation, reading its settings from
``model.training`` (a ``TrainingConfig``, defined in ``leporid.models.training`` so that models
can hold it, re-exported here); ``leporid.train.tuning`` searches
hyperparameters on validation. Sequence windows and the negative sampler live below models, in
``leporid.data.sequences``.
"""

from ..models.training import TrainingConfig


def __getattr__(name):  # lazy: `leporid.train.tuning` (classic models) must not import torch
    if name in ("format_entry", "train"):
        from . import loop

        return getattr(loop, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TrainingConfig", "format_entry", "train"]
