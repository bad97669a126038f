"""Recommendation models: classic baselines here, neural models in their own modules.

``MODELS`` maps a name to a factory ``(**params) -> model``; it is a plain dict so that other
modules can register their models (``MODELS["dlr2"] = DLR2``). ``make_model(name, **params)``
builds one. Torch-based models are imported only when first used.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Callable

from ..data.validation import check_number
from .base import BaseRecommender, Recommender, top_k
from .knn import ItemKNN, UserKNN, similarity_matrix
from .slim import SLIM
from .toppop import TopPop


#: value ranges of BPR-MF's numeric parameters (checked here, before torch is imported)
BPR_RANGES = {"factors": dict(low=1, integer=True), "dim": dict(low=1, integer=True),
              "lr": dict(low=0, low_open=True), "reg": dict(low=0),
              "epochs": dict(low=1, integer=True), "batch_size": dict(low=1, integer=True),
              "init_std": dict(low=0), "seed": dict(low=0, integer=True)}


def _bprmf(**params):
    for name, rule in BPR_RANGES.items():
        if name in params:
            params[name] = check_number(params[name], name, owner="BPRMF", **rule)
    from .bpr import BPRMF

    return BPRMF(**params)


_bprmf.model_class = lambda: importlib.import_module(".bpr", __name__).BPRMF


def _dlr2(**params):
    from .dlr2 import DLR2

    return DLR2(**params)


_dlr2.model_class = lambda: importlib.import_module(".dlr2", __name__).DLR2


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
    # a lazy factory names its class, whose signature lists the parameters
    allowed = _parameters(getattr(factory, "model_class", lambda: factory)())
    unknown = sorted(set(params) - set(allowed)) if allowed is not None else []
    if unknown:
        raise TypeError(f"{name}: unknown parameter(s) {', '.join(unknown)}; "
                        f"allowed: {', '.join(allowed) or '(none)'}")
    return factory(**params)


def _parameters(factory) -> list[str] | None:
    """Keyword parameters ``factory`` accepts (None when it takes ``**kwargs``)."""
    try:
        sig = inspect.signature(factory)
    except (TypeError, ValueError):
        return None
    if any(q.kind is q.VAR_KEYWORD for q in sig.parameters.values()):
        return None
    return [q.name for q in sig.parameters.values() if q.name != "self"]


def __getattr__(name: str):
    if name == "BPRMF":
        from .bpr import BPRMF

        return BPRMF
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BPRMF", "BaseRecommender", "ItemKNN", "MODELS", "Recommender", "SLIM", "TopPop",
           "UserKNN", "make_model", "similarity_matrix", "top_k"]
