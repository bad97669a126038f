"""The shared normalised bipartite adjacency (models/graph_ops.py) against dense numpy."""

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from leporid.models.graph_ops import (  # noqa: E402
    adjacency_tensor,
    as_csr,
    drop_nodes,
    normalized_adjacency,
    propagation_cache_key,
    spmm,
    to_torch_sparse,
)


def _dense_reference(R):
    R = (np.asarray(R) != 0).astype(float)
    n_u, n_i = R.shape
    A = np.zeros((n_u + n_i, n_u + n_i))
    A[:n_u, n_u:], A[n_u:, :n_u] = R, R.T
    d = A.sum(1)
    s = np.array([1 / np.sqrt(x) if x else 0.0 for x in d])
    return s[:, None] * A * s[None, :]


def test_normalized_adjacency_matches_dense_reference_with_isolated_nodes():
    R = np.array([[1, 0, 2, 0], [0, 0, 0, 0], [1, 1, 0, 0]])   # user 1 and item 3 isolated
    R0 = R.copy()
    L = normalized_adjacency(sp.csr_matrix(R))
    np.testing.assert_allclose(L.toarray(), _dense_reference(R), rtol=1e-12)
    assert np.isfinite(L.toarray()).all()
    np.testing.assert_array_equal(R, R0)
    T = adjacency_tensor(sp.csr_matrix(R))
    assert T.is_sparse and T.dtype == torch.float32
    np.testing.assert_allclose(T.to_dense().numpy(), _dense_reference(R), rtol=1e-6)
    # L_ui = 1 / sqrt(|N_u| |N_i|): user 0 (2 items), item 0 (2 users)
    assert L[0, 3] == pytest.approx(0.5)


def test_drop_nodes_removes_whole_columns_and_rescales():
    R = sp.random(30, 20, density=0.3, random_state=1, format="csr")
    T = adjacency_tensor(R)
    D, Dt = drop_nodes(T, 0.5, torch.Generator().manual_seed(3))
    D, Dt = D.to_dense(), Dt.to_dense()
    torch.testing.assert_close(Dt, D.T)
    full = T.to_dense()
    kept = (D != 0).any(0)
    dropped = (full != 0).any(0) & ~kept
    assert kept.any() and dropped.any()
    torch.testing.assert_close(D[:, kept], full[:, kept] * 2)
    assert not D[:, dropped].any()
    same, none = drop_nodes(T, 0.0)
    assert none is None and torch.equal(same.to_dense(), full)


def test_spmm_forward_and_backward_match_dense():
    A = sp.random(7, 5, density=0.5, random_state=2, format="csr")
    At = torch.tensor(A.toarray(), dtype=torch.float32)
    x = torch.randn(5, 3, requires_grad=True)
    y = spmm(as_csr(to_torch_sparse(A)), x, as_csr(to_torch_sparse(A.T)))
    w = torch.randn(7, 3)
    (gx,) = torch.autograd.grad((y * w).sum(), x)
    torch.testing.assert_close(y, At @ x)
    torch.testing.assert_close(gx, At.T @ w)
    L = adjacency_tensor(sp.random(4, 6, density=0.5, random_state=3))   # symmetric: no adj_t
    x = torch.randn(10, 2, requires_grad=True)
    (g,) = torch.autograd.grad((spmm(as_csr(L), x) * 2).sum(), x)
    torch.testing.assert_close(g, L.to_dense().T @ torch.full((10, 2), 2.0))


def test_cache_key_changes_with_weights_and_mode():
    net = torch.nn.Linear(3, 2)
    k = propagation_cache_key(net)
    assert propagation_cache_key(net) == k
    with torch.no_grad():
        net.weight.add_(1.0)
    assert propagation_cache_key(net) != k
    k = propagation_cache_key(net)
    net.eval()
    assert propagation_cache_key(net) != k
