"""One registry of initialisers: ``name -> (user_embeddings, item_embeddings)``.

An initialiser is a function ``fn(train, dim=64, seed=123, **parameters)`` of the binary
training matrix (users x items, CSR); every parameter after ``seed`` has a default, and the
function's signature *is* the scheme's parameter list (``parameters(name)``, ``leporid embed
--list``). It returns ``(user, item)`` arrays of shape (n_users, dim), (n_items, dim), or
``(user, item, info)`` with a JSON-able ``info`` dict (timings, solver details) that
``compute`` records and ``leporid embed`` writes to ``metadata.json``.

Register one with ``@register("name")``; it then appears in ``available()``, ``leporid embed
--list``, ``leporid embed --method name``, ``leporid train --init name`` and the tests that
run over the registry. ``register(name, check=fn)`` adds a validator ``fn(params, dim)``
raising ``ValueError`` on bad values, run before any work. A scheme living in a higher layer
(``bpr`` reuses ``leporid.models.bpr``) is a *lazy* entry, a dotted path ``"module:function"``
imported on first use, so this package never imports ``models``.

``compute`` / ``initialize`` look embeddings up in the on-disk cache (``leporid.init.cache``)
keyed by (training-matrix fingerprint, scheme, all parameters, dim, seed) unless
``cache=False`` or ``$LEPORID_CACHE=off``.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

Initializer = Callable[..., tuple]
_REGISTRY: dict[str, Initializer] = {}
_CHECKS: dict[str, Callable[[dict, int], None]] = {}
_NO_CACHE: set[str] = set()
# built-in schemes of higher layers: name -> "module:function", imported on first use
_LAZY: dict[str, str] = {"bpr": "leporid.models.bpr:bpr_initializer"}
_FIXED = ("train", "dim", "seed")


def register(name: str, *, check: Callable[[dict, int], None] | None = None,
             cache: bool = True):
    """Decorator adding ``fn(train, dim=64, seed=123, **params)`` to the registry as ``name``.

    ``check(params, dim)`` validates resolved parameter values (raise ``ValueError``);
    ``cache=False`` for schemes cheaper to recompute than to read (``random``).
    """
    def deco(fn: Initializer) -> Initializer:
        names = list(inspect.signature(fn).parameters.values())
        if [p.name for p in names[:3]] != list(_FIXED):
            raise TypeError(f"initialiser {name!r} must take (train, dim, seed, ...) first")
        bad = [p.name for p in names[3:] if p.default is inspect.Parameter.empty
               or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        if bad:
            raise TypeError(f"initialiser {name!r}: every parameter after seed needs a default "
                            f"(no *args/**kwargs), offending: {', '.join(bad)}")
        _REGISTRY[name] = fn
        from .cache import remember_code
        remember_code(fn)
        if check is not None:
            _CHECKS[name] = check
        (_NO_CACHE.discard if cache else _NO_CACHE.add)(name)
        return fn
    return deco


def available() -> list[str]:
    """Names of every registered scheme (lazy ones included)."""
    return sorted(set(_REGISTRY) | set(_LAZY))


def get(name: str) -> Initializer:
    """The initialiser registered as ``name`` (imports a lazy entry on first use)."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _LAZY:
        module, _, attr = _LAZY[name].partition(":")
        fn = getattr(importlib.import_module(module), attr)
        if name not in _REGISTRY:  # the module may have registered it itself, with a check
            register(name)(fn)
        return _REGISTRY[name]
    raise ValueError(f"unknown initialiser {name!r}; available: {', '.join(available())}")


def parameters(name: str) -> dict[str, Any]:
    """``{parameter: default}`` of scheme ``name`` (read from its signature)."""
    params = list(inspect.signature(get(name)).parameters.values())[3:]
    return {p.name: p.default for p in params}


def describe(name: str) -> str:
    """First line of the scheme's docstring."""
    doc = inspect.getdoc(get(name)) or ""
    return doc.splitlines()[0] if doc else ""


def _coerce(name: str, key: str, value, default):
    """``value`` converted to the type of ``default`` (int -> float allowed), else ValueError."""
    kind = type(default)
    if default is None:
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return int(value)
    elif kind is float:
        if isinstance(value, (int, float, np.integer, np.floating)) \
                and not isinstance(value, bool) and np.isfinite(value):
            return float(value)
    elif isinstance(value, kind):
        return value
    raise ValueError(f"{name}: parameter {key} expects {kind.__name__} (default {default!r}), "
                     f"got {value!r}")


def resolve_params(name: str, params: dict | None = None, dim: int = 64) -> dict:
    """All parameters of ``name`` (defaults filled in) after checking names, types and values.

    Raises ``ValueError`` naming an unknown scheme, an unknown parameter (listing the known
    ones) or a bad value — before any work is done.
    """
    defaults = parameters(name)
    params = dict(params or {})
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        known = ", ".join(defaults) or "none"
        raise ValueError(f"{name}: unknown parameter(s) {', '.join(unknown)}; known: {known}")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive integer, got {dim!r}")
    out = {k: _coerce(name, k, params[k], d) if k in params else d for k, d in defaults.items()}
    if name in _CHECKS:
        try:
            _CHECKS[name](out, int(dim))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return out


@dataclass
class Embeddings:
    """Result of ``compute``: float32 ``user``/``item`` arrays, the scheme, its resolved
    ``params``, ``info`` from the scheme (timings, solver details) and whether it came from the
    cache (``cache_hit``)."""

    user: np.ndarray
    item: np.ndarray
    scheme: str
    params: dict
    dim: int
    seed: int
    info: dict = field(default_factory=dict)
    cache_hit: bool = False
    seconds: float = 0.0


def binary_matrix(train) -> sp.csr_matrix:
    """A binary float32 CSR copy (sorted indices, duplicates summed, values 1) of a matrix, of
    a ``Split``'s train part or of ``Interactions``."""
    from ..data.validation import check_matrix
    from .spectral_init import training_matrix

    # check_matrix copies, drops stored zeros, refuses NaN / inf / complex values
    return check_matrix(training_matrix(train), "train")


def compute(name: str, train, dim: int = 64, seed: int = 123, params: dict | None = None,
            cache=None) -> Embeddings:
    """Embeddings of scheme ``name`` for the binary training matrix ``train`` (or a ``Split``:
    its train part).

    ``cache``: None (the default cache, unless ``$LEPORID_CACHE=off``), False (none), a path or
    an ``EmbeddingCache``. A hit returns the stored arrays without calling the scheme.
    """
    from .cache import code_fingerprint, resolve_cache, using

    fn = get(name)
    resolved = resolve_params(name, params, dim)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    X = binary_matrix(train)
    store = resolve_cache(cache)
    t0 = time.perf_counter()
    key = None
    if store is not None and name not in _NO_CACHE:
        key = store.embedding_key(X, name, resolved, dim, seed, code_fingerprint(fn))
        hit = store.load_embedding(key)
        if hit is not None:
            u, i, info = hit
            return Embeddings(u, i, name, resolved, dim, seed, info, True,
                              time.perf_counter() - t0)
    with using(store):
        out = fn(X, dim=int(dim), seed=int(seed), **resolved)
    u, i, info = (*out, {}) if len(out) == 2 else out
    with np.errstate(over="ignore"):  # an overflow is refused below, with its parameters
        u = np.ascontiguousarray(u, np.float32)
        i = np.ascontiguousarray(i, np.float32)
    if u.shape != (X.shape[0], dim) or i.shape != (X.shape[1], dim):
        raise RuntimeError(f"initialiser {name!r} returned shapes {u.shape}, {i.shape}; expected "
                           f"{(X.shape[0], dim)}, {(X.shape[1], dim)}")
    if not (np.isfinite(u).all() and np.isfinite(i).all()):  # e.g. random std=1e39
        raise ValueError(f"{name}: the embeddings have non-finite values in float32 (parameters "
                         f"{resolved}); choose values whose embeddings fit float32")
    if key is not None:
        store.save_embedding(key, u, i, info)
    return Embeddings(u, i, name, resolved, dim, seed, dict(info), False,
                      time.perf_counter() - t0)


def initialize(name: str, train: sp.spmatrix, dim: int = 64, seed: int = 123, cache=None,
               **params) -> tuple[np.ndarray, np.ndarray]:
    """User and item embeddings (float32) from initialiser ``name`` on the training matrix."""
    e = compute(name, train, dim, seed, params, cache)
    return e.user, e.item


def positive(*names: str) -> Callable[[dict, int], None]:
    """A ``check`` requiring the named parameters to be > 0."""
    def check(params: dict, dim: int) -> None:
        for n in names:
            if not params[n] > 0:
                raise ValueError(f"parameter {n} must be > 0, got {params[n]!r}")
    return check


@register("random", check=positive("std"), cache=False)
def random_init(train, dim=64, seed=123, std=0.01):
    """N(0, std^2) entries (the paper's random baseline uses std 0.01)."""
    rng = np.random.default_rng(seed)
    return (rng.normal(0, std, (train.shape[0], dim)), rng.normal(0, std, (train.shape[1], dim)))


from . import graphbert, netmf, node2vec, spectral_init, svd  # noqa: E402,F401  (register)
from .loader import load_embeddings  # noqa: E402,F401
