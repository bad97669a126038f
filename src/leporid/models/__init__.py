"""Recommendation models: the registry, the classic baselines, and lazily loaded neural models.

The records live in ``leporid.models.registry`` (one per model: key, class, training
defaults). ``MODELS`` maps a name to a model class, or -- for models that need torch -- to the
class's dotted path ``"module:Class"``, imported on first use (so ``import leporid.models`` and
the classic path never import torch). Adding a model needs only its module and one record
(``docs/add-a-model.md``); the contract test (``tests/test_model_contract.py``) then checks it,
and ``leporid train`` / ``leporid evaluate`` offer it.

Families (one base class each): fold-in classic models (``base.BaseRecommender``: TopPop,
KNN, SLIM), embedding models (``neural.EmbeddingRecommender``: BPR-MF, ...), sequential models
(``neural.SequentialRecommender``: DLR², HGN, ...).
"""

from __future__ import annotations

from collections.abc import Mapping

from . import registry
from .base import BaseRecommender, Recommender, top_k
from .knn import ItemKNN, UserKNN, similarity_matrix
from .slim import SLIM
from .toppop import TopPop


class _Models(Mapping):
    """``MODELS[name]``: the class of a classic model, the dotted path of a neural one (read
    from the registry's records, so a registered model appears here)."""

    def __getitem__(self, name: str):
        try:
            r = registry.record(name)
        except KeyError:
            raise KeyError(name) from None
        return r.path() if r.neural else r.load()

    def __iter__(self):
        return iter(registry.keys())

    def __len__(self) -> int:
        return len(registry.keys())


MODELS: Mapping[str, type | str] = _Models()


def model_class(name: str) -> type:
    """The class registered as ``name`` (``KeyError`` naming the choices)."""
    return registry.record(name).load()


def neural_models() -> list[str]:
    """Names of the torch models (the lazily registered entries), without importing them."""
    return sorted(r.key for r in registry.RECORDS if r.neural)


def make_model(name: str, **params) -> Recommender:
    """A new, unfitted model ``name`` built with ``params``; ``ValueError`` naming unknown
    parameters and the known ones."""
    cls = model_class(name)
    known = cls._param_names()
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for model {name!r}; known: "
                         f"{', '.join(known)}")
    return cls(**params)


def load_model(path, device: str | None = None):
    """Any model written by ``model.save(path)`` (or a ``leporid train`` checkpoint): ``.npz``
    files are classic models, anything else a torch file read with ``weights_only=True``."""
    import json
    from pathlib import Path

    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    import zipfile

    try:
        with zipfile.ZipFile(p) as zf:
            classic = "header.npy" in zf.namelist()
    except (zipfile.BadZipFile, OSError):
        classic = False
    if classic:                                   # np.savez file of a classic model
        try:
            with np.load(p, allow_pickle=False) as z:
                header = json.loads(str(z["header"]))
            cls = next(r.load() for r in registry.RECORDS
                       if not r.neural and r.path().rpartition(":")[2] == header.get("class"))
        except Exception as exc:  # noqa: BLE001 - one message naming the file
            raise ValueError(f"{p}: not a leporid model file ({type(exc).__name__})") from None
        return cls.load(p)
    from .neural import read_torch_file

    ck = read_torch_file(p)
    inner = ck.get("model") if isinstance(ck, dict) and isinstance(ck.get("model"), dict) else ck
    name = inner.get("model") if isinstance(inner, dict) else None
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"{p}: not a leporid model file")
    return model_class(name).load(p, device=device)


def __getattr__(name: str):
    if name == "BPRMF":
        return model_class("bpr")
    if name == "DLR2":
        return model_class("dlr2")
    if name == "HGN":
        return model_class("hgn")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BPRMF", "BaseRecommender", "DLR2", "HGN", "ItemKNN", "MODELS", "Recommender",
           "SLIM", "TopPop", "UserKNN", "load_model", "make_model", "model_class", "neural_models",
           "similarity_matrix", "top_k"]
