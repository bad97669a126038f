"""The training settings of every neural model, as one object: :class:`TrainingConfig`.

The generic loop (``leporid.train.loop``, re-exported as ``leporid.train.TrainingConfig``) is
the owner and reader of these settings, as RecBole's Trainer owns its configuration; the class
lives here, in the models layer below the loop, so that a model can hold and validate it
(``model.training``) without importing ``train``. Every field is also a parameter of the model
under its own name, so ``make_model("bpr", lr=0.05)``, ``--param lr=0.05``, ``get_params``,
``set_params``, ``clone`` and the tuner see one flat set of names; ``training=TrainingConfig(...)``
passes the whole object at once.

Defaults are written once: the common ones are this dataclass's field defaults; a model's
differences are the ``training`` overrides of its record in ``leporid.models.registry``, each
with its reason (``docs/training-defaults.md`` is generated from that table). Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from .. import DEFAULT_SEED

#: default ``selection_pairs``: model selection validates every validation user while
#: users x items stays below this (ML-1M's 20-core split, ~6k x 3.4k, does), else a fixed,
#: seeded subset of ``selection_pairs // n_items`` users (2,500 at 20k x 10k; HR@10's
#: sampling error is then about 0.01)
SELECTION_PAIRS = 25_000_000


def check_number(name, value, low=None, high=None, integer=False, allow_none=False):
    """``leporid.data.validation.check_number`` with the models' positional order; numeric
    strings (e.g. from a hand-written config) are read as numbers, and every refusal is a
    ``ValueError``."""
    from ..data.validation import check_number as check

    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            raise ValueError(f"{name} must be a number, got {value!r}") from None
    try:
        return check(value, name, low=low, high=high, integer=integer, allow_none=allow_none)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


@dataclass
class TrainingConfig:
    """Embedding, optimisation, model-selection and run-time settings of a neural model.

    Embeddings: ``dim``, ``init`` (initialiser name or a pair of arrays), ``init_params``
    (``None``: the model's default for its initialiser), ``freeze_embeddings``.
    Optimisation: ``lr``, ``weight_decay`` (Adam), ``batch_size``, ``cosine`` (annealing to 0
    over the planned steps), ``epochs``, ``iterations`` (optimizer steps; overrides ``epochs``).
    Model selection on validation: ``metric``, ``evals_per_epoch``, ``eval_every`` (steps;
    overrides ``evals_per_epoch``), ``patience`` (validations without improvement before
    stopping), ``selection_pairs`` (validation users x items above which a fixed, seeded subset
    of users is scored; ``None``: always all). Run time: ``seed``, ``threads`` (torch CPU
    threads; ``None``: ``train.loop.DEFAULT_TRAINING_THREADS``, i.e. 1), ``device``.
    """

    dim: int = 64
    init: object = "random"
    init_params: dict | None = None
    freeze_embeddings: bool = False
    lr: float = 1e-3
    weight_decay: float = 0.0
    batch_size: int = 256
    cosine: bool = False
    epochs: int = 50
    iterations: int | None = None
    metric: str = "HR@10"
    evals_per_epoch: int = 1
    eval_every: int | None = None
    patience: int = 5
    selection_pairs: int | None = SELECTION_PAIRS
    seed: int = DEFAULT_SEED
    threads: int | None = None
    device: str = "cpu"

    def __post_init__(self):
        self.dim = check_number("dim", self.dim, 1, integer=True)
        if not isinstance(self.init, str):
            try:
                _u, _i = self.init
            except (TypeError, ValueError):
                raise ValueError("init must be an initialiser name or a pair of arrays") from None
        if self.init_params is not None:
            self.init_params = dict(self.init_params)
        self.freeze_embeddings = bool(self.freeze_embeddings)
        lr = self.lr
        self.lr = check_number("lr", lr, 0.0)
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr!r}")
        self.weight_decay = check_number("weight_decay", self.weight_decay, 0.0)
        self.batch_size = check_number("batch_size", self.batch_size, 1, integer=True)
        self.cosine = bool(self.cosine)
        self.epochs = check_number("epochs", self.epochs, 1, integer=True)
        self.iterations = check_number("iterations", self.iterations, 1, integer=True,
                                       allow_none=True)
        if not isinstance(self.metric, str) or "@" not in self.metric:
            raise ValueError(f"metric must look like HR@10, got {self.metric!r}")
        self.evals_per_epoch = check_number("evals_per_epoch", self.evals_per_epoch, 1,
                                            integer=True)
        self.eval_every = check_number("eval_every", self.eval_every, 1, integer=True,
                                       allow_none=True)
        self.patience = check_number("patience", self.patience, 1, integer=True)
        self.selection_pairs = check_number("selection_pairs", self.selection_pairs, 1,
                                            integer=True, allow_none=True)
        self.seed = check_number("seed", self.seed, 0, integer=True)
        self.threads = check_number("threads", self.threads, 1, integer=True, allow_none=True)
        # ``device`` is checked (torch can use it) by the model holding the config, which
        # imports torch: neural.check_device

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The settings' names, in field order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_dict(cls, d: dict, base: TrainingConfig | None = None) -> TrainingConfig:
        """``base`` (default: the common defaults) with the settings of ``d`` changed;
        ``ValueError`` naming unknown keys."""
        unknown = sorted(set(d) - set(cls.names()))
        if unknown:
            raise ValueError(f"unknown training setting(s) {unknown}; known: "
                             f"{', '.join(cls.names())}")
        return replace(base, **d) if base is not None else cls(**d)

    def to_dict(self) -> dict:
        # not asdict(): that would deep-copy an init pair of arrays
        return {name: getattr(self, name) for name in self.names()}


def common_defaults() -> dict:
    """The common defaults (``TrainingConfig``'s field defaults) as a dict."""
    return {f.name: f.default for f in fields(TrainingConfig)}


__all__ = ["SELECTION_PAIRS", "TrainingConfig", "check_number", "common_defaults"]
