"""What one grid cell computes: a tuned classic model, a neural model from an initialisation, or
a DLR² variant — each evaluated once on test with per-user metrics for the paired tests.

Models are reached only through their public entry points: ``leporid.models.MODELS`` /
``make_model`` / ``model_class`` (discovered at run time, so models registered later take part;
every neural model, DLR² included, is started from the initial embeddings through its ``init``
parameter), the initialiser registry ``leporid.init``, ``leporid.train.tuning.tune_model`` for
the classic models, ``leporid.eval.evaluate(..., per_user=True)``.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..results import jsonable
from .grid import Budget, Cell, CellCache, run_cells

#: the paper's classic models (Table 4's upper group); BPR-MF is Table 4's MF baseline
CLASSIC = ("toppop", "userknn", "itemknn", "slim")
#: Table 3's neural models and initialisers, in the paper's order (registry names)
PAPER_NEURAL = ("ncf", "ngcf", "dgcf", "hgn", "dlr2")
PAPER_INITS = ("random", "svd", "bpr", "netmf", "node2vec", "graphbert", "le", "leporid")
SPECTRAL = ("le", "leporid")
#: per-user metrics kept for the paired tests (HR is 0/1, the others in [0, 1])
PER_USER = ("HR@5", "HR@10", "Precision@5", "Precision@10", "Recall@5", "Recall@10",
            "F1u@5", "F1u@10", "NDCG@10")
SUMMARY = ("HR@1", "HR@5", "HR@10", "F1@1", "F1@5", "F1@10", "Precision@10", "Recall@10",
           "NDCG@10", "F1u@10", "n_users")


class Planned(Exception):  # noqa: N818 - a signal, not an error
    """Raised by ``Context.run`` while planning: the cells an artefact would run."""

    def __init__(self, cells: list[Cell]):
        super().__init__(f"{len(cells)} cells")
        self.cells = cells


@dataclass
class Context:
    """Everything an artefact needs: the split, budget, device, cache and output folder."""

    split: object
    budget: Budget
    out: Path
    dataset: str = ""
    device: str = "cpu"
    progress: bool = True
    fresh: bool = False
    #: torch CPU threads (``--threads``; None: torch's default), set wherever cells run
    threads: int | None = None
    #: a ``GridCluster`` running the cells as Dask tasks (None: one after the other, here)
    cluster: object = field(default=None, repr=False, compare=False)
    #: ``--models`` / ``--inits``: the only models / initialisations Tables 3-5 run (None: all)
    models: tuple[str, ...] | None = None
    inits: tuple[str, ...] | None = None
    _embeddings: dict = field(default_factory=dict, repr=False)
    _planning: bool = field(default=False, repr=False)
    seconds: dict = field(default_factory=dict)
    hosts: dict = field(default_factory=dict)

    def __post_init__(self):
        self.out = Path(self.out)
        self.cache = CellCache(self.out / "cache" / "cells", self.fresh)
        self.fingerprint = self.split.fingerprint() if self.split is not None else None

    def __getstate__(self) -> dict:
        """What a worker gets (once per run, scattered): the data and settings that cells read,
        not this process's embeddings, cluster or timings."""
        return {**self.__dict__, "_embeddings": {}, "cluster": None, "seconds": {},
                "hosts": {}}

    @property
    def protocol(self) -> str:
        return getattr(self.split, "protocol", "kcore") if self.split is not None else "-"

    @property
    def seeds(self) -> tuple[int, ...]:
        return tuple(self.budget.seeds)

    def chosen(self, kind: str, names) -> list[str]:
        """``names`` (models or inits, per ``kind``) restricted to the user's selection."""
        keep = getattr(self, kind)
        return [n for n in names if keep is None or n in keep]

    def selection_notes(self, **offered) -> list[str]:
        """One note per kind (``models=[...]``, ``inits=[...]``) the selection left out of an
        artefact, so a partial table says it is partial."""
        notes = []
        for kind, names in offered.items():
            left = [n for n in names if n not in self.chosen(kind, names)]
            if left:
                notes.append(f"left out by --{kind}: " + ", ".join(left))
        return notes

    def base(self) -> dict:
        """The part of every cell's configuration that the data and budget decide."""
        return {"data": self.fingerprint, "protocol": self.protocol, "dim": self.budget.dim}

    @contextmanager
    def planning(self):
        """Within the block, ``run`` raises ``Planned`` with its cells instead of running them
        (``reproduce`` submits a whole grid to a cluster at once)."""
        self._planning = True
        try:
            yield
        finally:
            self._planning = False

    def run(self, cells: list[Cell], desc: str) -> list[dict]:
        """Run ``cells`` through the cache; ``seconds[desc]`` = their summed compute time,
        ``hosts[desc]`` = the machines that computed them (a cache filled elsewhere, e.g. on a
        GPU machine, shows; cells cached before hosts were recorded count as none)."""
        if self._planning:
            raise Planned(cells)
        res = run_cells(cells, self.cache, self.fingerprint, self.progress, desc, ctx=self,
                        cluster=self.cluster)
        self.seconds[desc] = round(sum(r.get("seconds", 0.0) for r in res), 2)
        self.hosts[desc] = sorted({h for r in res if (h := r.get("provenance", {}).get("host"))})
        return res

    # -- embeddings, computed once per run ------------------------------------------------
    def embeddings(self, init: str, init_params: dict, seed: int):
        from ..init import initialize

        key = json.dumps([init, init_params, seed], sort_keys=True)
        if key not in self._embeddings:
            params = dict(init_params)
            if init in SPECTRAL:
                params.setdefault("device", self.device)
            self._embeddings[key] = initialize(init, self.split.train, self.budget.dim, seed,
                                               **params)
        return self._embeddings[key]


def registered_models() -> list[str]:
    from ..models import MODELS

    return list(MODELS)


def registered_inits() -> list[str]:
    from ..init import available

    return list(available())


def neural_models() -> list[str]:
    """Table 3's models: the paper's neural models that are registered, in its order, then any
    other registered neural model but BPR-MF (Table 4's MF baseline), e.g. LightGCN."""
    from ..models import neural_models as registered_neural

    neural = registered_neural()
    return ([m for m in PAPER_NEURAL if m in neural]
            + [m for m in neural if m not in PAPER_NEURAL and m != "bpr"])


def table3_inits() -> list[str]:
    reg = registered_inits()
    return [i for i in PAPER_INITS if i in reg] + [i for i in reg if i not in PAPER_INITS]


def init_params(ctx: Context, init: str, **overrides) -> dict:
    """Canonical initialiser parameters (K for the spectral ones), so equal cells hash equal."""
    p = {"n_neighbors": ctx.budget.neighbors} if init in SPECTRAL else {}
    if init == "leporid":
        p["alpha"] = 0.5
    p.update(overrides)
    return p


# --------------------------------------------------------------------------- results
def summarize(res: dict) -> dict:
    """The JSON-ready part of an ``evaluate(..., per_user=True)`` result."""
    pu = res["per_user"]
    per_user = {m: np.round(pu[m], 6).tolist() for m in PER_USER if m in pu}
    return {"test": {"all": {k: res["all"][k] for k in SUMMARY if k in res["all"]},
                     "tail": {k: res["tail"][k] for k in SUMMARY if k in res["tail"]}},
            "users": np.asarray(res["users"]).tolist(),
            "in_tail": np.asarray(res["in_tail"]).astype(int).tolist(),
            "per_user": per_user}


def _evaluate(model, split) -> dict:
    from ..eval import evaluate

    return summarize(evaluate(model, split, "test", per_user=True))


# --------------------------------------------------------------------------- classic models
def classic_cell(ctx: Context, model: str, seed: int, init: str | None = None) -> Cell:
    """A classic model tuned on validation (``tune_model``), tested once. ``init`` (BPR-MF
    only) starts BPR-MF from an initialiser's embeddings (factors = 𝒟)."""
    trials = 1 if model == "toppop" else ctx.budget.trials
    cfg = {**ctx.base(), "kind": "classic", "model": model, "init": init or "-",
           "init_params": _bpr_init_params(ctx, init) if init else {}, "trials": trials,
           "fixed": ctx.budget.bpr if model == "bpr" else {}, "seed": seed}
    return Cell(cfg, _classic)


def _classic(c: dict, ctx: Context) -> dict:
    from ..train.tuning import tune_model

    model, init, seed = c["model"], c["init"], c["seed"]
    fixed = dict(c["fixed"])
    if model == "bpr":
        fixed["device"] = ctx.device
    if init != "-":
        emb = ctx.embeddings(init, c["init_params"], seed)
        fixed.update(embedding_params(emb, ctx.budget.dim))
    res = tune_model(model, ctx.split, n_trials=c["trials"], seed=seed, progress=False,
                     fixed=fixed)
    return {**_evaluate(res["model"], ctx.split), "params": jsonable(res["best_params"])}


# --------------------------------------------------------------------------- neural models
def _bpr_init_params(ctx: Context, init: str) -> dict:
    from ..models import model_class
    from ..models.embedding import init_params_for

    return init_params_for(model_class("bpr"), init, init_params(ctx, init))


def embedding_params(emb, dim: int) -> dict:
    """Constructor keywords that start a neural model from the arrays ``emb`` (every neural
    model takes ``init`` = an initialiser name or a (user, item) array pair, and ``dim``)."""
    return {"init": tuple(emb), "dim": dim}


def fit_neural(ctx: Context, name: str, init: str, ip: dict, seed: int, params: dict):
    """Model ``name`` started from ``init``'s embeddings (computed once per run), fitted with
    the common training options (``seed``, ``device``, the budget's ``neural`` options for
    models other than DLR²) and ``params``. Common options the model does not take are left
    out; a variant option (``params``) it does not take is an error."""
    from ..models import make_model, model_class

    emb = ctx.embeddings(init, ip, seed)
    generic = {"seed": seed, "device": ctx.device,
               **(ctx.budget.neural if name != "dlr2" else {})}
    known = set(model_class(name)._param_names())
    kw = {**{k: v for k, v in generic.items() if k in known}, **params}
    return make_model(name, **kw, **embedding_params(emb, ctx.budget.dim)).fit(ctx.split)


def dlr2_cell(ctx: Context, init: str, seed: int, iparams: dict | None = None,
              **variant) -> Cell:
    """DLR² from ``init`` (``iparams`` override its parameters) with the budget's training
    settings and a ``variant`` (arch, loss, score_with, ...)."""
    ip = init_params(ctx, init, **(iparams or {}))
    dlr2 = {**ctx.budget.dlr2, **variant}
    cfg = {**ctx.base(), "kind": "dlr2", "model": "dlr2", "init": init, "init_params": ip,
           "dlr2": dlr2, "seed": seed}
    return Cell(cfg, _neural)


def neural_cell(ctx: Context, model: str, init: str, seed: int) -> Cell:
    """Any registered neural model started from ``init``'s embeddings (DLR² via ``dlr2_cell``)."""
    if model == "dlr2":
        return dlr2_cell(ctx, init, seed)
    from ..models import model_class
    from ..models.embedding import init_params_for

    ip = init_params_for(model_class(model), init, init_params(ctx, init))
    cfg = {**ctx.base(), "kind": "neural", "model": model, "init": init, "init_params": ip,
           "params": dict(ctx.budget.neural), "seed": seed}
    return Cell(cfg, _neural)


def _neural(c: dict, ctx: Context) -> dict:
    """A neural model's cell (DLR²'s variant options are ``c["dlr2"]``)."""
    return _evaluate(fit_neural(ctx, c["model"], c["init"], c["init_params"], c["seed"],
                                c.get("dlr2", {})), ctx.split)


# --------------------------------------------------------------------------- aggregation
def by_seed(results: list[dict]) -> list[dict]:
    """Drop failed cells (reported elsewhere)."""
    return [r for r in results if "error" not in r]


def mean_std(results: list[dict], metric: str, subset: str = "all") -> tuple[float, float]:
    vals = [r["test"][subset][metric] for r in by_seed(results)]
    if not vals:
        return float("nan"), float("nan")
    return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0


def per_user_runs(results: list[dict], metric: str, tail: bool = False) -> np.ndarray:
    """Per-user values of every successful run, shape (runs, users) (users aligned: one
    split), optionally the tail users only; (0, 0) when no run succeeded."""
    ok = by_seed(results)
    if not ok:
        return np.zeros((0, 0))
    arr = np.array([np.asarray(r["per_user"][metric], float) for r in ok])
    if tail:
        arr = arr[:, np.asarray(ok[0]["in_tail"], bool)]
    return arr


def errors(results: list[dict]) -> list[str]:
    return sorted({r["error"] for r in results if "error" in r})
