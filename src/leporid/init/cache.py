"""On-disk cache of computed embeddings and Jaccard KNN graphs.

Table 3 reuses each initialisation across models and seeds, and an α sweep (Figure 4) reuses
each KNN graph, so both are stored under one directory:

- ``embeddings/<key>.npz`` (arrays ``user``, ``item``) + ``<key>.json`` (what the key was made
  of, and the scheme's ``info``), ``key = sha256`` of (training-matrix fingerprint, scheme,
  every resolved parameter, dim, seed, leporid version, a hash of the scheme's source file);
- ``graphs/<key>.npz`` (CSR arrays), ``key = sha256`` of (side-matrix fingerprint, side, K,
  graph options, leporid version).

The fingerprint is a SHA-256 of the binary matrix's shape and sparsity pattern, so any change
of data, filter or split is a different key. Location: ``$LEPORID_CACHE``, else
``~/.cache/leporid``; ``LEPORID_CACHE=off`` disables it. Files are written atomically (temporary
file + rename) and read with ``allow_pickle=False``; a damaged entry is a miss (a
``CacheWarning`` names it; the recomputed result replaces it) and a cache folder that cannot
be written (full, read-only) is a warning, never an error: the cache is optional.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import warnings
from contextvars import ContextVar
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .. import __version__
from ..results import atomic_write, jsonable

ENV = "LEPORID_CACHE"
_OFF = ("", "0", "off", "none", "false", "no")
_ACTIVE: ContextVar[EmbeddingCache | None] = ContextVar("leporid_cache", default=None)


def default_dir() -> Path | None:
    """``$LEPORID_CACHE`` (None when it says off), else ``~/.cache/leporid``."""
    env = os.environ.get(ENV)
    if env is None:
        return Path.home() / ".cache" / "leporid"
    return None if env.strip().lower() in _OFF else Path(env).expanduser()


def matrix_fingerprint(X: sp.csr_matrix) -> str:
    """SHA-256 of the shape and sparsity pattern of a canonical (sorted, binary) CSR matrix."""
    X = sp.csr_matrix(X)
    if not X.has_canonical_format:
        X = X.copy()
        X.sum_duplicates()
    h = hashlib.sha256(np.asarray(X.shape, np.int64).tobytes())
    h.update(np.asarray(X.indptr, np.int64).tobytes())
    h.update(np.asarray(X.indices, np.int64).tobytes())
    return h.hexdigest()


def _digest(obj: dict) -> str:
    return hashlib.sha256(json.dumps(jsonable(obj), sort_keys=True).encode()).hexdigest()[:32]


class CacheWarning(UserWarning):
    """A damaged cache entry (recomputed) or one that could not be written (skipped)."""


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def _float_matrix(a: np.ndarray) -> np.ndarray:
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.floating) or not np.isfinite(a).all():
        raise ValueError(f"not a finite 2-D float array ({a.dtype}, shape {a.shape})")
    return a


def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


class EmbeddingCache:
    """A cache directory; counts ``hits`` and ``misses`` (embeddings and graphs together)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.root)!r})"

    # --- embeddings ---------------------------------------------------------------------------
    def embedding_key(self, X, scheme: str, params: dict, dim: int, seed: int,
                      code: str = "") -> dict:
        return {"kind": "embedding", "data": matrix_fingerprint(X), "scheme": scheme,
                "params": jsonable(params), "dim": int(dim), "seed": int(seed),
                "version": __version__, "code": code}

    def _path(self, kind: str, key: dict) -> Path:
        return self.root / kind / _digest(key)

    def load_embedding(self, key: dict):
        """``(user, item, info)`` stored under ``key``, or None (absent, or damaged: noted,
        then recomputed and replaced by the caller)."""
        base = self._path("embeddings", key)
        if not base.with_suffix(".json").exists() and not base.with_suffix(".npz").exists():
            self.misses += 1
            return None
        path = base.with_suffix(".json")
        try:
            meta = json.loads(path.read_text())
            if not isinstance(meta, dict) or not isinstance(meta.get("info", {}), dict):
                raise ValueError("not a {key, info} object")
            path = base.with_suffix(".npz")
            with np.load(path, allow_pickle=False) as z:
                u, i = _float_matrix(z["user"]), _float_matrix(z["item"])
        except Exception as exc:  # noqa: BLE001 - any damage is a miss: the cache is optional
            return self._damaged(path, exc)
        if meta.get("key") != jsonable(key):  # a digest collision or a foreign file
            self.misses += 1
            return None
        self.hits += 1
        return u, i, meta.get("info", {})

    def save_embedding(self, key: dict, user: np.ndarray, item: np.ndarray, info: dict) -> None:
        base = self._path("embeddings", key)
        self._store(base.with_suffix(".npz"), _npz_bytes(user=user, item=item),
                    (base.with_suffix(".json"),
                     json.dumps(jsonable({"key": key, "info": info}), indent=1)))

    def _damaged(self, path: Path, exc: BaseException) -> None:
        """A miss for an unreadable entry, said once with the file's name."""
        self.misses += 1
        warnings.warn(f"cache entry {path} is damaged ({_reason(exc)}); recomputing it",
                      CacheWarning, stacklevel=3)
        return None

    def _store(self, path: Path, data: bytes, *more: tuple) -> None:
        """Write an entry (and its sidecars); a full or unwritable cache folder is a note, never
        an error: the result is already in hand, the cache only saves recomputing it."""
        try:
            atomic_write(path, data)
            for extra, text in more:
                atomic_write(extra, text)
        except OSError as exc:
            warnings.warn(f"could not write the cache entry {path} ({_reason(exc)}); "
                          f"continuing without caching it", CacheWarning, stacklevel=3)

    # --- KNN graphs ---------------------------------------------------------------------------
    def graph_key(self, X, side: str, k: int, options: dict) -> dict:
        return {"kind": "graph", "data": matrix_fingerprint(X), "side": side, "k": int(k),
                "options": jsonable(options), "version": __version__}

    def load_graph(self, key: dict) -> sp.csr_matrix | None:
        path = self._path("graphs", key).with_suffix(".npz")
        if not path.exists():
            self.misses += 1
            return None
        try:
            with np.load(path, allow_pickle=False) as z:
                if json.loads(str(z["key"])) != jsonable(key):
                    self.misses += 1     # a digest collision or a foreign file
                    return None
                W = sp.csr_matrix((z["data"], z["indices"], z["indptr"]),
                                  shape=tuple(int(x) for x in z["shape"]))
                W.check_format(full_check=True)
        except Exception as exc:  # noqa: BLE001 - any damage is a miss: the cache is optional
            return self._damaged(path, exc)
        self.hits += 1
        return W

    def save_graph(self, key: dict, W: sp.csr_matrix) -> None:
        W = sp.csr_matrix(W)
        self._store(self._path("graphs", key).with_suffix(".npz"),
                    _npz_bytes(data=W.data, indices=W.indices, indptr=W.indptr,
                                shape=np.asarray(W.shape, np.int64),
                                key=np.asarray(json.dumps(jsonable(key), sort_keys=True))))


#: fingerprints taken when each scheme was registered (its module imported)
_LOADED: dict = {}


def remember_code(fn) -> None:
    """Fingerprint ``fn``'s source file now, as it is imported. The key must describe the code
    that runs: a long run (``reproduce``) that read the file at call time would file the old
    in-memory code's embeddings under an edited file's key."""
    _LOADED[fn] = _source_hash(fn)


def code_fingerprint(fn) -> str:
    """SHA-256 (short) of the source file defining ``fn``, as it was when ``fn`` was registered:
    editing a scheme's module invalidates its cached embeddings from the next process on (edits
    of lower layers do not: clear the cache then)."""
    return _LOADED[fn] if fn in _LOADED else _source_hash(fn)


def _source_hash(fn) -> str:
    import inspect

    try:
        return hashlib.sha256(Path(inspect.getsourcefile(fn)).read_bytes()).hexdigest()[:16]
    except (TypeError, OSError):
        return ""


def resolve_cache(cache) -> EmbeddingCache | None:
    """None -> the default cache (or none when disabled); False -> none; a path -> that."""
    if cache is False:
        return None
    if isinstance(cache, EmbeddingCache):
        return cache
    if cache is None or cache is True:
        root = default_dir()
        return None if root is None else EmbeddingCache(root)
    return EmbeddingCache(cache)


def active() -> EmbeddingCache | None:
    """The cache of the ``compute`` call in progress (None outside one, or when disabled)."""
    return _ACTIVE.get()


@contextlib.contextmanager
def using(store: EmbeddingCache | None):
    token = _ACTIVE.set(store)
    try:
        yield store
    finally:
        _ACTIVE.reset(token)


def knn_graph(X: sp.csr_matrix, k: int, side: str, **options) -> sp.csr_matrix:
    """``leporid.graph.jaccard_knn_graph(X, k, **options)`` through the active cache.

    ``options`` that do not change the graph (``progress``, ``desc``) are left out of the key.
    """
    from ..graph import jaccard_knn_graph

    store = active()
    key = None
    if store is not None:
        key = store.graph_key(X, side, k, {o: v for o, v in options.items()
                                           if o not in ("progress", "desc", "device")})
        W = store.load_graph(key)
        if W is not None:
            return W
    W = jaccard_knn_graph(X, k, **options)
    if key is not None:
        store.save_graph(key, W)
    return W
