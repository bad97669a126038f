"""The registry of initialisers: one :class:`Scheme` record per scheme.

An initialiser is a function ``fn(train, dim=64, seed=DEFAULT_SEED, **parameters)`` of the
binary training matrix (users x items, CSR); every parameter after ``seed`` has a default, and
the function's signature *is* the scheme's parameter list (:func:`parameters`, ``leporid embed
--list``). It returns ``(user, item)`` arrays of shape (n_users, dim), (n_items, dim), or
``(user, item, info)`` with a JSON-able ``info`` dict.

Register one with ``@register("name")`` (see docs/add-an-initialiser.md). A scheme living in a
higher layer is a *lazy* record: a dotted path ``"module:function"`` imported on first use
(:data:`LAZY`), so this package never imports ``models``. This module imports no scheme: the
schemes import :func:`register` from here, and ``leporid.init`` imports the schemes.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Initializer = Callable[..., tuple]
Check = Callable[[dict, int], None]
_FIXED = ("train", "dim", "seed")


@dataclass(frozen=True)
class Scheme:
    """One initialiser.

    Parameters
    ----------
    name
        ``leporid embed --method NAME``, ``leporid train --init NAME``.
    function
        ``fn(train, dim, seed, **parameters)``; None for a lazy record not imported yet.
    target
        A lazy record's ``"module:function"``, imported by :func:`get` on first use.
    check
        ``check(params, dim)`` validating resolved parameter values (raises ``ValueError``),
        run before any work.
    cache
        False for schemes cheaper to recompute than to read from the cache (``random``).
    """

    name: str
    function: Initializer | None = None
    target: str = ""
    check: Check | None = None
    cache: bool = True


# the built-in schemes of higher layers, imported on first use
LAZY = {"bpr": "leporid.models.bpr:bpr_initializer"}

SCHEMES: dict[str, Scheme] = {name: Scheme(name, target=target) for name, target in LAZY.items()}


def register(name: str, *, check: Check | None = None, cache: bool = True):
    """Decorator adding ``fn(train, dim=64, seed=DEFAULT_SEED, **params)`` as scheme ``name``.

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
        from .cache import remember_code

        remember_code(fn)
        SCHEMES[name] = Scheme(name, fn, LAZY.get(name, ""), check, cache)
        return fn
    return deco


def available() -> list[str]:
    """Names of every registered scheme (lazy ones included)."""
    return sorted(SCHEMES)


def scheme(name: str) -> Scheme:
    """The record of scheme ``name``, its function imported (a lazy record on first use)."""
    record = SCHEMES.get(name)
    if record is None:
        raise ValueError(f"unknown initialiser {name!r}; available: {', '.join(available())}")
    if record.function is None:
        module, _, attr = record.target.partition(":")
        fn = getattr(importlib.import_module(module), attr)
        if SCHEMES[name].function is None:  # the module may have registered it, with a check
            register(name)(fn)
        record = SCHEMES[name]
    return record


def get(name: str) -> Initializer:
    """The initialiser registered as ``name`` (imports a lazy record on first use)."""
    return scheme(name).function


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
        if (isinstance(value, (int, float, np.integer, np.floating))
                and not isinstance(value, bool) and np.isfinite(value)):
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
    check = SCHEMES[name].check
    if check is not None:
        try:
            check(out, int(dim))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return out


def positive(*names: str) -> Check:
    """A ``check`` requiring the named parameters to be > 0."""
    def check(params: dict, dim: int) -> None:
        for n in names:
            if not params[n] > 0:
                raise ValueError(f"parameter {n} must be > 0, got {params[n]!r}")
    return check
