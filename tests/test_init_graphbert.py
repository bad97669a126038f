"""Graph-Bert's intimacy contexts: the exact (dense LU) and the power-series paths against an
independent dense reference (numpy.linalg.inv), on graphs small enough to invert."""

import tracemalloc

import numpy as np
import pytest
import scipy.sparse as sp

from leporid.data.synthetic import power_law_interactions
from leporid.init import graphbert
from leporid.init.graphbert import intimacy_topk
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
    X = power_law_interactions(60, 45, 500, min_per_user=3, seed=7).to_csr()
    A = interaction_graph(X)
    ref = reference_topk(dense_intimacy(A), 7)
    ctx = intimacy_topk(A, 7, alpha=ALPHA, block=16, tol=SERIES_TOL, method=method)
    np.testing.assert_array_equal(ctx, ref)


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
    np.testing.assert_array_equal(intimacy_topk(A, 3), exact)
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
