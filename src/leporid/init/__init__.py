"""Initialisers: ``name -> (user_embeddings, item_embeddings)``.

The registry (one :class:`~leporid.init.registry.Scheme` record per scheme, ``register``,
``available``, ``get``, ``parameters``, ``describe``, ``resolve_params``, ``positive``) lives in
:mod:`leporid.init.registry`; this package re-exports it, imports the built-in schemes (each
registers itself) and computes embeddings.

Register a scheme with ``@register("name")``; it then appears in ``available()``, ``leporid
embed --list``, ``leporid embed --method name``, ``leporid train --init name`` and the tests that
run over the registry (docs/add-an-initialiser.md). ``register(name, check=fn)`` adds a
validator ``fn(params, dim)`` raising ``ValueError`` on bad values, run before any work.

``compute`` / ``initialize`` look embeddings up in the on-disk cache (``leporid.init.cache``)
keyed by (training-matrix fingerprint, scheme, all parameters, dim, seed) unless
``cache=False`` or ``$LEPORID_CACHE=off``.
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from .. import DEFAULT_SEED
from .registry import (
    SCHEMES,
    Initializer,
    Scheme,
    available,
    describe,
    get,
    parameters,
    positive,
    register,
    resolve_params,
    scheme,
)
from .result import Embeddings


def binary_matrix(train) -> sp.csr_matrix:
    """A binary float32 CSR copy (sorted indices, duplicates summed, values 1) of a matrix, of
    a ``Split``'s train part or of ``Interactions``."""
    from ..data.validation import check_matrix
    from .spectral_init import training_matrix

    # check_matrix copies, drops stored zeros, refuses NaN / inf / complex values
    return check_matrix(training_matrix(train), "train")


def compute(name: str, train, dim: int = 64, seed: int = DEFAULT_SEED, params: dict | None = None,
            cache=None) -> Embeddings:
    """Embeddings of scheme ``name`` for the binary training matrix ``train`` (or a ``Split``:
    its train part).

    ``cache``: None (the default cache, unless ``$LEPORID_CACHE=off``), False (none), a path or
    an ``EmbeddingCache``. A hit returns the stored arrays without calling the scheme.
    """
    from .cache import code_fingerprint, resolve_cache, using

    record = scheme(name)
    fn = record.function
    resolved = resolve_params(name, params, dim)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    X = binary_matrix(train)
    store = resolve_cache(cache)
    t0 = time.perf_counter()
    key = None
    if store is not None and record.cache:
        key = store.embedding_key(X, name, resolved, dim, seed, code_fingerprint(fn))
        hit = store.load_embedding(key)
        if hit is not None:
            u, i, info = hit
            return Embeddings(u, i, name, resolved, dim, seed, info, True,
                              time.perf_counter() - t0)
    with using(store):
        out = fn(X, dim=int(dim), seed=int(seed), **resolved)
    u, i, info = (*out, {}) if len(out) == 2 else out
    u = np.ascontiguousarray(u, np.float32)
    i = np.ascontiguousarray(i, np.float32)
    if u.shape != (X.shape[0], dim) or i.shape != (X.shape[1], dim):
        raise RuntimeError(f"initialiser {name!r} returned shapes {u.shape}, {i.shape}; expected "
                           f"{(X.shape[0], dim)}, {(X.shape[1], dim)}")
    if key is not None:
        store.save_embedding(key, u, i, info)
    return Embeddings(u, i, name, resolved, dim, seed, dict(info), False,
                      time.perf_counter() - t0)


def initialize(name: str, train: sp.spmatrix, dim: int = 64, seed: int = DEFAULT_SEED, cache=None,
               **params) -> tuple[np.ndarray, np.ndarray]:
    """User and item embeddings (float32) from initialiser ``name`` on the training matrix."""
    e = compute(name, train, dim, seed, params, cache)
    return e.user, e.item


from . import graphbert, netmf, node2vec, random_init, spectral_init, svd  # noqa: E402,F401
from .loader import load_embeddings  # noqa: E402,F401

__all__ = ["SCHEMES", "Embeddings", "Initializer", "Scheme", "available", "binary_matrix",
           "compute", "describe", "get", "initialize", "load_embeddings", "parameters",
           "positive", "register", "resolve_params", "scheme"]
