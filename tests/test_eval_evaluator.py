"""The evaluator: hand-computed cases, candidate masking, tie-breaking, tail users, a slow
pure-Python reference on random scores with ties, and the CSV exports."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from leporid.data import Interactions, prepare
from leporid.data.split import Split
from leporid.data.synthetic import power_law_interactions
from leporid.eval import evaluate, export_split_csv, save_recommendations, tail_users
from leporid.models.base import top_k


class FixedScores:
    """A 'model' that returns rows of a fixed score matrix (optionally as a torch tensor)."""

    def __init__(self, scores, as_torch=False):
        self.scores, self.as_torch, self.calls = np.asarray(scores), as_torch, []

    def fit(self, split):
        return self

    def score(self, users, part):
        self.calls.append((part, np.asarray(users).copy()))
        out = self.scores[np.asarray(users)]
        if self.as_torch:
            import torch

            return torch.from_numpy(out.copy())
        return out.copy()


def tiny_split() -> Split:
    """3 users (raw 10, 20, 30), 8 items (raw 100..107), parts given explicitly."""
    rows = [  # (user, item, part)
        (10, 100, 0), (10, 101, 0), (10, 102, 0), (10, 103, 1), (10, 104, 2), (10, 105, 2),
        (20, 100, 0), (20, 106, 0), (20, 107, 1), (20, 101, 2),
        (30, 101, 0), (30, 102, 0), (30, 103, 0),
    ]
    u, i, p = map(np.array, zip(*rows))
    inter = Interactions.from_raw(u, i, timestamps=np.arange(len(u), dtype=float))
    return Split(inter, p.astype(np.int8))


TINY_SCORES = np.array([
    [9, 8, 7, 6, 1, 5, 4, 3],
    [5, 2, 2, 2, 2, 9, 0, 2],
    [0, 0, 0, 0, 0, 0, 0, 0],
], np.float32)


def test_hand_computed_test_and_validation():
    split = tiny_split()
    res = evaluate(FixedScores(TINY_SCORES), split, "test", ks=(1, 5), return_topn=True,
                   tail_fraction=0.5)
    assert res["users"].tolist() == [0, 1]                 # user 2 has nothing held out
    # user 0: candidates 4,5,6,7 ranked 5,6,7,4 (+ padding); user 1: 5 then ties 1,2,3,4
    assert res["topn"].tolist() == [[5, 6, 7, 4, -1], [5, 1, 2, 3, 4]]
    a = res["all"]
    assert a["n_users"] == 2
    assert a["HR@1"] == pytest.approx(0.5) and a["HR@5"] == pytest.approx(1.0)
    assert a["Precision@1"] == pytest.approx(0.5)
    assert a["Recall@1"] == pytest.approx(0.25)
    assert a["Precision@5"] == pytest.approx(0.3)
    assert a["Recall@5"] == pytest.approx(1.0)
    assert a["F1@5"] == pytest.approx(2 * 0.3 / 1.3)
    assert a["F1u@5"] == pytest.approx((2 * 0.4 / 1.4 + 2 * 0.2 / 1.2) / 2)
    ndcg0 = (1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    ndcg1 = 1 / math.log2(3)
    assert a["NDCG@5"] == pytest.approx((ndcg0 + ndcg1) / 2)
    # tail (fraction 0.5 of 3 users -> 1 user): user 1 has the fewest training items
    t = res["tail"]
    assert t["n_users"] == 1 and t["HR@1"] == 0.0 and t["HR@5"] == 1.0
    assert t["NDCG@5"] == pytest.approx(ndcg1)

    val = evaluate(FixedScores(TINY_SCORES), split, "validation", ks=(1, 5), return_topn=True)
    # user 0 candidates 3..7 -> 3,5,6,7,4 ; user 1 excludes 0,6 -> 5,1,2,3,4 (7 is tied, last)
    assert val["topn"].tolist() == [[3, 5, 6, 7, 4], [5, 1, 2, 3, 4]]
    assert val["all"]["HR@1"] == pytest.approx(0.5)
    assert val["all"]["HR@5"] == pytest.approx(0.5)
    assert val["all"]["Recall@5"] == pytest.approx(0.5)


def test_train_and_validation_items_never_recommended():
    split = prepare(power_law_interactions(80, 50, 2500, min_per_user=8, seed=3), min_count=5)
    rng = np.random.default_rng(0)
    # a model that puts the user's training + validation items on top
    seen = split.matrix("train", "validation").toarray()
    scores = (seen * 100 + rng.random(seen.shape)).astype(np.float32)
    for part, excluded in (("validation", split.train), ("test", split.matrix("train",
                                                                              "validation"))):
        res = evaluate(FixedScores(scores), split, part, return_topn=True, batch_size=13)
        ex = excluded.toarray().astype(bool)
        top = res["topn"]
        assert (top >= 0).all()
        assert not ex[res["users"][:, None], top].any()
    # validation items ARE candidates at validation time: they must show up there
    val = evaluate(FixedScores(scores), split, "validation", return_topn=True)
    v = split.validation.toarray().astype(bool)
    assert v[val["users"][:, None], val["topn"]].any()


def test_torch_tensor_scores_and_batching_give_identical_results():
    split = prepare(power_law_interactions(70, 40, 2000, min_per_user=8, seed=5), min_count=5)
    scores = np.random.default_rng(1).integers(0, 4, (split.n_users, split.n_items))
    ref = evaluate(FixedScores(scores.astype(np.float32)), split, "test", return_topn=True)
    tor = evaluate(FixedScores(scores.astype(np.float32), as_torch=True), split, "test",
                   return_topn=True, batch_size=9)
    np.testing.assert_array_equal(ref["topn"], tor["topn"])
    assert ref["all"] == tor["all"] and ref["tail"] == tor["tail"]


def test_nan_scores_are_an_error_and_infinities_rank_within_candidates():
    split = tiny_split()
    bad = TINY_SCORES.copy()
    bad[0, 5] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        evaluate(FixedScores(bad), split, "test")
    inf = TINY_SCORES.copy()
    inf[1, :] = -np.inf                    # every candidate -inf: still ranked, lower index first
    inf[0, 4] = np.inf
    res = evaluate(FixedScores(inf), split, "test", ks=(1, 5), return_topn=True)
    assert res["topn"].tolist() == [[4, 5, 6, 7, -1], [1, 2, 3, 4, 5]]


def test_wrong_score_shape_is_an_error():
    with pytest.raises(ValueError, match="shape"):
        evaluate(FixedScores(TINY_SCORES[:, :5]), tiny_split(), "test")


def test_top_k_deterministic_tie_breaking_matches_full_sort():
    rng = np.random.default_rng(7)
    for n in (1, 5, 37):
        s = rng.integers(0, 3, (50, n)).astype(np.float32)
        for k in (1, 2, 5, 10, 40):
            ref = np.lexsort((np.broadcast_to(np.arange(n), s.shape), -s), axis=1)[:, :k]
            np.testing.assert_array_equal(top_k(s, k), ref)
    assert top_k(np.array([[1.0, 3.0, 3.0, 2.0, 3.0]]), 2).tolist() == [[1, 2]]


def test_tail_users_fewest_training_interactions_ties_by_index():
    # training counts per user: 5, 2, 3, 2, 7, 2, 9, 4  -> sorted (count, index): 1,3,5,2,7,...
    counts = [5, 2, 3, 2, 7, 2, 9, 4]
    rows, cols = [], []
    for u, c in enumerate(counts):
        rows += [u] * c
        cols += list(range(c))
    inter = Interactions.from_raw(np.array(rows), np.array(cols))
    split = Split(inter, np.zeros(len(rows), np.int8))
    assert tail_users(split, 0.25).tolist() == [1, 3]           # floor(0.25 * 8) = 2
    assert tail_users(split, 0.5).tolist() == [1, 2, 3, 5]
    assert tail_users(split, 0.3).tolist() == [1, 3]           # floor(2.4) = 2
    assert tail_users(split, 0.0).tolist() == []
    assert tail_users(split, 1.0).tolist() == list(range(8))


# --- a slow, independent reference -----------------------------------------------------------

def reference_evaluate(scores, split, part, ks, tail_fraction):
    train = {u: set(split.train[u].indices) for u in range(split.n_users)}
    val = {u: set(split.validation[u].indices) for u in range(split.n_users)}
    test = {u: set(split.test[u].indices) for u in range(split.n_users)}
    held = val if part == "validation" else test
    counts = sorted((len(train[u]), u) for u in range(split.n_users))
    tail = {u for _, u in counts[:int(tail_fraction * split.n_users)]}
    per_user, tops = [], []
    for u in range(split.n_users):
        if not held[u]:
            continue
        seen = train[u] if part == "validation" else train[u] | val[u]
        cand = [i for i in range(split.n_items) if i not in seen]
        ranked = sorted(cand, key=lambda i: (-scores[u][i], i))[:max(ks)]
        tops.append(ranked)
        m = {}
        for k in ks:
            h = sum(1 for i in ranked[:k] if i in held[u])
            p, r = h / k, h / len(held[u])
            dcg = sum(1 / math.log2(rank + 2) for rank, i in enumerate(ranked[:k]) if i in held[u])
            idcg = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(held[u]))))
            m.update({f"HR@{k}": float(h > 0), f"Precision@{k}": p, f"Recall@{k}": r,
                      f"F1u@{k}": 2 * p * r / (p + r) if p + r else 0.0,
                      f"NDCG@{k}": dcg / idcg})
        per_user.append((u, m))

    def agg(users):
        rows = [m for u, m in per_user if u in users]
        out = {"n_users": len(rows)}
        for k in ks:
            for name in ("HR", "Precision", "Recall", "F1u", "NDCG"):
                out[f"{name}@{k}"] = sum(r[f"{name}@{k}"] for r in rows) / len(rows)
            p, r = out[f"Precision@{k}"], out[f"Recall@{k}"]
            out[f"F1@{k}"] = 2 * p * r / (p + r) if p + r else 0.0
        return out

    return agg({u for u, _ in per_user}), agg(tail), tops


@pytest.mark.parametrize("part", ["validation", "test"])
def test_evaluator_matches_slow_reference_on_random_scores_with_ties(part):
    split = prepare(power_law_interactions(90, 60, 3000, min_per_user=6, seed=11), min_count=4)
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 6, (split.n_users, split.n_items)).astype(np.float32) / 2
    ks = (1, 5, 10)
    res = evaluate(FixedScores(scores), split, part, ks=ks, batch_size=16, return_topn=True)
    ref_all, ref_tail, ref_top = reference_evaluate(scores.tolist(), split, part, ks, 0.25)
    assert res["topn"].tolist() == ref_top
    for got, ref in ((res["all"], ref_all), (res["tail"], ref_tail)):
        assert got["n_users"] == ref["n_users"] > 0
        for key, value in ref.items():
            assert got[key] == pytest.approx(value, abs=1e-12), key


# --- exports -----------------------------------------------------------------------------------

def test_exports_let_anyone_recompute_the_metrics(tmp_path):
    split = prepare(power_law_interactions(60, 45, 2000, min_per_user=8, seed=4), min_count=5)
    scores = np.random.default_rng(9).random((split.n_users, split.n_items)).astype(np.float32)
    res = evaluate(FixedScores(scores), split, "test", return_topn=True)
    recs = save_recommendations(tmp_path / "recs.csv", split, res["users"], res["topn"])
    parts = export_split_csv(split, tmp_path / "split.csv")

    r = pd.read_csv(recs)
    s = pd.read_csv(parts)
    assert list(r.columns) == ["user", "rank", "item"]
    assert list(s.columns) == ["user", "item", "timestamp", "part"]
    assert len(s) == len(split.interactions)
    assert set(s["part"]) == {"train", "validation", "test"}
    assert (r.groupby("user").size() == 10).all() and r["rank"].min() == 1
    assert r["rank"].max() == 10
    # raw ids, not indices
    assert set(r["user"]) <= set(split.user_ids.tolist())
    assert set(r["item"]) <= set(split.item_ids.tolist())
    # recompute HR@10 and Recall@10 from the two files alone
    test = s[s.part == "test"].groupby("user")["item"].apply(set)
    seen = s[s.part != "test"].groupby("user")["item"].apply(set)
    top = r.sort_values(["user", "rank"]).groupby("user")["item"].apply(list)
    assert not any(set(top[u]) & seen.get(u, set()) for u in top.index)
    hr = np.mean([bool(set(top[u]) & test[u]) for u in test.index])
    rec = np.mean([len(set(top[u]) & test[u]) / len(test[u]) for u in test.index])
    assert hr == pytest.approx(res["all"]["HR@10"])
    assert rec == pytest.approx(res["all"]["Recall@10"])


def test_split_export_orders_rows_and_keeps_raw_ids(tmp_path):
    split = tiny_split()
    df = pd.read_csv(export_split_csv(split, tmp_path / "s.csv"))
    assert df["user"].tolist()[:6] == [10] * 6
    assert df[df.user == 20]["item"].tolist() == [100, 106, 107, 101]
    assert df[df.user == 20]["part"].tolist() == ["train", "train", "validation", "test"]
    assert df["timestamp"].is_monotonic_increasing


def test_recommendations_skip_padding(tmp_path):
    split = tiny_split()
    res = evaluate(FixedScores(TINY_SCORES), split, "test", ks=(1, 5), return_topn=True)
    df = pd.read_csv(save_recommendations(tmp_path / "r.csv", split, res["users"],
                                          res["topn"]))
    assert df[df.user == 10]["item"].tolist() == [105, 106, 107, 104]
    assert df[df.user == 20]["rank"].tolist() == [1, 2, 3, 4, 5]
    assert sp.issparse(split.test)


def test_user_subset_and_progress_bar(monkeypatch, capsys):
    import leporid.eval.evaluator as ev

    split = prepare(power_law_interactions(70, 40, 2000, min_per_user=8, seed=5), min_count=5)
    scores = np.random.default_rng(1).random((split.n_users, split.n_items)).astype(np.float32)
    full = evaluate(FixedScores(scores), split, "validation", return_topn=True)
    sub = full["users"][::3]
    part = evaluate(FixedScores(scores), split, "validation", users=np.r_[sub, sub[:2]],
                    return_topn=True)
    np.testing.assert_array_equal(part["users"], sub)
    np.testing.assert_array_equal(part["topn"], full["topn"][::3])
    assert part["all"]["n_users"] == len(sub)
    with pytest.raises(ValueError, match="users"):
        evaluate(FixedScores(scores), split, "validation", users=[split.n_users])
    # auto progress: a large evaluation shows no bar when stderr is not a terminal
    monkeypatch.setattr(ev, "PROGRESS_PAIRS", 1)
    capsys.readouterr()
    evaluate(FixedScores(scores), split, "validation", batch_size=5)
    assert "evaluate validation" not in capsys.readouterr().err
    evaluate(FixedScores(scores), split, "validation", batch_size=5, progress=True)
    assert "evaluate validation" in capsys.readouterr().err
    evaluate(FixedScores(scores), split, "validation", batch_size=5, progress=False)
    assert capsys.readouterr().err == ""
