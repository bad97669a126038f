"""Metrics against hand-computed examples (DESIGN.md §3)."""

import math

import numpy as np
import pytest

from leporid.eval.metrics import aggregate, per_user_metrics

L2 = math.log2


def test_per_user_metrics_hand_computed():
    # user A: 1 held-out item, hit at rank 2; user B: 4 held-out items, hits at ranks 1 and 3
    hits = np.array([[0, 1, 0], [1, 0, 1]], bool)
    pu = per_user_metrics(hits, np.array([1, 4]), ks=(1, 3))
    assert pu["HR@1"].tolist() == [0.0, 1.0]
    assert pu["HR@3"].tolist() == [1.0, 1.0]
    assert pu["Precision@1"].tolist() == [0.0, 1.0]
    np.testing.assert_allclose(pu["Precision@3"], [1 / 3, 2 / 3])
    np.testing.assert_allclose(pu["Recall@1"], [0.0, 0.25])
    np.testing.assert_allclose(pu["Recall@3"], [1.0, 0.5])
    np.testing.assert_allclose(pu["F1u@1"], [0.0, 2 * 1 * 0.25 / 1.25])
    np.testing.assert_allclose(pu["F1u@3"], [0.5, 4 / 7])
    # NDCG: A = (1/log2 3) / 1; B = (1 + 1/log2 4) / (1 + 1/log2 3 + 1/log2 4)
    np.testing.assert_allclose(pu["NDCG@1"], [0.0, 1.0])
    np.testing.assert_allclose(pu["NDCG@3"], [1 / L2(3), 1.5 / (1 + 1 / L2(3) + 0.5)])


def test_f1_is_harmonic_mean_of_averaged_precision_and_recall():
    hits = np.array([[0, 1, 0], [1, 0, 1]], bool)
    res = aggregate(per_user_metrics(hits, np.array([1, 4]), ks=(1, 3)), ks=(1, 3))
    assert res["n_users"] == 2
    assert res["HR@3"] == pytest.approx(1.0)
    assert res["Precision@3"] == pytest.approx(0.5)
    assert res["Recall@3"] == pytest.approx(0.75)
    assert res["F1@3"] == pytest.approx(2 * 0.5 * 0.75 / 1.25)          # 0.6
    assert res["F1u@3"] == pytest.approx((0.5 + 4 / 7) / 2)             # 0.5357...
    assert res["F1@3"] != pytest.approx(res["F1u@3"])
    assert res["HR@1"] == pytest.approx(0.5)
    assert res["Recall@1"] == pytest.approx(0.125)
    assert res["F1@1"] == pytest.approx(2 * 0.5 * 0.125 / 0.625)


def test_ndcg_ideal_uses_min_of_k_and_held_out():
    # 12 held-out items, all top 10 are hits -> NDCG@10 = 1 (ideal truncated at 10)
    pu = per_user_metrics(np.ones((1, 10), bool), np.array([12]), ks=(10,))
    assert pu["NDCG@10"][0] == pytest.approx(1.0)
    assert pu["Recall@10"][0] == pytest.approx(10 / 12)
    # one held-out item found at rank 10
    hits = np.zeros((1, 10), bool)
    hits[0, 9] = True
    pu = per_user_metrics(hits, np.array([1]), ks=(5, 10))
    assert pu["NDCG@5"][0] == 0.0
    assert pu["NDCG@10"][0] == pytest.approx(1 / L2(11))
    assert pu["Precision@10"][0] == pytest.approx(0.1)


def test_aggregate_on_subset_and_no_hits():
    hits = np.array([[1, 0], [0, 0], [0, 1]], bool)
    pu = per_user_metrics(hits, np.array([2, 3, 1]), ks=(2,))
    sub = aggregate(pu, (2,), mask=np.array([False, True, False]))
    assert sub["n_users"] == 1
    assert sub["HR@2"] == 0.0 and sub["F1@2"] == 0.0 and sub["NDCG@2"] == 0.0
    sub = aggregate(pu, (2,), mask=np.array([True, False, True]))
    assert sub["HR@2"] == pytest.approx(1.0)
    assert sub["Recall@2"] == pytest.approx((0.5 + 1.0) / 2)
    empty = aggregate(pu, (2,), mask=np.zeros(3, bool))
    assert empty["n_users"] == 0 and math.isnan(empty["HR@2"])


def test_per_user_metrics_rejects_users_without_held_out_items():
    with pytest.raises(ValueError):
        per_user_metrics(np.zeros((1, 3), bool), np.array([0]), ks=(1,))
