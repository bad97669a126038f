"""The initialisation schemes of leporid.init against independent references, and the contract
every registered scheme must meet."""

import numpy as np
import pytest
import scipy.sparse as sp
from test_graph_jaccard import brute_force_knn, random_binary

from leporid.data.synthetic import power_law_interactions
from leporid.init import available, compute, get, parameters
from leporid.init.netmf import netmf_matrix
from leporid.init.node2vec import interaction_graph, random_walks
from leporid.init.svd import truncated_svd

# small settings so each scheme runs in about a second; a newly registered scheme runs with
# its defaults
FAST = {"le": {"n_neighbors": 20}, "leporid": {"n_neighbors": 20},
        "netmf": {"n_neighbors": 20, "rank": 32},
        "node2vec": {"walk_length": 20, "walks_per_node": 3},
        "graphbert": {"epochs": 2, "k": 4}, "bpr": {"epochs": 2}}


@pytest.fixture(scope="module")
def small():
    return power_law_interactions(70, 50, 900, min_per_user=5, seed=4).to_csr()


# --- SVD ---------------------------------------------------------------------------------------
def test_svd_is_the_dense_truncated_svd():
    T = random_binary(40, 30, 0.2, 1)
    U, s, Vt = np.linalg.svd(T.toarray().astype(np.float64))
    e = compute("svd", T, dim=5, seed=2, cache=False)
    np.testing.assert_allclose(e.info["singular_values"], s[:5], rtol=1e-8)
    # users . items is the best rank-5 approximation; the columns span the same subspaces
    np.testing.assert_allclose(e.user @ e.item.T, (U[:, :5] * s[:5]) @ Vt[:5], atol=1e-5)
    P = U[:, :5] @ U[:, :5].T
    np.testing.assert_allclose(P @ e.user, e.user, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(e.user, axis=0), np.sqrt(s[:5]), rtol=1e-5)
    # sign rule: each column's largest-magnitude user entry is positive
    assert (e.user[np.abs(e.user).argmax(0), np.arange(5)] > 0).all()


def test_svd_dim_beyond_rank_pads_zero_columns():
    """``truncated_svd`` pads beyond the rank; the ``svd`` scheme refuses such a dimension as
    le / leporid do (issue 23: 1,434 zero columns were written silently)."""
    T = random_binary(12, 6, 0.5, 3)
    U, s, V = truncated_svd(T, 8, seed=0)
    assert U.shape == (12, 8) and (s[6:] == 0).all()
    assert not U[:, 6:].any() and not V[:, 6:].any()
    np.testing.assert_allclose((U * s) @ V.T, T.toarray(), atol=1e-5)
    with pytest.raises(ValueError, match="must be <= 6"):
        compute("svd", T, dim=8, seed=0, cache=False)


def test_truncated_svd_never_densifies_the_sparse_path(monkeypatch):
    T = random_binary(60, 50, 0.1, 5)
    monkeypatch.setattr(sp.csr_matrix, "toarray", lambda self: pytest.fail("densified"))
    U, s, V = truncated_svd(T, 4, seed=1)
    assert U.shape == (60, 4) and V.shape == (50, 4) and (np.diff(s) <= 0).all()


# --- NetMF -------------------------------------------------------------------------------------
def _weighted_graph(n, seed):
    rng = np.random.default_rng(seed)
    A = np.triu(rng.random((n, n)) * (rng.random((n, n)) < 0.3), 1)
    A = A + A.T
    A[0, 1] = A[1, 0] = 0.5  # no isolated node 0
    return A


def _netmf_dense(A, T, b):
    """Qiu et al. Eq. (NetMF small/large window, exact): vol/(bT) Σ_r (D⁻¹A)^r D⁻¹."""
    d = A.sum(1)
    P = A / d[:, None]
    S, Pr = np.zeros_like(A), np.eye(len(A))
    for _ in range(T):
        Pr = Pr @ P
        S += Pr
    M = A.sum() / (b * T) * S / d[None, :]
    return np.log(np.maximum(M, 1.0))


def test_netmf_matrix_matches_the_dense_formula():
    A = _weighted_graph(25, 0)
    M, info = netmf_matrix(sp.csr_matrix(A), window=10, b=1.0, rank=None)
    np.testing.assert_allclose(M, _netmf_dense(A, 10, 1.0), atol=1e-8)
    M3, _ = netmf_matrix(sp.csr_matrix(A), window=3, b=2.0, rank=None)
    np.testing.assert_allclose(M3, _netmf_dense(A, 3, 2.0), atol=1e-8)


def test_netmf_low_rank_matches_the_truncated_eigen_formula():
    A = _weighted_graph(30, 1)
    d = A.sum(1)
    N = A / np.sqrt(np.outer(d, d))
    lam, Q = np.linalg.eigh(N)
    lam, Q = lam[-8:], Q[:, -8:]  # the 8 largest (algebraic), as Qiu et al.
    filt = sum(lam ** r for r in range(1, 11))
    Y = Q / np.sqrt(d)[:, None]
    ref = np.log(np.maximum(A.sum() / 10 * (Y * filt) @ Y.T, 1.0))
    M, info = netmf_matrix(sp.csr_matrix(A), window=10, b=1.0, rank=8)
    assert info["rank_used"] == 8
    np.testing.assert_allclose(M, ref, atol=1e-8)


def test_netmf_embedding_factorises_the_matrix_of_the_knn_graph(small):
    e = compute("netmf", small, dim=6, seed=1, params={"n_neighbors": 10, "rank": 500},
                cache=False)
    for E, X in ((e.user, small), (e.item, small.T.tocsr())):
        _, W = brute_force_knn(X, 10)
        M = _netmf_dense(W, 10, 1.0)
        U, s, _ = np.linalg.svd(M)
        np.testing.assert_allclose(E @ E.T, (U[:, :6] * s[:6]) @ U[:, :6].T, atol=1e-4)


# --- node2vec ----------------------------------------------------------------------------------
def test_node2vec_walks_follow_edges(small):
    A = interaction_graph(small)
    W = random_walks(A, walk_length=30, walks_per_node=2, p=0.5, q=2.0, seed=3)
    assert W.shape == (2 * A.shape[0], 30)
    a, b = W[:, :-1].ravel(), W[:, 1:].ravel()
    ok = b >= 0
    assert ok.all()  # no isolated node in this graph
    assert np.asarray(A[a[ok], b[ok]]).ravel().all()
    assert sorted(np.bincount(W[:, 0], minlength=A.shape[0])) == [2] * A.shape[0]


def test_node2vec_transition_probabilities_follow_p_and_q():
    # from t=0 to v=1, the next node is 0 (return, 1/p), 2 (neighbour of 0, weight 1) or
    # 3, 4 (distance 2 from 0, 1/q)
    edges = [(0, 1), (0, 2), (1, 2), (1, 3), (1, 4), (3, 4)]
    r, c = np.array(edges).T
    A = sp.csr_matrix((np.ones(12), (np.r_[r, c], np.r_[c, r])), shape=(5, 5))
    p, q = 0.5, 2.0
    W = random_walks(A, walk_length=40, walks_per_node=3000, p=p, q=q, seed=9)
    t, v, x = W[:, :-2].ravel(), W[:, 1:-1].ravel(), W[:, 2:].ravel()
    nxt = x[(t == 0) & (v == 1)]
    assert len(nxt) > 5000
    w = np.array([1 / p, 0, 1, 1 / q, 1 / q])
    expected = w / w.sum()
    observed = np.bincount(nxt, minlength=5) / len(nxt)
    sd = np.sqrt(expected * (1 - expected) / len(nxt))
    assert (np.abs(observed - expected) < 5 * sd + 1e-12).all(), (observed, expected)


def test_node2vec_embeds_isolated_nodes_without_error():
    T = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0]], np.float32))
    e = compute("node2vec", T, dim=4, seed=1, params={"walk_length": 5, "walks_per_node": 2},
                cache=False)
    assert e.user.shape == (3, 4) and np.isfinite(e.user).all()


# --- Graph-Bert --------------------------------------------------------------------------------
def test_graphbert_pretraining_loss_decreases(small):
    e = compute("graphbert", small, dim=16, seed=1, params={"epochs": 12, "k": 5}, cache=False)
    loss = e.info["loss"]
    assert len(loss) == 12 and loss[-1] < 0.8 * loss[0], loss


@pytest.mark.parametrize("method", ["exact", "series", "push"])
def test_graphbert_intimacy_context_is_the_top_ppr_nodes(method):
    from leporid.init.graphbert import intimacy_topk

    A = sp.csr_matrix(_weighted_graph(12, 2) > 0, dtype=np.float64)
    n = 12
    P = A.toarray() / A.toarray().sum(0)
    S = 0.15 * np.linalg.inv(np.eye(n) - 0.85 * P)
    ctx = intimacy_topk(A, 3, alpha=0.15, tol=1e-12, method=method)
    for v in range(n):
        s = S[:, v].copy()
        s[v] = -np.inf
        np.testing.assert_allclose(np.sort(s[ctx[v]])[::-1], np.sort(s)[::-1][:3], rtol=1e-6)


# --- BPR ---------------------------------------------------------------------------------------
def test_bpr_init_is_the_trained_bprmf(small):
    from leporid.models.bpr import BPRMF

    e = compute("bpr", small, dim=8, seed=3, params={"epochs": 2}, cache=False)
    ref = BPRMF(dim=8, lr=0.25, reg=0.1, epochs=2, batch_size=8192, optimizer="sgd",
                seed=3).fit(small)
    np.testing.assert_array_equal(e.user, ref.user_embeddings_)
    np.testing.assert_array_equal(e.item, ref.item_embeddings_)
    assert len(e.info["loss"]) == 2


# --- every registered scheme -------------------------------------------------------------------
@pytest.mark.parametrize("name", available())
def test_every_scheme_gives_finite_float32_arrays_identical_under_a_seed(small, name):
    params = FAST.get(name, {})
    a = compute(name, small, dim=8, seed=5, params=params, cache=False)
    b = compute(name, small, dim=8, seed=5, params=params, cache=False)
    for E, n in ((a.user, small.shape[0]), (a.item, small.shape[1])):
        assert E.shape == (n, 8) and E.dtype == np.float32 and np.isfinite(E).all()
    np.testing.assert_array_equal(a.user, b.user)
    np.testing.assert_array_equal(a.item, b.item)
    assert set(parameters(name)) >= set(params)
    assert get(name).__doc__  # documented


def test_every_scheme_leaves_the_callers_matrix_alone(small):
    before = small.copy()
    for name in available():
        compute(name, small, dim=4, seed=1, params=FAST.get(name, {}), cache=False)
    assert (small != before).nnz == 0 and small.dtype == before.dtype
