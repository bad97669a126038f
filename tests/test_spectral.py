"""Eigenpairs of the LE / LEPORID Laplacians against dense numpy.linalg.eigh."""

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

from leporid.spectral import laplacian, smallest_eigenpairs, zscore


def random_graph(n, density, seed):
    rng = np.random.default_rng(seed)
    A = sp.random(n, n, density=density, random_state=seed, data_rvs=lambda s: rng.random(s) + 0.1)
    W = sp.triu(A, 1)
    W = (W + W.T).tocsr().astype(np.float32)
    W.eliminate_zeros()
    return W


def dense_reference(W, alpha, kind, k):
    L = laplacian(W, alpha, kind).toarray()
    if kind == "rw":  # similar to sym: same eigenvalues
        Ls = laplacian(W, alpha, "sym").toarray()
        lam = np.linalg.eigh(Ls)[0]
        return lam[:k], None
    lam, Q = np.linalg.eigh(L)
    return lam[:k], Q[:, :k]


def assert_same_subspace(V, Q, lam, tol=1e-6):
    """Compare eigenvectors as subspaces, grouping (numerically) repeated eigenvalues."""
    k = V.shape[1]
    # project onto the reference span of everything up to the last eigenvalue cluster boundary
    P = Q @ Q.T
    for j in range(k):
        if j + 1 < k and abs(lam[j + 1] - lam[j]) < 1e-7:
            continue
        np.testing.assert_allclose(P @ V[:, : j + 1], V[:, : j + 1], atol=tol)


@pytest.mark.parametrize("kind", ["sym", "rw", "unnorm"])
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("solver", ["dense", "arpack", "torch"])
def test_eigenpairs_match_dense_eigh(kind, alpha, solver):
    W = random_graph(120, 0.08, seed=1)
    k = 12
    r = smallest_eigenpairs(W, k, alpha=alpha, kind=kind, solver=solver, device="cpu")
    lam, Q = dense_reference(W, alpha, kind, k)
    np.testing.assert_allclose(r.eigenvalues, lam, atol=1e-7)
    assert np.all(np.diff(r.eigenvalues) >= -1e-12)  # ascending
    assert r.residuals.max() < 1e-6
    np.testing.assert_allclose(np.linalg.norm(r.vectors, axis=0), 1.0, atol=1e-9)
    if kind != "rw":
        np.testing.assert_allclose(r.vectors.T @ r.vectors, np.eye(k), atol=1e-6)
        L = laplacian(W, alpha, kind).toarray()
        np.testing.assert_allclose(L @ r.vectors, r.vectors * r.eigenvalues, atol=1e-6)
        Qfull = np.linalg.eigh(L)[1]
        # span check against the reference eigenvectors of the same (and tied) eigenvalues
        lam_all = np.linalg.eigh(L)[0]
        m = np.searchsorted(lam_all, lam[-1] + 1e-7)
        assert_same_subspace(r.vectors, Qfull[:, :m], lam)
    else:
        L = laplacian(W, alpha, "rw").toarray()
        np.testing.assert_allclose(L @ r.vectors, r.vectors * r.eigenvalues, atol=1e-6)


def test_disconnected_graph_and_isolated_nodes_le():
    # three components (sizes 40, 30, 20) and 5 isolated nodes
    blocks = [random_graph(s, 0.3, seed=s) for s in (40, 30, 20)]
    W = sp.block_diag(blocks + [sp.csr_matrix((5, 5), dtype=np.float32)]).tocsr()
    r = smallest_eigenpairs(W, 6, alpha=0.0, solver="arpack")
    assert np.isfinite(r.vectors).all()
    # one zero per component (ARPACK tol 1e-8)
    np.testing.assert_allclose(r.eigenvalues[:3], 0.0, atol=1e-7)
    assert r.eigenvalues[3] > 1e-3
    # isolated nodes get exactly zero rows in every eigenvector whose eigenvalue is not 1
    assert np.abs(r.vectors[-5:]).max() == 0.0
    lam_ref = np.linalg.eigh(laplacian(W, 0.0, "sym").toarray())[0][:6]
    np.testing.assert_allclose(r.eigenvalues, lam_ref, atol=1e-7)
    # the 3-dimensional null space equals span of D^{1/2} 1 on each component
    d = np.asarray(W.sum(1)).ravel()
    sizes = [40, 30, 20]
    start = 0
    Z = np.zeros((W.shape[0], 3))
    for c, s in enumerate(sizes):
        Z[start:start + s, c] = np.sqrt(d[start:start + s])
        start += s
    Z /= np.linalg.norm(Z, axis=0)
    np.testing.assert_allclose(Z @ (Z.T @ r.vectors[:, :3]), r.vectors[:, :3], atol=1e-7)


def test_repeated_eigenvalues_complete_graph():
    # K_n: L_sym eigenvalues 0 and n/(n-1) (n-1 times): any basis of the repeated space is valid
    n = 30
    W = sp.csr_matrix(np.ones((n, n)) - np.eye(n))
    r = smallest_eigenpairs(W, 5, alpha=0.0, solver="dense")
    np.testing.assert_allclose(r.eigenvalues, [0] + [n / (n - 1)] * 4, atol=1e-10)
    np.testing.assert_allclose(r.vectors.T @ r.vectors, np.eye(5), atol=1e-10)
    np.testing.assert_allclose(np.abs(r.vectors[:, 0]), 1 / np.sqrt(n), atol=1e-10)
    assert np.abs(r.vectors[:, 1:].sum(0)).max() < 1e-8  # orthogonal to the constant vector


def test_leporid_regularisation_matches_definition():
    W = random_graph(80, 0.1, seed=7)
    d = np.asarray(W.sum(1, dtype=np.float64)).ravel()
    alpha = 0.3
    dreg = (1 - alpha) * d + alpha * d.max()
    S = np.diag(1 / np.sqrt(dreg))
    L = np.eye(80) - S @ W.toarray() @ S
    lam = scipy.linalg.eigh(L, eigvals_only=True)[:8]
    r = smallest_eigenpairs(W, 8, alpha=alpha)
    np.testing.assert_allclose(r.eigenvalues, lam, atol=1e-9)


def test_sign_rule_and_determinism():
    W = random_graph(2500, 0.004, seed=9)  # above the dense cut-off: ARPACK
    a = smallest_eigenpairs(W, 8, alpha=0.5, seed=1)
    b = smallest_eigenpairs(W, 8, alpha=0.5, seed=2)
    assert a.info["solver"] == "arpack"
    idx = np.argmax(np.abs(a.vectors), axis=0)
    assert (a.vectors[idx, np.arange(8)] > 0).all()
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-6)  # distinct eigenvalues here


def test_bad_dimension_and_graph():
    W = random_graph(10, 0.3, seed=1)
    with pytest.raises(ValueError, match="10 nodes"):
        smallest_eigenpairs(W, 11)
    bad = W.tolil()
    bad[0, 0] = 1.0
    with pytest.raises(ValueError, match="self-loops"):
        smallest_eigenpairs(bad.tocsr(), 2)


def test_zscore():
    V = np.array([[1.0, 2.0], [3.0, 2.0], [5.0, 2.0]])
    Z = zscore(V)
    np.testing.assert_allclose(Z[:, 0], [-1.224744871, 0, 1.224744871], atol=1e-8)
    np.testing.assert_array_equal(Z[:, 1], 0.0)


@pytest.mark.parametrize("kind", ["sym", "rw", "unnorm"])
def test_fused_dense_torch_path_matches_cpu_path(kind):
    """The GPU path (dense graph tensor + subspace iteration), exercised here on the CPU."""
    from leporid.data.synthetic import power_law_interactions
    from leporid.graph import jaccard_knn_graph
    from leporid.graph.jaccard_torch import knn_graph_dense_torch
    from leporid.spectral.eigen_dense_torch import smallest_eigenpairs_dense_torch

    X = power_law_interactions(300, 80, 6000, min_per_user=5, seed=3).to_csr()
    X = X.tolil()
    X[5, :] = 0  # an isolated user
    X = X.tocsr()
    W = jaccard_knn_graph(X, 15)
    Wt = knn_graph_dense_torch(X, 15, "cpu")
    np.testing.assert_array_equal(Wt.numpy(), W.toarray().astype(np.float64))
    a = smallest_eigenpairs(W, 6, alpha=0.0, kind=kind, solver="dense")
    b = smallest_eigenpairs_dense_torch(Wt, 6, alpha=0.0, kind=kind)
    np.testing.assert_allclose(b.eigenvalues, a.eigenvalues, atol=1e-8)
    np.testing.assert_allclose(b.residuals, 0, atol=1e-7)
    assert np.abs(b.vectors[5]).max() == 0 or kind == "unnorm"
    gap = np.diff(a.eigenvalues).min()
    if gap > 1e-6:
        np.testing.assert_allclose(b.vectors, a.vectors, atol=1e-5)


def test_symmetric_product_matches_full_product_and_kernels_agree():
    from leporid.spectral.eigen import (
        _CHUNKS,
        _sym_matvec,
        _sym_matvec_serial,
        _symmetric_operator,
        _upper_triangle,
    )

    W = random_graph(300, 0.05, seed=11)
    rng = np.random.default_rng(0)
    s, a, x = rng.random(300) + 0.5, rng.random(300), rng.standard_normal(300)
    product = _symmetric_operator(W, s, a)
    expected = s * (W.astype(np.float64) @ (s * x)) + a * x
    np.testing.assert_allclose(product(x), expected, rtol=1e-12, atol=1e-14)
    uptr, uidx, udat, *_ = _upper_triangle(W.indptr.astype(np.int64), W.indices, W.data)
    bounds = np.linspace(0, 300, _CHUNKS + 1).astype(np.int64)
    y1, y2 = np.empty(300), np.empty(300)
    buf = np.empty((_CHUNKS, 300))
    _sym_matvec(bounds, uptr, uidx.astype(np.uint16), udat, s, a, x, y1, buf)
    _sym_matvec_serial(bounds, uptr, uidx, udat, s, a, x, y2, buf)
    np.testing.assert_array_equal(y1, y2)  # bit-identical, whichever kernel is timed faster


def test_non_symmetric_graph_is_refused():
    W = random_graph(2200, 0.002, seed=12).tolil()
    W[0, 5] = 0.7  # only one direction
    with pytest.raises(ValueError, match="not symmetric"):
        smallest_eigenpairs(W.tocsr(), 4, solver="arpack")
