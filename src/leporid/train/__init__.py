"""Training: sequential windows and negative sampling, and the DLR² training loop.

``train_dlr2(split, init="leporid", seed=123, **config) -> (model, history)`` trains DLR² with
model selection on validation; evaluate the result with ``leporid.eval.evaluate(model, split,
"test")``.
"""

from .dlr2_trainer import fit_model, train_dlr2
from ..data.sequences import NegativeSampler, last_items, sliding_windows, user_states

__all__ = ["NegativeSampler", "fit_model", "last_items", "sliding_windows", "train_dlr2",
           "user_states"]
