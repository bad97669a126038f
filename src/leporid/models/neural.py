"""Base classes of the neural families: what a model supplies, and what it gets for free.

A neural model subclasses :class:`EmbeddingRecommender` (scored from user x item embeddings or
propagation: BPR-MF, NCF, NGCF, DGCF, LightGCN) or :class:`SequentialRecommender` (scored from
a state of recent items: DLR², HGN) and supplies only

- ``__init__`` listing every parameter explicitly (stored under its own name; the shared
  training parameters are set with ``self._set_training(**training_args(locals()))``; a class
  attribute ``random_std`` sets the "random" initialiser's std when ``init_params`` are not given);
- ``_make_network(user_init, item_init) -> nn.Module`` (arrays or ``None`` on load; seed the
  tables with ``leporid.models.embedding.seed_embedding``);
- ``batches(rng) -> list`` of the batches of one epoch, drawn from ``rng``
  (``numpy.random.default_rng([seed, epoch])``);
- ``batch_loss(batch) -> scalar tensor`` (or, with ``updates_itself = True``,
  ``manual_step(batch, lr) -> float``: the model updates its weights in place, e.g. BPR-MF's
  SGD kernel, and the loop skips backward/Adam);
- ``score(users, part)`` (may use ``self.network_`` at any time during training);
- ``embedding_tables()`` when its tables are not ``network_.user_emb`` / ``network_.item_emb``;
- optionally ``search_space(trial, fixed) -> dict`` (default: lr and weight decay) and
  ``_finish()`` (cache things after the best weights are restored, also after ``load``).

``fit(data)`` (a ``Split`` -> model selection on validation; a bare users x items sparse
matrix -> the fixed budget, no selection) runs the generic loop ``leporid.train.loop.train``.
Models sit below ``train`` in the layering (data -> ... -> models -> train), so the loop is
resolved by its dotted path (``TRAINER``) at call time instead of being imported: the models
package never imports ``train``.

Shared parameters: ``dim``, ``init`` (initialiser name or array pair), ``init_params``,
``freeze_embeddings``, ``lr``, ``weight_decay``, ``cosine``, ``epochs``, ``iterations``,
``metric``, ``evals_per_epoch``, ``eval_every``, ``patience``, ``seed``, ``threads``,
``device``, ``selection_pairs`` (validation users x items above which model selection uses a
fixed, seeded subset of validation users; ``None``: always all; see ``SELECTION_PAIRS``). Files: ``save``/``load`` write/read one ``torch.save`` file of tensors and JSON
strings, read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..utils.device import check_device
from ..utils.jsonio import json_default
from .base import BaseRecommender, check_part, top_k

TRAINER = "leporid.train.loop:train"
NEURAL_FORMAT = "leporid-neural/1"
#: parameters that may differ between a training checkpoint and the run resuming it
RUNTIME_PARAMS = ("threads", "device")
#: default ``selection_pairs``: model selection validates every validation user while
#: users x items stays below this (ML-1M's 20-core split, ~6k x 3.4k, does), else a fixed,
#: seeded subset of ``selection_pairs // n_items`` users (2,500 at 20k x 10k; HR@10's
#: sampling error is then about 0.01)
SELECTION_PAIRS = 25_000_000


def resolve(dotted: str):
    """``"package.module:attribute"`` -> the attribute (imported on first use)."""
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def _check_number(name, value, low=None, high=None, integer=False, allow_none=False):
    """``leporid.data.validation.check_number`` with the models' positional order; numeric
    strings (e.g. from a hand-written config) are read as numbers, and every refusal is a
    ``ValueError``."""
    from ..data.validation import check_number

    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {value!r}") from None
    try:
        return check_number(value, name, low=low, high=high, integer=integer,
                            allow_none=allow_none)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def suggest_training(trial, fixed: dict) -> dict:
    """The search space every neural model shares: lr 1e-4-1e-2 (log), weight decay 0-1e-2."""
    from .base import suggest

    return {"lr": suggest(trial, fixed, "lr", "float", 1e-4, 1e-2, log=True),
            "weight_decay": suggest(trial, fixed, "weight_decay", "float", 0.0, 1e-2)}


def training_args(local_vars: dict) -> dict:
    """The shared training parameters among a constructor's ``locals()``, for
    ``self._set_training(**training_args(locals()))`` (one list of them: its signature)."""
    names = inspect.signature(NeuralRecommender._set_training).parameters
    return {k: v for k, v in local_vars.items() if k in names and k != "self"}


class NeuralRecommender(BaseRecommender):
    """Shared parameters, fitting through the generic loop, scoring helpers, torch files."""

    #: registry name written into model files (``leporid.models.MODELS``)
    name = "neural"
    #: True when the model supplies ``manual_step`` instead of ``batch_loss``
    updates_itself = False
    #: LE / LEPORID output form used when ``init_params`` leave it open (``init_params_for``)
    spectral_output = "raw"
    #: std of the "random" initialiser when ``init_params`` are not given (None: its default)
    random_std: float | None = None

    def _set_training(self, dim=64, init="random", init_params=None, freeze_embeddings=False,
                      lr=1e-3, weight_decay=0.0, cosine=True, epochs=2, iterations=None,
                      metric="HR@10", evals_per_epoch=1, eval_every=None, patience=3,
                      seed=123, threads=None, device="cpu",
                      selection_pairs=SELECTION_PAIRS) -> None:
        self.dim = _check_number("dim", dim, 1, integer=True)
        if not isinstance(init, str):
            try:
                u, i = init
            except (TypeError, ValueError):
                raise ValueError("init must be an initialiser name or a pair of arrays") from None
        self.init = init
        self.init_params = dict(init_params or {})
        if init == "random" and init_params is None and self.random_std is not None:
            self.init_params = {"std": self.random_std}
        self.freeze_embeddings = bool(freeze_embeddings)
        self.lr = _check_number("lr", lr, 0.0)
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        self.weight_decay = _check_number("weight_decay", weight_decay, 0.0)
        self.cosine = bool(cosine)
        self.epochs = _check_number("epochs", epochs, 1, integer=True)
        self.iterations = _check_number("iterations", iterations, 1, integer=True,
                                        allow_none=True)
        if not isinstance(metric, str) or "@" not in metric:
            raise ValueError(f"metric must look like HR@10, got {metric!r}")
        self.metric = metric
        self.evals_per_epoch = _check_number("evals_per_epoch", evals_per_epoch, 1, integer=True)
        self.eval_every = _check_number("eval_every", eval_every, 1, integer=True,
                                        allow_none=True)
        self.patience = _check_number("patience", patience, 1, integer=True)
        self.seed = _check_number("seed", seed, 0, integer=True)
        self.threads = _check_number("threads", threads, 1, integer=True, allow_none=True)
        self.device = check_device(device)
        self.selection_pairs = _check_number("selection_pairs", selection_pairs, 1,
                                             integer=True, allow_none=True)

    # -- what a subclass supplies -----------------------------------------------------------
    def _make_network(self, user_init, item_init):  # pragma: no cover - abstract
        raise NotImplementedError

    def batches(self, rng: np.random.Generator) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    def batch_loss(self, batch):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def search_space(cls, trial, fixed: dict) -> dict:
        """Parameters to try for an optuna ``trial`` (``fixed`` pins some); subclasses add
        their own key parameters to :func:`suggest_training`."""
        return suggest_training(trial, fixed)

    # -- fitting ----------------------------------------------------------------------------
    def fit(self, data, progress: bool = False, checkpoint: str | Path | None = None,
            callbacks=()) -> NeuralRecommender:
        """Train on ``data`` with the generic loop (``leporid.train.loop.train``)."""
        return resolve(TRAINER)(self, data, progress=progress, checkpoint=checkpoint,
                                callbacks=callbacks)

    def _build(self, data) -> None:
        """Sizes, id lists, seen items, seeded network (everything before the first step)."""
        import torch

        train = sp.csr_matrix(getattr(data, "train", data))
        self.n_users_, self.n_items_ = train.shape
        self.user_ids_ = np.asarray(getattr(data, "user_ids", np.arange(self.n_users_)))
        self.item_ids_ = np.asarray(getattr(data, "item_ids", np.arange(self.n_items_)))
        seen = data.matrix("train", "validation") if hasattr(data, "matrix") else train
        seen = sp.csr_matrix(seen)
        self.seen_indptr_ = seen.indptr.astype(np.int64)
        self.seen_indices_ = seen.indices.astype(np.int64)
        self.fingerprint_ = data.fingerprint() if hasattr(data, "fingerprint") else None
        self.history_ = []
        from .embedding import init_params_for, initial_embeddings

        u, i = initial_embeddings(self.init, train, self.dim, self.seed,
                                  init_params_for(self, self.init, self.init_params))
        torch.manual_seed(self.seed)
        self.network_ = self._make_network(u, i).to(self.device)

    def is_fitted(self) -> bool:
        return hasattr(self, "network_")

    def embedding_tables(self) -> list:
        """``[(user_table, item_table), ...]``: every pair of ``nn.Embedding`` seeded from the
        initial arrays (one pair; NeuMF-like models return one per tower). The contract test
        checks that each holds the initial arrays bit-identically before the first step."""
        return [(self.network_.user_emb, self.network_.item_emb)]

    def _finish(self) -> None:
        """Called by the loop after the best weights are restored (subclasses cache here)."""

    # -- scoring ----------------------------------------------------------------------------
    def recommend(self, users: np.ndarray, n: int = 10, exclude=None, **score_args) -> np.ndarray:
        """Top-``n`` item indices per user (-1 padding) for the test-time state, excluding the
        user's train + validation items (or ``exclude``: a CSR-like ``(indptr, indices)``
        aligned with ``users``)."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        scores = self._score_for_recommend(users, **score_args)
        scores = np.array(scores.cpu().numpy() if hasattr(scores, "cpu") else scores,
                          np.float32)
        if exclude is None:
            lo, hi = self.seen_indptr_[users], self.seen_indptr_[users + 1]
            indices = self.seen_indices_
        else:
            indptr, indices = exclude
            lo, hi = indptr[:-1], indptr[1:]
        counts = hi - lo
        rows = np.repeat(np.arange(len(users)), counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        scores[rows, indices[np.repeat(lo, counts) + offs]] = -np.inf
        top = top_k(scores, n)
        top[np.isneginf(np.take_along_axis(scores, top, 1))] = -1
        return top

    def _score_for_recommend(self, users, **score_args):
        return self.score(users, "test")

    # -- files ------------------------------------------------------------------------------
    def _fitted_attributes(self) -> dict:
        return {k: v for k, v in vars(self).items()
                if k.endswith("_") and not k.startswith("_") and k != "network_"}

    def params_json(self) -> str:
        p = self.get_params()
        if not isinstance(p["init"], str):
            p["init"] = "arrays"       # the arrays themselves live in the weights
        return json.dumps(p, default=json_default)

    def checkpoint_dict(self, state_dict=None) -> dict:
        """What ``save`` writes: tensors, strings and numbers only (``weights_only``-safe)."""
        import torch

        self._check_fitted()
        arrays, attrs = {}, {}
        for k, v in self._fitted_attributes().items():
            if isinstance(v, np.ndarray) and v.dtype.kind in "biuf":
                arrays[k] = torch.from_numpy(np.ascontiguousarray(v))
            elif isinstance(v, np.ndarray):
                attrs[k] = {"strings": [str(x) for x in v.tolist()]}
            else:
                attrs[k] = v
        sd = state_dict if state_dict is not None else self.network_.state_dict()
        return {"format": NEURAL_FORMAT, "model": self.name, "class": type(self).__name__,
                "params": self.params_json(),
                "state_dict": {k: v.detach().cpu() for k, v in sd.items()},
                "arrays": arrays, "attributes": json.dumps(attrs, default=json_default)}

    def save(self, path) -> Path:
        """Write the fitted model atomically (``torch.save`` of ``checkpoint_dict``)."""
        import torch

        from ..results import atomic_write

        buf = io.BytesIO()
        torch.save(self.checkpoint_dict(), buf)
        return atomic_write(path, buf.getvalue())

    @classmethod
    def from_checkpoint_dict(cls, ck: dict, device: str | None = None):
        """Rebuild a model from ``checkpoint_dict`` output; ``ValueError`` when inconsistent."""
        if not isinstance(ck, dict) or ck.get("format") != NEURAL_FORMAT:
            raise ValueError("not a leporid neural model file")
        if ck.get("class") != cls.__name__:
            raise ValueError(f"a {ck.get('class')} model, not a {cls.__name__}")
        params = json.loads(ck["params"])
        if params.get("init") == "arrays":
            params["init"] = "random"
        if device is not None:
            params["device"] = device
        model = cls(**params)
        attrs = json.loads(ck["attributes"])
        for k, v in attrs.items():
            if isinstance(v, dict) and set(v) == {"strings"}:
                v = np.asarray(v["strings"])
            setattr(model, k, v)
        for k, v in ck["arrays"].items():
            setattr(model, k, v.numpy())
        n_u, n_i = int(model.n_users_), int(model.n_items_)
        if len(model.user_ids_) != n_u or len(model.item_ids_) != n_i:
            raise ValueError(f"id lists ({len(model.user_ids_)} users, {len(model.item_ids_)} "
                             f"items) disagree with the model size ({n_u} x {n_i})")
        if len(model.seen_indptr_) != n_u + 1 or (len(model.seen_indices_) and (
                model.seen_indices_.min() < 0 or model.seen_indices_.max() >= n_i)):
            raise ValueError("seen-item lists disagree with the model size")
        model.network_ = model._make_network(None, None)
        try:
            model.network_.load_state_dict(ck["state_dict"])
        except (RuntimeError, KeyError, TypeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"weights disagree with the model ({first})") from None
        model.network_.to(model.device).eval()
        model._finish()
        return model

    @classmethod
    def load(cls, path, device: str | None = None):
        """A model written by ``save`` or a training checkpoint of the loop
        (``torch.load(weights_only=True)``); ``ValueError`` naming the file otherwise."""
        ck = read_torch_file(path)
        if isinstance(ck, dict) and "model" in ck and isinstance(ck["model"], dict):
            ck = ck["model"]                      # a training checkpoint holds the best model
        try:
            return cls.from_checkpoint_dict(ck, device)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}: not a usable {cls.__name__} model file ({exc})") from None


def read_torch_file(path):
    """``torch.load(path, weights_only=True)`` with one clean ``ValueError`` on any failure
    (PyTorch's own advice to retry without ``weights_only`` is not passed on: never do that
    with a file you did not write)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - one line, no traceback, no unsafe advice
        kind = "empty file" if path.stat().st_size == 0 else type(exc).__name__
        raise ValueError(f"{path}: not a readable leporid model file ({kind})") from None


class EmbeddingRecommender(NeuralRecommender):
    """Family of models scored from learned user and item embeddings (pairwise/pointwise)."""

    def _finish(self) -> None:
        pass

    def _seed_tables(self, net, user_init, item_init):
        """``net`` with ``user_emb`` / ``item_emb`` seeded from the initial arrays (``None``
        when loading from a file: the saved weights follow)."""
        if user_init is not None:
            from .embedding import seed_embedding

            seed_embedding(net.user_emb, user_init, freeze=self.freeze_embeddings)
            seed_embedding(net.item_emb, item_init, freeze=self.freeze_embeddings)
        return net

    def _embedding_tables(self, user_init, item_init):
        """A module holding just the seeded ``user_emb`` and ``item_emb`` tables (MF-style)."""
        import torch.nn as nn

        net = nn.Module()
        net.user_emb = nn.Embedding(self.n_users_, self.dim)
        net.item_emb = nn.Embedding(self.n_items_, self.dim)
        return self._seed_tables(net, user_init, item_init)


class SequentialRecommender(NeuralRecommender):
    """Family of models scored from a state of recent items (DESIGN §3): ``states_`` holds
    the per-part user states, ``seq_len`` items each, padding index ``n_items``."""

    def _build(self, data) -> None:
        from ..data.sequences import user_states

        super()._build(data)
        self.val_states_ = user_states(data, "validation", self.seq_len)
        self.test_states_ = user_states(data, "test", self.seq_len)

    def states_for(self, users, part: str) -> np.ndarray:
        check_part(part)
        src = self.val_states_ if part == "validation" else self.test_states_
        return src[np.asarray(users, np.int64)]

    def _score_for_recommend(self, users, states=None):
        if states is None:
            return self.score(users, "test")
        return self.score_states(users, states)
