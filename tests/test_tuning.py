"""Tuning selects on validation only, tests once, is seeded; search spaces; the CLI."""

import json

import numpy as np
import optuna
import pandas as pd
import pytest

from leporid.data import prepare
from leporid.data.synthetic import power_law_interactions
from leporid.models import ItemKNN, TopPop
from leporid.train.tuning import SEARCH_SPACES, build, tune, tune_and_test, tune_model


@pytest.fixture(scope="module")
def split():
    return prepare(power_law_interactions(80, 40, 2500, min_per_user=10, seed=21), min_count=5)


class Oracle:
    """Quality ``q`` in {0, 1, 2}: the larger q, the better on validation and the WORSE on
    test (it ranks the held-out items of one part first or last). Logs every scored part."""

    log: list = []

    def __init__(self, q: int):
        self.q = q

    def fit(self, split):
        self.split = split
        return self

    def score(self, users, part):
        Oracle.log.append(part)
        held = (self.split.validation if part == "validation" else self.split.test)[users]
        noise = np.random.default_rng(0).random((len(users), self.split.n_items))
        good = self.q / 2 if part == "validation" else 1 - self.q / 2
        return (held.toarray() * (2 * good - 1) * 10 + noise).astype(np.float32)


def oracle_space(trial):
    return Oracle(trial.suggest_int("q", 0, 2))


def test_tune_selects_on_validation_and_never_reads_test(split):
    Oracle.log = []
    params, value, study = tune(oracle_space, split, n_trials=12, seed=1, progress=False)
    assert params == {"q": 2}
    assert value == pytest.approx(1.0)                  # validation HR@10 of the oracle
    assert "test" not in Oracle.log and Oracle.log
    assert all("validation" in t.user_attrs for t in study.trials)


def test_tune_and_test_evaluates_the_chosen_model_once_on_test(split):
    Oracle.log = []
    res = tune_and_test(oracle_space, split, n_trials=12, seed=1, progress=False,
                        batch_size=10_000, return_topn=True)
    assert res["best_params"] == {"q": 2} and res["model"].q == 2
    assert Oracle.log.count("test") == 1                # one batch, one test evaluation
    assert Oracle.log[-1] == "test"                     # ... after all of the search
    assert res["validation"]["all"]["HR@10"] == pytest.approx(1.0)
    assert res["test"]["all"]["HR@10"] < 0.5            # bad on test, still chosen
    assert res["test"]["topn"].shape == (res["test"]["all"]["n_users"], 10)
    assert res["n_trials"] == 12


def test_tuning_is_seeded(split):
    a = tune(SEARCH_SPACES["itemknn"], split, n_trials=4, seed=5, progress=False)[2]
    b = tune(SEARCH_SPACES["itemknn"], split, n_trials=4, seed=5, progress=False)[2]
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert [t.value for t in a.trials] == [t.value for t in b.trials]


def test_search_spaces_build_models_and_pin_parameters(split):
    for name, space in SEARCH_SPACES.items():
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        model = space(study.ask())
        assert hasattr(model, "fit") and hasattr(model, "score"), name
    m = build(SEARCH_SPACES["itemknn"], {"similarity": "tversky", "topk": 17, "shrink": 3,
                                         "tversky_alpha": 0.5, "tversky_beta": 1.0})
    assert isinstance(m, ItemKNN) and m.topk == 17 and m.tversky_alpha == 0.5
    study = optuna.create_study()
    trial = study.ask()
    pinned = SEARCH_SPACES["userknn"](trial, similarity="jaccard", topk=9, fold_in=False)
    assert (pinned.similarity, pinned.topk, pinned.fold_in) == ("jaccard", 9, False)
    assert "similarity" not in trial.params and "topk" not in trial.params
    slim = SEARCH_SPACES["slim"](optuna.create_study().ask())
    assert 1e-5 <= slim.l1_ratio <= 1 and 1e-3 <= slim.alpha <= 1 and 5 <= slim.topk <= 1000


def test_toppop_runs_a_single_trial(split):
    res = tune_model("toppop", split, n_trials=20, progress=False)
    assert res["n_trials"] == 1 and isinstance(res["model"], TopPop)
    with pytest.raises(KeyError):
        tune_model("nope", split, n_trials=1)


def test_cli_evaluate_writes_results_and_recomputable_csvs(tmp_path, capsys):
    from leporid.cli import main

    recs, splitcsv = tmp_path / "recs.csv", tmp_path / "split.csv"
    rc = main(["evaluate", "--dataset", "ml-latest-small", "--model", "itemknn",
               "--param", "topk=50", "--param", "similarity=jaccard", "--out", str(tmp_path),
               "--save-recommendations", str(recs), "--save-split", str(splitcsv)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "| test | tail |" in out and "HR@10" in out and "NDCG@10" in out
    meta = json.loads((tmp_path / "evaluate_ml-latest-small_itemknn.json").read_text())
    assert meta["seed"] == 123 and meta["data_fingerprint"] and meta["leporid_version"]
    assert meta["config"]["params"]["topk"] == 50
    assert meta["config"]["params"]["similarity"] == "jaccard"
    rows = {(r["part"], r["users"]): r for r in meta["rows"]}
    assert set(rows) == {("validation", "all"), ("validation", "tail"), ("test", "all"),
                         ("test", "tail")}
    assert (tmp_path / "evaluate_ml-latest-small_itemknn.csv").exists()
    assert (tmp_path / "evaluate_ml-latest-small_itemknn.md").exists()
    # anyone can recompute test HR@10 from the two CSV files
    r, s = pd.read_csv(recs), pd.read_csv(splitcsv)
    test = s[s.part == "test"].groupby("user")["item"].apply(set)
    top = r.groupby("user")["item"].apply(set)
    hr = np.mean([bool(top[u] & test[u]) for u in test.index])
    assert hr == pytest.approx(rows[("test", "all")]["HR@10"])

    rc = main(["evaluate", "--dataset", "ml-latest-small", "--model", "userknn", "--tune",
               "--trials", "2", "--param", "similarity=cosine", "--out", str(tmp_path)])
    assert rc == 0
    meta = json.loads((tmp_path / "evaluate_ml-latest-small_userknn.json").read_text())
    assert meta["config"]["tune"]["trials"] == 2
    assert meta["config"]["params"]["similarity"] == "cosine"
    assert (tmp_path / "evaluate_ml-latest-small_userknn_trials.csv").exists()
