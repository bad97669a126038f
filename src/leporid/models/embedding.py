"""One way to seed embeddings: initialiser arrays -> ``nn.Embedding`` tables, bit-identically.

Every embedding and sequential model takes ``init`` (a registered initialiser name of
``leporid.init`` such as ``"leporid"``, ``"le"``, ``"random"`` -- or a pair of arrays
``(user_embeddings, item_embeddings)``), ``init_params`` (options of that initialiser) and
``freeze_embeddings``; it calls :func:`initial_embeddings` once, then :func:`seed_embedding`
on each of its tables.

Your own PyTorch model, in one call::

    import torch.nn as nn
    import leporid

    users, items = nn.Embedding(n_users, 64), nn.Embedding(n_items, 64)
    leporid.seed_embeddings(users, items, train_csr, init="leporid", seed=123)

Models with two embedding tables per side (NeuMF's GMF and MLP towers) seed **both towers from
the same initial arrays** (repeated, not split: each tower keeps the full ``dim`` columns, so
both start from the same LEPORID geometry); when a tower has a different width ``d'``, it takes
the first ``d'`` columns (the eigenvectors with the smallest eigenvalues come first). Call
:func:`seed_embedding` once per table with the same array.

``torch`` is imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import numpy as np

from .. import DEFAULT_SEED


def _as_matrix(array, what: str) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim != 2:
        raise ValueError(f"{what} embeddings must be 2-D, got shape {a.shape}")
    if not np.isrealobj(a) or not np.isfinite(a).all():
        raise ValueError(f"{what} embeddings contain NaN, infinite or complex values")
    return a


def seed_embedding(embedding, array, padding_idx: int | None = None, freeze: bool = False,
                   columns: bool = False):
    """Copy ``array`` (n, d) into ``embedding`` (an ``nn.Embedding`` or anything with a 2-D
    ``.weight`` parameter), bit-identically after the cast to the table's dtype.

    Rows: the table has ``n`` rows, or ``n + 1`` with a padding row (``padding_idx``, default
    the table's own ``padding_idx``) that is set to zero; the real rows keep their order around
    it. ``columns=True`` allows a table narrower than the array (the first columns are used).
    ``freeze`` turns off the table's gradient. The caller's array is never modified. Returns
    the embedding.
    """
    import torch

    a = _as_matrix(array, "initial")
    w = embedding.weight
    n, d = w.shape
    if padding_idx is None:
        padding_idx = getattr(embedding, "padding_idx", None)
    n_real = n - (padding_idx is not None)
    if a.shape[0] != n_real:
        raise ValueError(f"initial embeddings have shape {a.shape}, the table needs {n_real} rows"
                         + (" (plus a padding row)" if padding_idx is not None else ""))
    if a.shape[1] != d and not (columns and a.shape[1] > d):
        raise ValueError(f"initial embeddings have shape {a.shape}, the table has {d} columns")
    src = torch.as_tensor(np.ascontiguousarray(a[:, :d]), dtype=w.dtype)
    with torch.no_grad():
        if padding_idx is None:
            w.copy_(src)
        else:
            keep = torch.ones(n, dtype=torch.bool)
            keep[padding_idx] = False
            w[keep] = src.to(w.device)
            w[padding_idx].zero_()
    w.requires_grad_(not freeze)
    return embedding


def seed_tables(pairs, user_init, item_init, freeze: bool = False) -> None:
    """Seed every ``(user_table, item_table)`` of ``pairs`` from the same initial arrays
    (repeated, not split: every pair starts from the same geometry); a table shared by two
    pairs is seeded twice with the same values. An array given as ``None`` (a model being
    loaded: its saved weights follow) leaves its tables' values alone and only sets their
    ``freeze`` flag."""
    for pair in pairs:
        for table, array in zip(pair, (user_init, item_init)):
            if array is None:
                table.weight.requires_grad_(not freeze)
            else:
                seed_embedding(table, array, freeze=freeze)


def initial_embeddings(init, train, dim: int, seed: int = DEFAULT_SEED,
                       init_params: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(user_embeddings, item_embeddings)`` float32 for ``train`` (users x items, sparse).

    ``init`` is a registered initialiser name (``leporid.init.available()``; ``init_params`` go
    to it) or a pair of arrays of shapes (n_users, dim) and (n_items, dim), checked and copied.
    """
    n_users, n_items = train.shape
    if isinstance(init, str):
        from ..init import initialize

        return initialize(init, train, dim=dim, seed=seed, **dict(init_params or {}))
    try:
        u, i = init
    except (TypeError, ValueError):
        raise ValueError("init must be an initialiser name or a pair (user_embeddings, "
                         f"item_embeddings), got {type(init).__name__}") from None
    u, i = _as_matrix(u, "user"), _as_matrix(i, "item")
    if u.shape != (n_users, dim) or i.shape != (n_items, dim):
        raise ValueError(f"initial embeddings have shapes {u.shape} and {i.shape}, expected "
                         f"{(n_users, dim)} and {(n_items, dim)}")
    return np.array(u, np.float32), np.array(i, np.float32)


def init_params_for(model, init, init_params: dict | None = None) -> dict:
    """``init_params`` with the spectral output form that ``model`` (a class or an instance)
    expects, unless the caller chose one.

    LE / LEPORID return z-scored columns by default (the authors' input to DLR²). Models that
    score by dot products start saturated from them (rows of norm ~8 against ~0.8 for random
    init: NGCF, DGCF and HGN then train far below random on ml-100k), so every neural model
    but DLR² declares ``spectral_output = "raw"`` (unit eigenvectors) and gets them instead.
    """
    params = dict(init_params or {})
    if isinstance(init, str) and "output" not in params:
        from ..init import parameters

        if "output" in parameters(init):
            params["output"] = getattr(model, "spectral_output", "zscore")
    return params


def seed_embeddings(user_embedding, item_embedding, data, init="leporid", dim: int | None = None,
                    seed: int = DEFAULT_SEED, freeze: bool = False,
                    **init_params) -> tuple[np.ndarray, np.ndarray]:
    """Seed a user and an item ``nn.Embedding`` from initialiser ``init`` in one call.

    ``data``: a ``Split`` (its training part is used) or a users x items sparse matrix.
    ``dim`` defaults to the tables' width. An item table with one extra row gets a zero
    padding row (its ``padding_idx``, else the last row). Returns the arrays used.
    """
    train = getattr(data, "train", data)
    dim = int(dim or user_embedding.weight.shape[1])
    u, i = initial_embeddings(init, train, dim, seed, init_params)
    seed_embedding(user_embedding, u, freeze=freeze)
    pad = getattr(item_embedding, "padding_idx", None)
    if pad is None and item_embedding.weight.shape[0] == i.shape[0] + 1:
        pad = i.shape[0]
    seed_embedding(item_embedding, i, padding_idx=pad, freeze=freeze)
    return u, i
