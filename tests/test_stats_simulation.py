"""The verdict statistics validated by simulation (issue 20), on the model: user u succeeds with
p_u ~ Beta(2, 3); a method adds δ; each (method, seed) run adds s ~ N(0, σ_s); user u's HR@10
in that run is Bernoulli(clip(p_u + δ + s, 0, 1)); 6,040 users (ML-1M's count). Each check
runs ≥ 200 replicates with a fixed seed (deterministic)."""

import numpy as np
import pytest

from leporid.experiments.stats import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    claim,
    compare,
    compare_gain,
    holm,
)

USERS = 6040
REPS = 400


def _runs(rng, p, delta, sigma_s, seeds):
    """(seeds, users) 0/1 hits of one method: one seed effect per run."""
    s = rng.normal(0, sigma_s, (seeds, 1))
    return (rng.random((seeds, len(p))) < np.clip(p + delta + s, 0, 1)).astype(float)


def _rates(delta, sigma_s, seeds, relation=">", margin=None, reps=REPS, seed=0):
    rng = np.random.default_rng(seed)
    counts = {HOLDS: 0, FAILS: 0, INCONCLUSIVE: 0}
    for _ in range(reps):
        p = rng.beta(2, 3, USERS)           # a fresh test set of users per replicate
        a = _runs(rng, p, delta, sigma_s, seeds)
        b = _runs(rng, p, 0.0, sigma_s, seeds)
        counts[compare(a, b, relation, margin)["verdict"]] += 1
    return {k: v / reps for k, v in counts.items()}


def test_a_a_with_three_seeds_keeps_its_level():
    r = _rates(0.0, 0.01, 3)
    assert r[HOLDS] + r[FAILS] <= 0.07, r


def test_a_planted_difference_is_found_with_five_seeds():
    r = _rates(0.03, 0.01, 5, seed=1)
    assert r[HOLDS] >= 0.80 and r[FAILS] == 0, r


def test_equivalence_holds_when_equal_and_never_when_far_apart():
    same = _rates(0.0, 0.005, 10, "≈", 0.01, seed=2)
    assert same[HOLDS] >= 0.70, same
    far = _rates(0.05, 0.005, 10, "≈", 0.01, seed=3)
    assert far[HOLDS] == 0 and far[FAILS] >= 0.95, far


def test_one_or_two_seeds_are_always_inconclusive_with_the_user_level_line():
    rng = np.random.default_rng(4)
    p = rng.beta(2, 3, USERS)
    for n in (1, 2):
        a, b = _runs(rng, p, 0.2, 0.01, n), _runs(rng, p, 0.0, 0.01, n)
        out = compare(a, b)
        assert out["verdict"] == INCONCLUSIVE and out["reason"] == f"{n} seed" + "s" * (n > 1)
        assert out["user_level"]["p"] < 1e-10 and out["mean_diff"] > 0.15
        assert out["n_seeds"] == n
    assert compare(a[:1], b[:1])["ci"] == [None, None]


def test_the_interval_matches_a_welch_t_on_run_means_when_users_agree():
    """Without a method × user interaction the interval is Welch's on the per-run means."""
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(5)
    p = rng.beta(2, 3, 3000)
    a, b = _runs(rng, p, 0.02, 0.01, 4), _runs(rng, p, 0.0, 0.01, 6)
    out = compare(a, b)
    ref = ttest_ind(a.mean(1), b.mean(1), equal_var=False)
    assert abs(out["mean_diff"] - (a.mean() - b.mean())) < 1e-12
    # the user part is small here: p within a few percent of Welch's
    assert abs(np.log(out["p"] / ref.pvalue)) < 0.25, (out["p"], ref.pvalue)
    assert out["ci"][0] < out["mean_diff"] < out["ci"][1]
    assert 0 <= out["p_a_beats_b"] <= 1


def test_user_heterogeneity_widens_the_interval():
    """A method that helps half the users a lot and hurts the other half: with identical seeds
    the seed part is ~0 and the interval comes from the user sampling."""
    rng = np.random.default_rng(6)
    u = 2000
    h = np.where(rng.random(u) < 0.5, 0.3, -0.3)
    b = np.tile(rng.random(u), (3, 1))
    a = b + h
    out = compare(a, b)
    se_users = h.std(ddof=1) / np.sqrt(u)
    assert abs(out["se"] - se_users) / se_users < 0.05


def test_inputs_are_checked_and_left_alone():
    a = np.zeros((3, 10))
    a_copy = a.copy()
    with pytest.raises(ValueError, match="same users"):
        compare(a, np.zeros((3, 9)))
    with pytest.raises(ValueError, match="relation"):
        compare(a, a, relation="<")
    with pytest.raises(ValueError, match="non-finite"):
        compare(np.full((3, 10), np.nan), a)
    same = compare(a, a, "≈")
    assert same["verdict"] == HOLDS and same["margin"] == 0.01
    assert compare(a, a)["verdict"] == INCONCLUSIVE
    np.testing.assert_array_equal(a, a_copy)


def test_holm_and_the_claim_level_verdict():
    assert holm([0.01, 0.04, None, 0.03]) == [0.03, 0.06, None, 0.06]
    rng = np.random.default_rng(7)
    p = rng.beta(2, 3, USERS)
    base = _runs(rng, p, 0.0, 0.01, 5)
    strong = compare(_runs(rng, p, 0.1, 0.01, 5), base)
    weak = compare(_runs(rng, p, 0.022, 0.01, 5), _runs(rng, p, 0.0, 0.01, 5))
    assert strong["verdict"] == HOLDS
    c = claim("x", "A beats B and C", [strong, weak])
    assert c["correction"] == "Holm over 2 comparisons"
    assert strong["p_holm"] == pytest.approx(min(1, 2 * min(strong["p"], weak["p"])))
    expect = HOLDS if weak["p_holm"] < 0.05 else INCONCLUSIVE
    assert weak["verdict"] == expect and c["verdict"] == (
        HOLDS if expect == HOLDS else INCONCLUSIVE)
    one_seed = compare(base[:1], base[1:2])
    c1 = claim("y", "one seed", [one_seed])
    assert c1["verdict"] == INCONCLUSIVE and c1["reason"] == "1 seed"


def test_gain_on_a_subset_null_and_planted():
    """Table 5's ratio: with the same relative gain on tail and other users the claim keeps its
    level; with a larger gain on the tail it is found."""
    rng = np.random.default_rng(8)
    false, found = 0, 0
    reps = 200
    for _ in range(reps):
        p = rng.beta(2, 3, USERS)
        tail = rng.random(USERS) < 0.25
        b = _runs(rng, p, 0.0, 0.01, 3)
        a0 = _runs(rng, p * 1.1, 0.0, 0.01, 3)                   # the same +10% everywhere
        false += compare_gain(a0, b, tail)["verdict"] != INCONCLUSIVE
        a1 = _runs(rng, p * np.where(tail, 1.3, 1.1), 0.0, 0.01, 3)
        found += compare_gain(a1, b, tail)["verdict"] == HOLDS
    assert false / reps <= 0.07 and found / reps >= 0.8, (false, found)
