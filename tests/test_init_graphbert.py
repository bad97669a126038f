"""Graph-Bert's intimacy contexts: the exact (dense LU), power-series and forward-push paths
against an independent dense reference (numpy.linalg.inv), on graphs small enough to invert."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from leporid.data.synthetic import power_law_interactions
from leporid.init import graphbert
from leporid.init.graphbert import intimacy_topk, push_topk
from leporid.init.node2vec import interaction_graph

ALPHA = 0.15
SERIES_TOL = 1e-14  # truncation error far below the 1e-12 rounding of the intimacies


def two_components() -> sp.csr_matrix:
    """Users 0-2 x items 0-2 (users 1 and 2 have the same items: exact ties), users 3-5 x
    items 3-4 (users 3 and 5 mirror each other), user 6 and item 5 isolated."""
    T = np.zeros((7, 6), np.float32)
    for u, items in {0: [0, 1], 1: [0, 1, 2], 2: [0, 1, 2], 3: [3], 4: [3, 4], 5: [4]}.items():
        T[u, items] = 1
    return interaction_graph(sp.csr_matrix(T))


def dense_intimacy(A) -> np.ndarray:
    """S = α (I - (1-α) A D⁻¹)⁻¹, zero-degree columns of A D⁻¹ zero."""
    A = A.toarray().astype(np.float64)
    d = A.sum(0)
    P = A / np.where(d > 0, d, 1.0)
    return ALPHA * np.linalg.inv(np.eye(len(A)) - (1 - ALPHA) * P)


def reference_topk(S, k) -> np.ndarray:
    """Per column: the k largest rounded intimacies, self and zeros left out, ties to the lower
    index; -1 padding."""
    S = np.round(S, 12)
    out = np.full((len(S), k), -1, np.int64)
    for v in range(len(S)):
        ranked = sorted((u for u in range(len(S)) if u != v and S[u, v] > 0),
                        key=lambda u: (-S[u, v], u))[:k]
        out[v, :len(ranked)] = ranked
    return out


@pytest.mark.parametrize("method", ["exact", "series"])
def test_two_components_both_paths_match_the_dense_inverse(method):
    A = two_components()
    n, k = A.shape[0], 6
    ref = reference_topk(dense_intimacy(A), k)
    ctx = intimacy_topk(A, k, alpha=ALPHA, tol=SERIES_TOL, method=method)
    np.testing.assert_array_equal(ctx, ref)
    # components: users 0-2 = nodes 0-2 with items 0-2 = nodes 7-9; users 3-5 = nodes 3-5 with
    # items 3-4 = nodes 10-11; user 6 = node 6 and item 5 = node 12 are isolated
    comp = {v: 0 for v in (0, 1, 2, 7, 8, 9)} | {v: 1 for v in (3, 4, 5, 10, 11)}
    for v in range(n):
        ids = ctx[v][ctx[v] >= 0]
        if v in comp:  # every other node of its component, none of the other
            assert sorted(ids) == sorted(u for u in comp if comp[u] == comp[v] and u != v)
            assert (ctx[v][len(ids):] == -1).all()  # padding only at the end
        else:
            assert len(ids) == 0
    # the exact ties are there and go to the lower index: users 1 and 2 for user 0
    S = np.round(dense_intimacy(A), 12)
    assert S[1, 0] == S[2, 0]
    row = list(ctx[0])
    assert row.index(1) + 1 == row.index(2)


def test_two_components_cross_intimacies_are_exactly_zero():
    A = two_components()
    S = np.zeros((A.shape[0],) * 2)
    for method in ("exact", "series"):
        blocks = graphbert._exact_blocks(A, ALPHA, 4) if method == "exact" else \
            graphbert._series_blocks(A, ALPHA, 4, SERIES_TOL)
        for cols, block in blocks:
            S[:, cols] = block
        first, second = [0, 1, 2, 7, 8, 9], [3, 4, 5, 10, 11]
        assert (S[np.ix_(first, second)] == 0).all() and (S[np.ix_(second, first)] == 0).all()
        np.testing.assert_allclose(S, dense_intimacy(A), atol=1e-13)


@pytest.mark.parametrize("method", ["exact", "series"])
def test_random_graph_both_paths_match_the_dense_inverse(method):
    A = random_graph()
    ref = reference_topk(dense_intimacy(A), 7)
    ctx = intimacy_topk(A, 7, alpha=ALPHA, block=16, tol=SERIES_TOL, method=method)
    np.testing.assert_array_equal(ctx, ref)


def random_graph() -> sp.csr_matrix:
    return interaction_graph(power_law_interactions(60, 45, 500, min_per_user=3, seed=7).to_csr())


def check_push(A, k, eps, ids, values):
    """What forward push guarantees, against the dense inverse S (rounded like the paths):
    every returned estimate p satisfies 0 <= S[u, v] - p <= eps * deg(u) (+ one rounding step);
    so at each rank the exact intimacy of push's node is within eps * max deg (+ rounding) of
    the exact list's; no node is its own context or listed twice; padding only at the end.
    Returns how many lists equal the exact path's."""
    n = A.shape[0]
    S = np.round(dense_intimacy(A), 12)
    deg = np.asarray(A.sum(axis=0)).ravel()
    ref = intimacy_topk(A, k, method="exact")
    slack = eps * deg + 1e-12 * (1 + 1e-9)
    bound = eps * deg.max() + 1e-12 * (1 + 1e-9)
    for v in range(n):
        got = ids[v][ids[v] >= 0]
        assert (ids[v][len(got):] == -1).all() and (values[v][len(got):] == 0).all()
        assert v not in got and len(set(got)) == len(got)
        gap = S[got, v] - values[v][:len(got)]
        assert (gap >= 0).all() and (gap <= slack[got]).all(), (v, gap, slack[got])
        want = ref[v][ref[v] >= 0]
        assert len(got) == len(want), (v, got, want)
        np.testing.assert_allclose(S[got, v], S[want, v], rtol=0, atol=bound)
    return int((ids == ref).all(axis=1).sum())


@pytest.mark.parametrize("share", [None, 0.0, 2.0])  # default; every source swept; all local
def test_push_with_a_small_eps_gives_the_exact_lists(monkeypatch, share):
    if share is not None:
        monkeypatch.setattr(graphbert, "PUSH_SWEEP_SHARE", share)
    for A, k in ((two_components(), 6), (random_graph(), 7)):
        eps = 1e-13
        ids, values = push_topk(A, k, alpha=ALPHA, eps=eps)
        assert check_push(A, k, eps, ids, values) == A.shape[0]  # every list, ties included
        np.testing.assert_array_equal(intimacy_topk(A, k, alpha=ALPHA, method="push", eps=eps),
                                      ids)


@pytest.mark.parametrize("share", [0.0, 2.0])
def test_push_with_a_coarse_eps_keeps_its_error_bound(monkeypatch, share):
    monkeypatch.setattr(graphbert, "PUSH_SWEEP_SHARE", share)
    A = random_graph()
    eps = 1e-4
    ids, values = push_topk(A, 7, alpha=ALPHA, eps=eps)
    same = check_push(A, 7, eps, ids, values)
    assert same < A.shape[0]  # coarse enough to change lists, and still within the bound


@pytest.mark.parametrize("share", [0.0, 2.0])
def test_push_does_not_depend_on_the_blocking_or_the_other_sources(monkeypatch, share):
    A = random_graph()
    monkeypatch.setattr(graphbert, "PUSH_SWEEP_SHARE", share)
    whole = push_topk(A, 7, eps=1e-6)
    for width in (1, 3):
        monkeypatch.setattr(graphbert, "PUSH_WIDTH", width)
        for got, want in zip(push_topk(A, 7, eps=1e-6), whole):
            np.testing.assert_array_equal(got, want)
    some = np.array([5, 5, 0, 0, 77, 3, 3])  # any sources, any order, repeated
    for got, want in zip(push_topk(A, 7, eps=1e-6, sources=some), whole):
        np.testing.assert_array_equal(got, want[some])


@pytest.mark.parametrize("share", [0.0, 2.0])
def test_push_components_padding_and_self(monkeypatch, share):
    monkeypatch.setattr(graphbert, "PUSH_SWEEP_SHARE", share)
    A = two_components()
    comp = {v: 0 for v in (0, 1, 2, 7, 8, 9)} | {v: 1 for v in (3, 4, 5, 10, 11)}
    for k, eps in ((3, 1e-9), (8, 1e-9), (8, 1e-2)):
        ids, values = push_topk(A, k, eps=eps)
        assert ids.shape == values.shape == (A.shape[0], k)
        for v in range(A.shape[0]):
            got = ids[v][ids[v] >= 0]
            assert v not in got and (ids[v][len(got):] == -1).all()
            assert (np.diff(values[v][:len(got)]) <= 0).all()
            if v in comp:
                mates = [u for u in comp if comp[u] == comp[v] and u != v]
                assert set(got) <= set(mates)
                if eps < 1e-3:  # every node of the component is reached
                    assert len(got) == min(k, len(mates))
            else:  # isolated: no context at all
                assert len(got) == 0
    with pytest.raises(ValueError, match="eps"):
        push_topk(A, 3, eps=0.0)


def test_auto_takes_the_exact_path_up_to_the_limit(monkeypatch):
    A = two_components()
    n = A.shape[0]

    def refuse(*args):
        raise AssertionError("wrong path")

    monkeypatch.setattr(graphbert, "EXACT_MAX_NODES", n)
    monkeypatch.setattr(graphbert, "_series_blocks", refuse)
    exact = intimacy_topk(A, 3)
    monkeypatch.undo()
    monkeypatch.setattr(graphbert, "EXACT_MAX_NODES", n - 1)
    monkeypatch.setattr(graphbert, "_exact_blocks", refuse)
    monkeypatch.setattr(graphbert, "_series_blocks", refuse)
    pushed = intimacy_topk(A, 3)  # push above the limit
    np.testing.assert_array_equal(pushed, push_topk(A, 3)[0])
    np.testing.assert_array_equal(pushed, exact)  # (default eps: the same lists here)
    monkeypatch.undo()
    monkeypatch.setattr(graphbert, "_exact_blocks", refuse)
    monkeypatch.setattr(graphbert, "_push_local", refuse)
    monkeypatch.setattr(graphbert, "_push_sweeps", refuse)
    np.testing.assert_array_equal(intimacy_topk(A, 3, method="series"), exact)  # by name
    with pytest.raises(ValueError, match="method"):
        intimacy_topk(A, 3, method="inverse")


def test_exact_path_holds_one_n_by_n_array():
    X = power_law_interactions(700, 500, 6000, min_per_user=3, seed=2).to_csr()
    A = interaction_graph(X)
    n = A.shape[0]
    tracemalloc.start()
    try:
        intimacy_topk(A, 7, block=32, method="exact")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.2 * n * n * 8, (peak, n * n * 8)
