"""Base classes of the neural families: what a model supplies, and what it gets for free.

A neural model subclasses :class:`EmbeddingRecommender` (scored from user x item embeddings or
propagation: BPR-MF, NCF, NGCF, DGCF, LightGCN) or :class:`SequentialRecommender` (scored from
a state of recent items: DLR², HGN) and supplies only

- ``__init__(self, <its own parameters>, training=None, **settings)`` listing its own
  parameters explicitly (each stored under its own name) and calling
  ``self._set_training(training, settings)`` first; a class attribute ``random_std`` sets the
  "random" initialiser's std when ``init_params`` are not given;
- ``_make_network(user_init, item_init) -> nn.Module`` building the tables unseeded: the base
  seeds every pair that ``embedding_tables()`` returns from the initial arrays (``None`` on
  load: the saved weights follow);
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

Shared parameters: the training settings, one ``leporid.models.training.TrainingConfig`` in
``model.training`` (``dim``, ``init``, ``init_params``, ``freeze_embeddings``, ``lr``,
``weight_decay``, ``batch_size``, ``cosine``, ``epochs``, ``iterations``, ``metric``,
``evals_per_epoch``, ``eval_every``, ``patience``, ``selection_pairs``, ``seed``, ``threads``,
``device``), each also a model parameter and attribute under its own name; a model's defaults
are the common ones with the overrides of its registry record (``leporid.models.registry``).
``score`` returns a float32 numpy array (users x items) in every model. Files:
``save``/``load`` write/read one ``torch.save`` file of tensors and JSON strings, read back
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from ..utils.device import check_device
from ..utils.jsonio import json_default
from .base import BaseRecommender, check_part, top_k
from .registry import resolve, training_defaults
from .training import SELECTION_PAIRS, TrainingConfig  # noqa: F401 - neural.SELECTION_PAIRS

TRAINER = "leporid.train.loop:train"
NEURAL_FORMAT = "leporid-neural/1"
#: parameters that may differ between a training checkpoint and the run resuming it
RUNTIME_PARAMS = ("threads", "device")


def suggest_training(trial, fixed: dict) -> dict:
    """The search space every neural model shares: lr 1e-4-1e-2 (log), weight decay 0-1e-2."""
    from .base import suggest

    return {"lr": suggest(trial, fixed, "lr", "float", 1e-4, 1e-2, log=True),
            "weight_decay": suggest(trial, fixed, "weight_decay", "float", 0.0, 1e-2)}


class _RegisteredName:
    """``cls.name``: the key of the class's record in ``leporid.models.registry`` (written
    once, there); an unregistered class is called by its lower-cased class name."""

    def __get__(self, obj, owner) -> str:
        from .registry import key_of

        return key_of(owner) or owner.__name__.lower()


def _training_property(setting: str) -> property:
    """``model.<setting>``: that field of ``model.training``; assigning replaces the config
    (validated again)."""
    def get(self):
        return getattr(self.training, setting)

    def put(self, value):
        cfg = replace(self.training, **{setting: value})
        cfg.device = check_device(cfg.device)
        self.training = cfg

    return property(get, put, doc=f"``training.{setting}`` (see ``TrainingConfig``)")


class NeuralRecommender(BaseRecommender):
    """Shared parameters, fitting through the generic loop, scoring helpers, torch files."""

    #: registry name written into model files: the key of the class's record
    name = _RegisteredName()
    #: True when the model supplies ``manual_step`` instead of ``batch_loss``
    updates_itself = False
    #: LE / LEPORID output form used when ``init_params`` leave it open (``init_params_for``)
    spectral_output = "raw"
    #: std of the "random" initialiser when ``init_params`` are not given (None: its default)
    random_std: float | None = None

    def _set_training(self, training=None, settings=None) -> None:
        """``self.training``: the model's defaults (``registry.training_defaults``), then
        ``training`` (a ``TrainingConfig`` or a dict), then ``settings`` (flat keyword
        arguments); ``ValueError`` naming an unknown setting."""
        if isinstance(training, TrainingConfig):
            training = training.to_dict()
        given = {**dict(training or {}), **dict(settings or {})}
        base = TrainingConfig(**training_defaults(self.name))
        cfg = TrainingConfig.from_dict(given, base)
        if cfg.init_params is None:      # the model's default for its initialiser
            std = self.random_std if cfg.init == "random" else None
            cfg = replace(cfg, init_params={} if std is None else {"std": std})
        cfg.device = check_device(cfg.device)
        self.training = cfg

    @classmethod
    def _param_names(cls) -> tuple[str, ...]:
        """The model's own constructor arguments, then every training setting (flat names)."""
        import inspect

        own = [n for n, p in inspect.signature(cls.__init__).parameters.items()
               if n not in ("self", "training") and p.kind != p.VAR_KEYWORD]
        return (*own, *TrainingConfig.names())

    def set_params(self, **params) -> NeuralRecommender:
        """As ``BaseRecommender.set_params``; ``training=`` (a ``TrainingConfig``, or a dict of
        some settings) sets several training settings at once."""
        if "training" in params:
            t = params.pop("training")
            params = {**(t.to_dict() if isinstance(t, TrainingConfig) else dict(t)), **params}
        return super().set_params(**params)

    # -- what a subclass supplies -----------------------------------------------------------
    def _make_network(self):  # pragma: no cover - abstract
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
        self.network_ = self._make_network()
        self._seed_tables(u, i)
        self.network_ = self.network_.to(self.device)

    def _seed_tables(self, user_init, item_init) -> None:
        """The one place every model's embedding tables are seeded: each pair of
        ``embedding_tables()`` from the initial arrays (``None`` when loading a file: only the
        ``freeze_embeddings`` flag is set; the saved weights follow)."""
        from .embedding import seed_tables

        seed_tables(self.embedding_tables(), user_init, item_init, self.freeze_embeddings)

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
        model.network_ = model._make_network()
        model._seed_tables(None, None)
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

    def _embedding_tables(self):
        """A module holding just the ``user_emb`` and ``item_emb`` tables (MF-style)."""
        import torch.nn as nn

        net = nn.Module()
        net.user_emb = nn.Embedding(self.n_users_, self.dim)
        net.item_emb = nn.Embedding(self.n_items_, self.dim)
        return net


class SequentialRecommender(NeuralRecommender):
    """Family of models scored from a state of recent items (DESIGN §3): ``states_`` holds
    the per-part user states, ``seq_len`` items each, padding index ``n_items``.

    The family owns the training windows, the epoch's batches and the scoring loop. A
    subclass supplies ``_windows_of(indptr, items) -> (users, states, targets)`` (its windows
    of the chronological training sequences; ``targets`` of shape (W,) or (W, T)) and
    ``_score_batch(users, states, context) -> (B, n_items)`` (torch), optionally
    ``_score_context()`` (computed once per scoring call) and ``score_batch`` (states per
    scoring batch). An epoch draws one negative per target, uniformly among the items the
    user has not trained on."""

    #: states per batch when scoring
    score_batch = 256

    def _build(self, data) -> None:
        import torch

        from ..data.sequences import NegativeSampler, user_states

        super()._build(data)
        self.val_states_ = user_states(data, "validation", self.seq_len)
        self.test_states_ = user_states(data, "test", self.seq_len)
        indptr, items = data.sequences("train")
        w = self._windows_of(indptr, items)
        if len(w[0]) == 0:
            raise ValueError("no training windows: every user has fewer than 2 training items")
        self._windows = w
        self._t_windows = tuple(torch.as_tensor(a, device=self.device) for a in w)
        self._sampler = NegativeSampler(data.train)

    def _windows_of(self, indptr, items):  # pragma: no cover - abstract
        raise NotImplementedError

    def batches(self, rng: np.random.Generator) -> list:
        """Every training window once in random order, one fresh negative per target
        (``(users, states, targets, negatives)``, negatives shaped like the targets)."""
        import torch

        users, targets = self._windows[0], self._windows[2]
        perm = rng.permutation(len(users))
        per = int(np.prod(targets.shape[1:], dtype=np.int64))
        negs = self._sampler.sample(np.repeat(users[perm], per), rng)
        dev = self.device
        perm_t = torch.as_tensor(perm, device=dev)
        neg_t = torch.as_tensor(negs.reshape((len(perm), *targets.shape[1:])), device=dev)
        t_users, t_states, t_targets = self._t_windows
        b = self.batch_size
        return [(t_users[idx], t_states[idx], t_targets[idx], neg_t[s:s + b])
                for s in range(0, len(perm), b) for idx in (perm_t[s:s + b],)]

    def states_for(self, users, part: str) -> np.ndarray:
        check_part(part)
        src = self.val_states_ if part == "validation" else self.test_states_
        return src[np.asarray(users, np.int64)]

    def _score_context(self):
        """What every scoring batch of one call shares (e.g. a per-item precomputation)."""
        return None

    def _score_batch(self, users, states, context):  # pragma: no cover - abstract
        raise NotImplementedError

    def score_states(self, users: np.ndarray, states: np.ndarray, batch: int | None = None):
        """Scores (higher = better) of every item for ``users`` with the given ``states``
        (``seq_len`` item indices each, padding = ``n_items``): a float32 torch tensor
        (len(users), n_items), computed in eval mode, ``batch`` states at a time."""
        import torch

        self._check_fitted()
        net = self.network_
        dev = next(net.parameters()).device
        u = torch.as_tensor(np.asarray(users, np.int64), device=dev)
        st = torch.as_tensor(np.asarray(states, np.int64), device=dev)
        if st.shape != (len(u), self.seq_len):
            raise ValueError(f"states must have shape ({len(u)}, {self.seq_len}), "
                             f"got {tuple(st.shape)}")
        batch = int(batch or self.score_batch)
        out = torch.empty(len(u), self.n_items_, device=dev)
        was_training = net.training
        net.eval()
        try:
            with torch.no_grad():
                context = self._score_context()
                for i in range(0, len(u), batch):
                    out[i:i + batch] = self._score_batch(u[i:i + batch], st[i:i + batch],
                                                         context)
        finally:
            net.train(was_training)
        return out

    def score(self, users: np.ndarray, part: str) -> np.ndarray:
        """(len(users), n_items) float32 scores for ``part`` ("validation" | "test"); the
        state per DESIGN §3."""
        self._check_fitted()
        users = np.asarray(users, np.int64)
        return self.score_states(users, self.states_for(users, part)).cpu().numpy()

    def _score_for_recommend(self, users, states=None):
        if states is None:
            return self.score(users, "test")
        return self.score_states(users, states)


for _setting in TrainingConfig.names():
    setattr(NeuralRecommender, _setting, _training_property(_setting))
