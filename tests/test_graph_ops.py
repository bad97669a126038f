"""The shared normalised bipartite adjacency (models/graph_ops.py) against dense numpy."""

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from leporid.models.graph_ops import (adjacency_tensor, drop_nodes,  # noqa: E402
                                      normalized_adjacency, propagation_cache_key)


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
    D = drop_nodes(T, 0.5, torch.Generator().manual_seed(3)).to_dense()
    full = T.to_dense()
    kept = (D != 0).any(0)
    dropped = (full != 0).any(0) & ~kept
    assert kept.any() and dropped.any()
    torch.testing.assert_close(D[:, kept], full[:, kept] * 2)
    assert not D[:, dropped].any()
    assert drop_nodes(T, 0.0) is T


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
