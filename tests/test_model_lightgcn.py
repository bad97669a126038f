"""LightGCN: propagation against dense numpy, the loss by hand, shapes, learning."""

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from planted_data import hr10, planted_split, toppop_hr10  # noqa: E402

from leporid.models.graph_ops import adjacency_tensor  # noqa: E402
from leporid.models.lightgcn import LightGCN, LightGCNNet  # noqa: E402

R = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [1, 0, 0, 1], [0, 0, 1, 1], [1, 0, 1, 0]])


def dense_L(R):
    """L = D^-1/2 A D^-1/2 written out with loops (independent of graph_ops)."""
    n_u, n_i = R.shape
    deg_u, deg_i = R.sum(1), R.sum(0)
    L = np.zeros((n_u + n_i, n_u + n_i))
    for u in range(n_u):
        for i in range(n_i):
            if R[u, i]:
                L[u, n_u + i] = L[n_u + i, u] = 1 / np.sqrt(deg_u[u] * deg_i[i])
    return L


def test_propagation_matches_dense_reference():
    rng = np.random.default_rng(0)
    U, V = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    for K in (0, 1, 3):
        net = LightGCNNet(5, 4, 3, K)
        with torch.no_grad():
            net.user_emb.weight.copy_(torch.tensor(U))
            net.item_emb.weight.copy_(torch.tensor(V))
        pu, pi = net.propagate(adjacency_tensor(sp.csr_matrix(R)))
        E0 = np.vstack([U, V])
        L = dense_L(R)
        ref = sum(np.linalg.matrix_power(L, k) @ E0 for k in range(K + 1)) / (K + 1)
        np.testing.assert_allclose(pu.detach().numpy(), ref[:5], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(pi.detach().numpy(), ref[5:], rtol=1e-5, atol=1e-6)


def test_loss_on_a_hand_computed_case():
    # 1 user, 2 items, user trained on item 0: L has the single edge weight 1/sqrt(1*1) = 1
    X = sp.csr_matrix(np.array([[1, 0]]))
    m = LightGCN(dim=1, layers=1, reg=0.5)
    m._build(X)
    with torch.no_grad():
        m.network_.user_emb.weight.fill_(2.0)
        m.network_.item_emb.weight.copy_(torch.tensor([[1.0], [3.0]]))
    # e_u = (2 + 1)/2 = 1.5, e_0 = (1 + 2)/2 = 1.5, e_1 = (3 + 0)/2 = 1.5 (item 1 isolated)
    x = 1.5 * 1.5 - 1.5 * 1.5
    expected = -np.log(1 / (1 + np.exp(-x))) + 0.5 * (2.0 ** 2 + 1.0 ** 2 + 3.0 ** 2)
    batch = (torch.tensor([0]), torch.tensor([0]), torch.tensor([1]))
    assert float(m.batch_loss(batch).detach()) == pytest.approx(expected, rel=1e-6)
    # the score is the propagated dot product
    np.testing.assert_allclose(m.score(np.array([0]), "test"), [[2.25, 2.25]], rtol=1e-6)


def test_shapes_cached_propagation_and_learning():
    split = planted_split()
    m = LightGCN(dim=16, epochs=20, batch_size=128, lr=0.01, seed=1).fit(split)
    s = m.score(np.array([0, 5, 7]), "validation")
    assert s.shape == (3, split.n_items) and s.dtype == np.float32
    U, V = m.final_embeddings()
    assert U.shape == (split.n_users, 16) and V.shape == (split.n_items, 16)
    assert m.final_embeddings()[0] is U            # propagated once per set of weights
    assert hr10(m, split) > toppop_hr10(split) + 0.4
    with pytest.raises(ValueError, match="layers"):
        LightGCN(layers=-1)
