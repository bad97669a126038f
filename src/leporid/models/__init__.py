"""Recommendation models: classic baselines here, neural models in their own modules.

``MODELS`` maps a name to a factory ``(**params) -> model``; it is a plain dict so that other
modules can register their models (``MODELS["dlr2"] = DLR2``). ``make_model(name, **params)``
builds one. Torch-based models are imported only when first used.
"""

from __future__ import annotations

from typing import Callable

from .base import BaseRecommender, Recommender, top_k
from .knn import ItemKNN, UserKNN, similarity_matrix
from .slim import SLIM
from .toppop import TopPop


def _bprmf(**params):
    from .bpr import BPRMF

    return BPRMF(**params)


def _dlr2(**params):
    from .dlr2 import DLR2

    return DLR2(**params)


MODELS: dict[str, Callable[..., Recommender]] = {
    "toppop": TopPop,
    "itemknn": ItemKNN,
    "userknn": UserKNN,
    "slim": SLIM,
    "bpr": _bprmf,
    "dlr2": _dlr2,
}


def make_model(name: str, **params) -> Recommender:
    """A new, unfitted model ``name`` built with ``params`` (``KeyError`` naming the choices)."""
    try:
        factory = MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; choose from {sorted(MODELS)}") from None
    return factory(**params)


def __getattr__(name: str):
    if name == "BPRMF":
        from .bpr import BPRMF

        return BPRMF
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BPRMF", "BaseRecommender", "ItemKNN", "MODELS", "Recommender", "SLIM", "TopPop",
           "UserKNN", "make_model", "similarity_matrix", "top_k"]
