"""Jaccard KNN graph against a brute-force dense computation."""

import numpy as np
import pytest
import scipy.sparse as sp

from leporid.graph import jaccard_knn_graph
from leporid.graph.jaccard import knn_rows


def brute_force_knn(X, k):
    """Dense Jaccard, per-row sort by (-sim, index), union symmetrisation."""
    X = np.asarray(X.todense(), dtype=float)
    n = X.shape[0]
    inter = X @ X.T
    d = X.sum(1)
    union = d[:, None] + d[None, :] - inter
    S = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    np.fill_diagonal(S, 0)
    A = np.zeros_like(S)
    for u in range(n):
        cand = sorted((v for v in range(n) if S[u, v] > 0), key=lambda v: (-S[u, v], v))
        for v in cand[:k]:
            A[u, v] = S[u, v]
    return A, np.maximum(A, A.T)


def random_binary(n, m, density, seed):
    rng = np.random.default_rng(seed)
    return sp.csr_matrix((rng.random((n, m)) < density).astype(np.float32))


@pytest.mark.parametrize("n,m,density,k", [(60, 25, 0.15, 5), (90, 8, 0.35, 7), (40, 300, 0.02, 3),
                                           (30, 12, 0.5, 100)])
@pytest.mark.parametrize("dense_threshold", [0.0, 0.3, 2.0])
def test_graph_matches_brute_force(n, m, density, k, dense_threshold):
    X = random_binary(n, m, density, seed=n + m)
    W = jaccard_knn_graph(X, k, dense_threshold=dense_threshold, block_bytes=4 * n * 7)
    _, expected = brute_force_knn(X, k)
    np.testing.assert_allclose(W.toarray(), expected, atol=1e-6)
    assert (W.diagonal() == 0).all()
    assert (W.data > 0).all()  # no zero-weight edges
    assert abs(W - W.T).max() == 0


def test_ties_broken_by_lower_index():
    # row 0 shares exactly one item with each of rows 1..4, all with equal Jaccard 1/3
    X = sp.csr_matrix(np.array([[1, 1, 1, 1, 0, 0, 0, 0],
                                [1, 0, 0, 0, 1, 0, 0, 0],
                                [0, 1, 0, 0, 0, 1, 0, 0],
                                [0, 0, 1, 0, 0, 0, 1, 0],
                                [0, 0, 0, 1, 0, 0, 0, 1]], dtype=np.float32))
    indptr, idx, val = knn_rows(X, 2)
    assert list(idx[indptr[0]:indptr[1]]) == [1, 2]
    np.testing.assert_allclose(val[indptr[0]:indptr[1]], [0.2, 0.2])


def test_directed_rows_match_brute_force_and_empty_rows():
    X = random_binary(50, 20, 0.2, seed=3).tolil()
    X[7, :] = 0  # a row with no items has no neighbours
    X = X.tocsr()
    indptr, idx, val = knn_rows(X, 4)
    A, _ = brute_force_knn(X, 4)
    got = sp.csr_matrix((val, idx, indptr), shape=(50, 50)).toarray()
    np.testing.assert_allclose(got, A, atol=1e-6)
    assert indptr[8] == indptr[7]


def test_torch_backend_identical_to_cpu_kernel():
    X = random_binary(120, 40, 0.1, seed=5)
    for k in (3, 30):
        a = knn_rows(X, k)
        b = knn_rows(X, k, backend="torch", device="cpu", block_bytes=4 * 120 * 16)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)


def test_bad_k():
    with pytest.raises(ValueError, match="k"):
        knn_rows(random_binary(5, 5, 0.5, 0), 0)
