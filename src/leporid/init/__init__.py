"""One registry of initialisers: ``name -> (user_embeddings, item_embeddings)``.

Every initialiser takes the binary training matrix (users x items, CSR), the dimension and a
seed, and returns two float32 arrays of shape (n_users, dim) and (n_items, dim).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import scipy.sparse as sp

from ..data.validation import check_matrix

Initializer = Callable[..., tuple[np.ndarray, np.ndarray]]
#: name -> initialiser, or its dotted path "module:function" for initialisers that live in a
#: higher layer (the "bpr" initialiser trains BPR-MF from ``leporid.models``): the path is
#: imported only when that initialiser is used, so ``leporid.init`` never imports models.
_REGISTRY: dict[str, Initializer | str] = {
    "bpr": "leporid.models.bpr:bpr_initializer",
}


def register(name: str):
    def deco(fn: Initializer) -> Initializer:
        _REGISTRY[name] = fn
        return fn
    return deco


def available() -> list[str]:
    return sorted(_REGISTRY)


def initialize(name: str, train: sp.spmatrix, dim: int = 64, seed: int = 123,
               **params) -> tuple[np.ndarray, np.ndarray]:
    """User and item embeddings from initialiser ``name`` on the training matrix.

    ``train`` is validated and copied first (``check_matrix``: binary, stored zeros dropped,
    NaN / inf / complex refused); the caller's matrix is never modified."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown initialiser {name!r}; available: {', '.join(available())}")
    fn = _REGISTRY[name]
    if isinstance(fn, str):                       # lazy entry: "module:function"
        import importlib

        module, _, attr = fn.partition(":")
        fn = getattr(importlib.import_module(module), attr)
    u, i = fn(check_matrix(train, "train"), dim=dim, seed=seed, **params)
    return np.ascontiguousarray(u, np.float32), np.ascontiguousarray(i, np.float32)


@register("random")
def random_init(train, dim=64, seed=123, std=0.01):
    """N(0, std^2) entries (the paper's random baseline uses std 0.01)."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0, std, (train.shape[0], dim)), rng.normal(0, std, (train.shape[1], dim)))


from . import spectral_init  # noqa: E402,F401  (registers "le" and "leporid")
