"""Hyperparameter search on validation (optuna, seeded TPE), then one test evaluation.

``SEARCH_SPACES[name](trial, **fixed) -> model`` builds an unfitted model from an optuna trial.
Each model class declares its own space (classmethod ``search_space(trial, fixed) -> dict``):
the classic ones over the ranges of Dacrema et al. (RecSys 2019), the neural ones learning rate
1e-4-1e-2 (log) and weight decay 0-1e-2 plus their own key parameters. Keyword arguments pin a
parameter (it is then not searched) or pass a constructor argument through (``seed=...``).

``tune`` fits a model per trial on ``split`` (training data) and scores it on validation only;
``tune_and_test`` then evaluates the chosen model once on test. Test data is never read while
searching.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping

import numpy as np

from .. import DEFAULT_SEED
from ..eval import evaluate
from ..models import MODELS, make_model, model_class


def model_space(name: str) -> Callable:
    """``space(trial, **fixed) -> unfitted model`` from the class's own ``search_space``:
    keyword arguments pin a parameter (it is then not searched) or pass a constructor argument
    through (``seed=...``)."""
    cls = model_class(name)

    def space(trial, **fixed):
        fixed = dict(fixed)
        params = cls.search_space(trial, fixed)
        return make_model(name, **params, **fixed)

    space.__doc__ = cls.search_space.__doc__
    space.__name__ = f"{name}_space"
    return space


class _Spaces(Mapping):
    """``SEARCH_SPACES[name]``: the search space of every registered model (read from the
    model classes, so a new model brings its own)."""

    def __getitem__(self, name: str) -> Callable:
        if name not in MODELS:
            raise KeyError(name)
        return model_space(name)

    def __iter__(self):
        return iter(MODELS)

    def __len__(self) -> int:
        return len(MODELS)


SEARCH_SPACES: Mapping[str, Callable] = _Spaces()


def build(space: Callable, params: dict, **fixed):
    """The model a search space gives for the chosen ``params`` (e.g. ``study.best_params``)."""
    import optuna

    return space(optuna.trial.FixedTrial(dict(params)), **fixed)


@contextlib.contextmanager
def _quiet_optuna():
    import optuna

    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(old)


def _search(make_model: Callable, split, n_trials, timeout, metric, seed, ks, batch_size,
            progress, keep_best):
    """Run the study; return it and (when ``keep_best``) the fitted best model."""
    import optuna
    from tqdm.auto import tqdm

    if n_trials is not None and n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    best = {"value": -np.inf, "model": None}

    def objective(trial):
        t0 = time.perf_counter()
        model = make_model(trial)
        model.fit(split)
        res = evaluate(model, split, "validation", ks=ks, batch_size=batch_size)
        if metric not in res["all"]:
            raise KeyError(f"unknown metric {metric!r}; choose from {sorted(res['all'])}")
        value = float(res["all"][metric])
        trial.set_user_attr("validation", res["all"])
        trial.set_user_attr("validation_tail", res["tail"])
        trial.set_user_attr("seconds", time.perf_counter() - t0)
        if keep_best and value > best["value"]:
            best.update(value=value, model=model)
        return value

    with _quiet_optuna():
        study = optuna.create_study(direction="maximize",
                                    sampler=optuna.samplers.TPESampler(seed=seed))
        bar = tqdm(total=n_trials, desc="tuning", unit="trial", disable=not progress,
                   leave=False)

        def callback(study, trial):
            bar.update(1)
            if trial.state == optuna.trial.TrialState.COMPLETE:
                bar.set_postfix({f"best {metric}": f"{study.best_value:.4f}"})
            if not trial.params:                 # nothing to search: one trial is enough
                study.stop()

        try:
            study.optimize(objective, n_trials=n_trials, timeout=timeout, callbacks=[callback])
        finally:
            bar.close()
    study.set_user_attr("metric", metric)
    return study, best["model"]


def tune(make_model: Callable, split, n_trials: int = 30, timeout: float | None = None,
         metric: str = "HR@10", seed: int = DEFAULT_SEED, ks=(1, 5, 10),
         batch_size: int = 1024, progress: bool = True):
    """Search ``make_model(trial) -> unfitted model`` on validation ``metric`` (maximised).

    Each trial fits on ``split`` and is evaluated on validation only (its validation metrics
    are kept in ``trial.user_attrs["validation"]`` / ``["validation_tail"]``). Optuna's TPE
    sampler is seeded with ``seed``; a space that suggests nothing (TopPop) runs one trial.
    Returns ``(best_params, best_value, study)``.
    """
    study, _ = _search(make_model, split, n_trials, timeout, metric, seed, ks, batch_size,
                       progress, keep_best=False)
    return study.best_params, study.best_value, study


def tune_and_test(make_model: Callable, split, n_trials: int = 30, timeout: float | None = None,
                  metric: str = "HR@10", seed: int = DEFAULT_SEED, ks=(1, 5, 10),
                  batch_size: int = 1024, progress: bool = True,
                  return_topn: bool = False) -> dict:
    """``tune`` on validation, then ONE test evaluation of the chosen (already fitted) model.

    Returns ``{"best_params", "best_value", "metric", "n_trials", "validation": {"all",
    "tail"}, "test": evaluate(...) result, "model", "study"}``.
    """
    study, model = _search(make_model, split, n_trials, timeout, metric, seed, ks, batch_size,
                           progress, keep_best=True)
    test = evaluate(model, split, "test", ks=ks, batch_size=batch_size,
                    return_topn=return_topn)
    best = study.best_trial
    done = [t for t in study.trials if t.state.is_finished()]
    return {"best_params": study.best_params, "best_value": study.best_value, "metric": metric,
            "n_trials": len(done),
            "validation": {"all": best.user_attrs["validation"],
                           "tail": best.user_attrs["validation_tail"]},
            "test": test, "model": model, "study": study}


def tune_model(name: str, split, n_trials: int = 30, **kwargs) -> dict:
    """``tune_and_test`` over ``SEARCH_SPACES[name]``; ``fixed`` (dict) pins parameters."""
    fixed = dict(kwargs.pop("fixed", None) or {})
    space = model_space(name)
    return tune_and_test(lambda trial: space(trial, **fixed), split, n_trials, **kwargs)
