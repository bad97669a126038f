"""The recommender protocol every model follows, and helpers shared by the classic models.

A model is anything with

- ``fit(split) -> self``: learn from ``split`` (classic models read ``split.train`` only);
- ``score(users, part) -> (len(users), n_items)`` float32 scores as a numpy array (every
  model, neural ones included: the evaluator and every caller need no torch), higher = better,
  for ``part`` in ``{"validation", "test"}``.

The evaluator (``leporid.eval.evaluate``) masks the non-candidate items and ranks the rest, so a
model need not mask anything itself.

Fold-in (classic models): at validation time a user's input profile is their training items; at
test time it is their training + validation items (``fold_in=True``, the default), so the
ten per cent of history between training and test is used as input just as the sequential
models use it as their state (DESIGN.md §3). Everything a model *learns* (similarities,
weights, embeddings) comes from ``split.train`` alone.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from ..utils.jsonio import json_default

SCORE_PARTS = ("validation", "test")


@runtime_checkable
class Recommender(Protocol):
    """What the evaluator and the tuner need from a model."""

    def fit(self, split) -> Recommender:  # pragma: no cover - protocol
        ...

    def score(self, users: np.ndarray, part: str):  # pragma: no cover - protocol
        ...


def check_part(part: str) -> str:
    """``part`` if it is a part a model can be scored on, else a ``ValueError``."""
    if part not in SCORE_PARTS:
        raise ValueError(f"part must be one of {SCORE_PARTS}, got {part!r}")
    return part


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest entries of each row, best first.

    Ties are broken deterministically: among equal scores the lower column index ranks first
    (also across the k-th position). Vectorised: ``argpartition`` on the whole block, then an
    exact fix-up only for the rows whose k-th value is tied with values outside the top k.
    ``scores`` must not contain NaN. Returns an int64 array of shape (rows, min(k, columns)).
    """
    s = np.asarray(scores)
    if s.ndim != 2:
        raise ValueError(f"scores must be 2-D, got shape {s.shape}")
    b, n = s.shape
    k = int(min(k, n))
    if k <= 0 or b == 0:
        return np.empty((b, max(k, 0)), np.int64)
    if k < n:
        idx = np.argpartition(-s, k - 1, axis=1)[:, :k]
        kth = np.take_along_axis(s, idx, 1).min(axis=1)
        n_ge = np.count_nonzero(s >= kth[:, None], axis=1)
        tied = np.flatnonzero(n_ge > k)
        if tied.size:
            sb, tb = s[tied], kth[tied, None]
            above = sb > tb
            room = k - np.count_nonzero(above, axis=1)
            eq = sb == tb
            keep = above | (eq & (np.cumsum(eq, axis=1) <= room[:, None]))
            idx[tied] = np.nonzero(keep)[1].reshape(len(tied), k)
    else:
        idx = np.broadcast_to(np.arange(n), (b, n))
    idx = idx.astype(np.int64, copy=False)
    vals = np.take_along_axis(s, idx, 1)
    order = np.lexsort((idx, -vals), axis=1)
    return np.take_along_axis(idx, order, 1)


def topk_sparse_rows(block: np.ndarray, k: int, col_offset: int = 0, n_cols: int | None = None,
                     rows_offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """COO triplets (rows, cols, values) of the ``k`` largest non-zero entries per row of a block.

    Rows are numbered from ``rows_offset``; columns are those of ``block`` (``col_offset`` is
    added). Zeros are never kept.
    """
    idx = top_k(block, k)
    vals = np.take_along_axis(block, idx, 1)
    rows = np.repeat(np.arange(block.shape[0], dtype=np.int64) + rows_offset, idx.shape[1])
    cols, vals = idx.ravel() + col_offset, vals.ravel()
    nz = vals != 0
    return rows[nz], cols[nz], vals[nz]


class BaseRecommender:
    """Shared plumbing of every model family: parameters, cloning, save/load, fold-in profiles.

    Parameters are read from the constructor signature, as in scikit-learn: every argument of
    ``__init__`` (no ``*args``/``**kwargs``) is stored under its own name, so ``get_params``,
    ``set_params``, ``clone`` (an unfitted twin) and ``__repr__`` need nothing from a subclass.
    Fitted state lives in attributes ending in ``_`` (or private ones starting with ``_``).

    ``save(path)`` writes one ``.npz`` (``np.savez``; loaded with ``allow_pickle=False``): the
    parameters as JSON, and every fitted attribute that is ``None``, a number, a string, a
    JSON-able list/dict, a numpy array or a scipy sparse matrix. No pickle anywhere. Neural
    models (``leporid.models.neural``) override it with a ``torch.save`` file of tensors read
    back with ``weights_only=True``.
    """

    FILE_FORMAT = "leporid-model/1"

    @classmethod
    def _param_names(cls) -> tuple[str, ...]:
        import inspect

        if cls.__init__ is object.__init__:
            return ()
        sig = inspect.signature(cls.__init__)
        names = []
        for name, p in sig.parameters.items():
            if name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must list its parameters explicitly "
                                "(no *args / **kwargs)")
            names.append(name)
        return tuple(names)

    def get_params(self, deep: bool = False) -> dict:
        """The constructor arguments of this model (``deep`` is accepted for scikit-learn)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> BaseRecommender:
        """Change constructor arguments (validated by re-running the constructor); returns self.
        Fitted state is kept: call ``fit`` again to use the new values."""
        known = self._param_names()
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} for {type(self).__name__}; "
                             f"known: {list(known)}")
        fresh = type(self)(**{**self.get_params(), **params})
        for name in known:
            setattr(self, name, getattr(fresh, name))
        return self

    def clone(self) -> BaseRecommender:
        """An unfitted model with the same parameters."""
        import copy

        return type(self)(**copy.deepcopy(self.get_params()))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """Parameters to try for an optuna ``trial``; ``fixed`` (a dict this may pop from)
        pins parameters. The default has nothing to tune (one trial)."""
        return {}

    def is_fitted(self) -> bool:
        return hasattr(self, "n_items_")

    def _remember(self, split) -> None:
        """Keep what scoring needs: sizes, the training matrix, and the fold-in matrix."""
        self.n_users_, self.n_items_ = split.n_users, split.n_items
        self.train_ = sp.csr_matrix(split.train, dtype=np.float32)
        self._foldin = None
        if getattr(self, "fold_in", False):
            self._foldin = sp.csr_matrix(split.matrix("train", "validation"), dtype=np.float32)

    def _check_fitted(self) -> None:
        if not self.is_fitted():
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(split) first")

    def profile(self, users: np.ndarray, part: str) -> sp.csr_matrix:
        """Binary input rows of ``users``: train for validation, train+validation for test
        (when ``fold_in``)."""
        self._check_fitted()
        check_part(part)
        users = np.asarray(users, dtype=np.int64)
        src = self._foldin if (part == "test" and self._foldin is not None) else self.train_
        return src[users]

    # -- persistence (classic models; neural models override) -----------------------------
    def _fitted_attributes(self) -> dict:
        params = set(self._param_names())
        return {k: v for k, v in vars(self).items() if k not in params}

    def save(self, path) -> Path:  # noqa: F821
        """Write params (JSON) and fitted arrays to ``path`` (``.npz``, atomically, no pickle)."""
        import io
        import json

        from ..results import atomic_write

        self._check_fitted()
        arrays, meta = {}, {}
        for k, v in self._fitted_attributes().items():
            if isinstance(v, np.ndarray):
                if v.dtype == object:
                    raise TypeError(f"attribute {k} is an object array; cannot store it")
                arrays[f"a:{k}"] = v
            elif sp.issparse(v):
                v = sp.csr_matrix(v)
                arrays[f"s:{k}:data"], arrays[f"s:{k}:indices"] = v.data, v.indices
                arrays[f"s:{k}:indptr"] = v.indptr
                arrays[f"s:{k}:shape"] = np.asarray(v.shape, np.int64)
            else:
                meta[k] = v
        header = {"format": self.FILE_FORMAT, "class": type(self).__name__,
                  "params": self.get_params(), "attributes": meta}
        arrays["header"] = np.asarray(json.dumps(header, default=json_default))
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return atomic_write(path, buf.getvalue())

    @classmethod
    def load(cls, path) -> BaseRecommender:
        """A model written by ``save`` (``np.load(allow_pickle=False)``); ``ValueError`` naming
        the file when it is not one."""
        import json

        try:
            with np.load(path, allow_pickle=False) as z:
                files = {k: z[k] for k in z.files}
            header = json.loads(str(files.pop("header")))
        except FileNotFoundError:
            raise
        except Exception as exc:  # noqa: BLE001 - one message naming the file
            raise ValueError(f"{path}: not a leporid model file ({type(exc).__name__})") from None
        if not isinstance(header, dict) or header.get("format") != cls.FILE_FORMAT \
                or header.get("class") != cls.__name__:
            raise ValueError(f"{path}: not a {cls.__name__} model file")
        model = cls(**header["params"])
        for k, v in header["attributes"].items():
            setattr(model, k, v)
        sparse: dict[str, dict] = {}
        for key, v in files.items():
            kind, _, rest = key.partition(":")
            if kind == "a":
                setattr(model, rest, v)
            elif kind == "s":
                name, _, part = rest.rpartition(":")
                sparse.setdefault(name, {})[part] = v
        for name, d in sparse.items():
            setattr(model, name, sp.csr_matrix((d["data"], d["indices"], d["indptr"]),
                                               shape=tuple(int(x) for x in d["shape"])))
        return model


def suggest(trial, fixed: dict, name: str, kind: str, *args, **kwargs):
    """``fixed.pop(name)`` when pinned, else ``trial.suggest_<kind>(name, ...)`` (optuna)."""
    if name in fixed:
        return fixed.pop(name)
    return getattr(trial, f"suggest_{kind}")(name, *args, **kwargs)
