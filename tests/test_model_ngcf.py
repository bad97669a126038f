"""NGCF: propagation against dense numpy (eq. 7), dropout, the loss by hand, learning."""

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from planted_data import hr10, planted_split, toppop_hr10  # noqa: E402
from test_model_lightgcn import R, dense_L  # noqa: E402

from leporid.models.graph_ops import adjacency_tensor  # noqa: E402
from leporid.models.ngcf import NGCF, NGCFNet  # noqa: E402


def leaky(x):
    return np.where(x > 0, x, 0.2 * x)


@pytest.mark.parametrize("normalize", [False, True])
def test_propagation_matches_dense_reference(normalize):
    rng = np.random.default_rng(0)
    U, V = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    net = NGCFNet(5, 4, 3, [4, 2], message_dropout=0.5, normalize=normalize).eval()
    with torch.no_grad():
        net.user_emb.weight.copy_(torch.tensor(U))
        net.item_emb.weight.copy_(torch.tensor(V))
    pu, pi = net.propagate(adjacency_tensor(sp.csr_matrix(R)))
    L, E = dense_L(R), np.vstack([U, V])
    parts = [E]
    for w1, w2 in zip(net.W1, net.W2):
        W1, W2 = w1.weight.detach().numpy().T, w2.weight.detach().numpy().T
        E = leaky((L + np.eye(len(L))) @ E @ W1 + ((L @ E) * E) @ W2)
        parts.append(E / np.linalg.norm(E, axis=1, keepdims=True) if normalize else E)
    ref = np.hstack(parts)
    assert ref.shape == (9, 3 + 4 + 2)
    np.testing.assert_allclose(pu.detach().numpy(), ref[:5], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pi.detach().numpy(), ref[5:], rtol=1e-5, atol=1e-6)


def test_dropout_only_while_training():
    m = NGCF(dim=3, layers=2, layer_size=3, message_dropout=0.5, node_dropout=0.5)
    m._build(sp.csr_matrix(R))
    adj = m.adjacency()
    net = m.network_.train()
    a = net.propagate(*m._adjacency_for_step(adj))[0]
    b = net.propagate(*m._adjacency_for_step(adj))[0]
    assert not torch.allclose(a, b)                     # random at every step
    dropped, transposed = m._adjacency_for_step(adj)
    assert dropped._nnz() < adj._nnz()
    torch.testing.assert_close(transposed.to_dense(), dropped.to_dense().T)
    net.eval()
    assert m._adjacency_for_step(adj) == (adj, None)
    torch.testing.assert_close(net.propagate(adj)[0], net.propagate(adj)[0])


def test_loss_on_a_hand_computed_case():
    # 1 user, 2 items, one edge u-i0 of weight 1; one layer with W1 = 1, W2 = 1 (1 x 1)
    X = sp.csr_matrix(np.array([[1, 0]]))
    m = NGCF(dim=1, layers=1, layer_size=1, message_dropout=0.0, normalize=False, reg=0.5)
    m._build(X)
    net = m.network_
    with torch.no_grad():
        net.user_emb.weight.fill_(2.0)
        net.item_emb.weight.copy_(torch.tensor([[1.0], [-3.0]]))
        net.W1[0].weight.fill_(1.0)
        net.W2[0].weight.fill_(1.0)
    # layer 1: u: (1 + 2) + 1*2 = 5; i0: (2 + 1) + 2*1 = 5; i1 (isolated): leaky(-3 + 0) = -0.6
    eu, e0, e1 = np.array([2, 5.0]), np.array([1, 5.0]), np.array([-3, -0.6])
    x = eu @ e0 - eu @ e1
    expected = np.log1p(np.exp(-x)) + 0.5 * (4 + 1 + 9)
    batch = (torch.tensor([0]), torch.tensor([0]), torch.tensor([1]))
    assert float(m.batch_loss(batch).detach()) == pytest.approx(expected, rel=1e-6)


def test_shapes_and_learning():
    split = planted_split()
    m = NGCF(dim=16, layer_size=16, epochs=20, batch_size=128, lr=0.01, seed=1).fit(split)
    s = m.score(np.array([0, 5, 7]), "test")
    assert s.shape == (3, split.n_items) and s.dtype == np.float32
    assert m.final_embeddings()[0].shape == (split.n_users, 16 * 4)
    assert hr10(m, split) > toppop_hr10(split) + 0.4
    for bad in ({"message_dropout": 1.0}, {"node_dropout": -0.1}, {"layers": 0}):
        with pytest.raises(ValueError):
            NGCF(**bad)
