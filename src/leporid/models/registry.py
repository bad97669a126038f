"""The model registry: one record per model (its key, its class, its training defaults).

A record names the class by its dotted path ``"module:Class"``, imported on first use, so
``import leporid.models`` and the classic path never import torch. The key is written once,
here: a registered class reads its ``name`` from its record (``key_of``). A neural model's
``training`` entry holds its *differences* from the common training defaults
(``leporid.models.training.TrainingConfig``), each with its reason; together with the common
defaults this is the one table of every model's training defaults (``defaults_table``,
rendered into ``docs/training-defaults.md`` by ``defaults_markdown``).

A new model needs its own module and one record: in :data:`RECORDS` for a model of the
package, or ``register(ModelRecord(...))`` for one defined elsewhere (``docs/add-a-model.md``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import NamedTuple


class Default(NamedTuple):
    """A training default that differs from the common one, and why."""

    value: object
    reason: str


@dataclass(frozen=True)
class ModelRecord:
    """``key``: the registry name (``--model``, model files); ``target``: the class, or its
    dotted path ``"module:Class"``; ``neural``: trained by the generic loop (torch);
    ``training``: overrides of the common training defaults (:class:`Default` each)."""

    key: str
    target: object
    neural: bool = True
    training: dict = field(default_factory=dict)

    def load(self) -> type:
        """The class (imported on first use)."""
        if isinstance(self.target, str):
            return resolve(self.target)
        return self.target

    def path(self) -> str:
        """``"module:Class"`` of the target."""
        t = self.target
        return t if isinstance(t, str) else f"{t.__module__}:{t.__qualname__}"


def resolve(dotted: str):
    """``"package.module:attribute"`` -> the attribute (imported on first use)."""
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


_ONE_THREAD = "threads=None means one torch thread (train.loop.training_threads)"

RECORDS: list[ModelRecord] = [
    ModelRecord("toppop", "leporid.models.toppop:TopPop", neural=False),
    ModelRecord("itemknn", "leporid.models.knn:ItemKNN", neural=False),
    ModelRecord("userknn", "leporid.models.knn:UserKNN", neural=False),
    ModelRecord("slim", "leporid.models.slim:SLIM", neural=False),
    ModelRecord("bpr", "leporid.models.bpr:BPRMF", training={
        "lr": Default(0.05, "a per-sample SGD step (Rendle's algorithm, the default optimizer), "
                            "not an Adam rate; TPE tuning on ml-100k chose lr 0.053 "
                            "(benchmarks/README.md, bench_bpr.py)"),
        "batch_size": Default(8192, "with SGD only how often the loop can validate: sequential "
                                    "SGD gives the same result for any chunking (models/bpr.py)"),
        "patience": Default(10, "as first written for BPR-MF on the loop (10dd35e); no "
                                "measurement recorded"),
    }),
    ModelRecord("dlr2", "leporid.models.dlr2:DLR2", training={
        "batch_size": Default(128, "windows per step (one positive, one negative each) since the "
                                   "first DLR² (a1c1eeb); the paper states no batch size"),
        "cosine": Default(True, "DLR²'s schedule since its first version (10dd35e); every DLR² "
                                "figure of benchmarks/README.md was trained with it"),
        "epochs": Default(30, "a generous maximum: training stops earlier by patience "
                              "(640e470; benchmarks/README.md, 'after: <= 30 epochs')"),
        "evals_per_epoch": Default(2, "set with the benchmarked defaults (62b2243) and kept with "
                                      "early stopping (640e470)"),
        "patience": Default(3, "with two validations per epoch, 1.5 epochs without improvement "
                               "(640e470: ml-100k test HR@10 0.81 in 145 s)"),
    }),
    ModelRecord("lightgcn", "leporid.models.lightgcn:LightGCN", training={
        "lr": Default(1e-2, "raised from 5e-3 after ml-100k runs (5333025); with it test HR@10 "
                            "0.683, best epoch 53 of 73 (benchmarks/README.md, 'NCF, NGCF, "
                            "LightGCN')"),
        "batch_size": Default(2048, "the bpr_batch default of the LightGCN authors' PyTorch code "
                                    "(gusye1234/LightGCN-PyTorch, code/parse.py)"),
        "epochs": Default(150, "lowered from 300 after the same runs (5333025): best epochs 53 "
                               "(random) and 68 (LEPORID)"),
        "patience": Default(20, "raised from 10 after the same runs (5333025); no figure "
                                "recorded for this change alone"),
    }),
    ModelRecord("ngcf", "leporid.models.ngcf:NGCF", training={
        "lr": Default(2e-3, "raised from 1e-3 after ml-100k runs (5333025, "
                            "bench_embedding_models.py)"),
        "batch_size": Default(1024, "the batch size of the NGCF authors' example runs "
                                    "(--batch_size 1024 for Gowalla and Amazon-book)"),
        "epochs": Default(150, "lowered from 200 after the same runs (5333025); validation HR@10 "
                               "was still rising at epoch 24 (benchmarks/README.md)"),
        "patience": Default(10, "as first written for NGCF (51a626e); no measurement recorded"),
    }),
    ModelRecord("ncf", "leporid.models.ncf:NeuMF"),
    ModelRecord("hgn", "leporid.models.hgn:HGN", training={
        "epochs": Default(100, "measured on ml-100k validation HR@10 (models/hgn.py, Defaults)"),
    }),
    ModelRecord("dgcf", "leporid.models.dgcf:DGCF", training={
        "lr": Default(1e-2, "ml-100k-sized runs (6974fc4; benchmarks/README.md, DGCF)"),
        "batch_size": Default(8192, "every step propagates the whole graph, so the step count "
                                    "sets the epoch time (6974fc4; benchmarks/README.md, DGCF)"),
        "epochs": Default(200, "at most 200 epochs with patience 5 (benchmarks/README.md, DGCF)"),
    }),
]

_BY_KEY: dict[str, ModelRecord] = {}


def register(record: ModelRecord) -> ModelRecord:
    """Add ``record`` (a model defined outside this list, e.g. in a test); ``ValueError``
    when its key is taken by another class or its training overrides name unknown settings."""
    from .training import TrainingConfig

    old = _BY_KEY.get(record.key)
    if old is not None and old.path() != record.path():
        raise ValueError(f"model key {record.key!r} is taken by {old.path()}")
    unknown = sorted(set(record.training) - set(TrainingConfig.names()))
    if unknown:
        raise ValueError(f"{record.key}: unknown training setting(s) {unknown}")
    if old is not None:
        RECORDS.remove(old)
    RECORDS.append(record)
    _BY_KEY[record.key] = record
    return record


def unregister(key: str) -> None:
    """Remove the record of ``key`` (e.g. a test's model, after the test)."""
    r = _BY_KEY.pop(key, None)
    if r is not None:
        RECORDS.remove(r)


for _r in list(RECORDS):
    _BY_KEY[_r.key] = _r


def record(key: str) -> ModelRecord:
    """The record of ``key`` (``KeyError`` naming the choices)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"unknown model {key!r}; choose from {sorted(_BY_KEY)}") from None


def keys() -> list[str]:
    return [r.key for r in RECORDS]


def key_of(cls: type) -> str | None:
    """The key ``cls`` is registered under (``None`` when it is not)."""
    path = f"{cls.__module__}:{cls.__qualname__}"
    for r in RECORDS:
        if r.path() == path or r.target is cls:
            return r.key
    return None


def training_defaults(key: str | None) -> dict:
    """The training settings of model ``key``: the common defaults with its overrides."""
    from .training import common_defaults

    over = _BY_KEY[key].training if key in _BY_KEY else {}
    return {**common_defaults(), **{k: d.value for k, d in over.items()}}


def defaults_table() -> list[dict]:
    """One row per training setting: its common default, and each neural model's value
    where it differs (``{"setting", "common", "<key>": value, ...}``)."""
    from .training import common_defaults

    neural = [r for r in RECORDS if r.neural]
    rows = []
    for name, value in common_defaults().items():
        row = {"setting": name, "common": value}
        row.update({r.key: r.training[name].value for r in neural if name in r.training})
        rows.append(row)
    return rows


def defaults_markdown() -> str:
    """``docs/training-defaults.md``: the table and the reason of every difference."""
    neural = [r for r in RECORDS if r.neural]

    def cell(v):
        return "None" if v is None else f"`{v!r}`" if isinstance(v, str) else f"`{v}`"

    lines = ["# Training defaults of the neural models", "",
             "Generated from `leporid.models.registry` by `defaults_markdown()` "
             "(`tests/test_training_config.py` checks this page against it): the common "
             "defaults are the fields of `leporid.models.training.TrainingConfig`; a model "
             "column shows only the values that differ, each explained below. Every setting "
             "is also a model parameter (`make_model(\"bpr\", lr=0.01)`, `--param lr=0.01`, "
             "`training=TrainingConfig(...)`).", "",
             "| setting | common | " + " | ".join(r.key for r in neural) + " |",
             "|---|---|" + "---|" * len(neural)]
    for row in defaults_table():
        lines.append(f"| {row['setting']} | {cell(row['common'])} | "
                     + " | ".join(cell(row[r.key]) if r.key in row else "" for r in neural)
                     + " |")
    lines += ["", f"`threads`: {_ONE_THREAD}. `init_params=None`: the model's default for "
              "its initialiser (`random` draws N(0, 0.1^2) for BPR-MF, LightGCN, NGCF and "
              "DGCF, the class attribute `random_std`).", "", "## Why they differ", ""]
    for r in neural:
        for name, d in r.training.items():
            lines.append(f"- **{r.key}** `{name}` = {cell(d.value)}: {d.reason}.")
    return "\n".join(lines) + "\n"
