"""DGCF: propagation and routing against dense numpy references, the hand-written backward
against autograd's numerical check, distance correlation against a direct numpy formula, the
loss on a tiny case, parameter validation, and learning planted structure."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from leporid.data import Interactions
from leporid.data.split import Split
from leporid.eval import evaluate
from leporid.models import TopPop
from leporid.models.dgcf import (
    DGCF,
    bipartite_edges,
    bipartite_propagate,
    block_graph,
    dgcf_embeddings,
    distance_correlation,
    independence_loss,
    intent_distribution,
    sym_normalised_weights,
)

R = np.array([[1, 0, 1, 0],
              [1, 1, 0, 0],
              [0, 1, 1, 1],
              [0, 0, 0, 1],
              [1, 0, 0, 1]], dtype=np.float32)


def graph_of(X, blocks, dtype=torch.float64):
    u, i = bipartite_edges(sp.csr_matrix(X))
    return block_graph(torch.as_tensor(u), torch.as_tensor(i), X.shape[0], X.shape[1], blocks)


def dense_normalised(n_users, edges, w):
    """D^-1/2 W D^-1/2 of the symmetric bipartite graph with edge weights w, built densely."""
    n = n_users + max(i for _, i in edges) + 1 if edges else n_users
    W = np.zeros((n, n))
    for (u, i), x in zip(edges, w):
        W[u, n_users + i] = W[n_users + i, u] = x
    d = W.sum(1)
    inv = np.where(d > 0, 1 / np.sqrt(np.where(d > 0, d, 1)), 0)
    return inv[:, None] * W * inv[None, :]


def reference_embeddings(U, V, X, K, layers, iterations):
    """DGCF by the paper's equations with dense numpy matrices and explicit loops."""
    nu, dim = U.shape
    d = dim // K
    edges = list(zip(*np.nonzero(X)))
    S = np.ones((K, len(edges)))
    cur = [np.vstack([U[:, k * d:(k + 1) * d], V[:, k * d:(k + 1) * d]]) for k in range(K)]
    total = [c.copy() for c in cur]
    for _ in range(layers):
        for _ in range(iterations):
            P = np.exp(S) / np.exp(S).sum(0, keepdims=True)
            out = [dense_normalised(nu, edges, P[k]) @ cur[k] for k in range(K)]
            for k in range(K):
                for e, (u, i) in enumerate(edges):
                    yu = out[k][u] / np.linalg.norm(out[k][u])
                    xi = cur[k][nu + i] / np.linalg.norm(cur[k][nu + i])
                    S[k, e] += yu @ np.tanh(xi)
        cur = out
        total = [t + c for t, c in zip(total, cur)]
    full = np.hstack(total)
    return full[:nu], full[nu:]


def numpy_dcor(x, y):
    def centred(z):
        D = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(-1))
        return D - D.mean(0) - D.mean(1)[:, None] + D.mean()

    a, b = centred(x), centred(y)
    dcov = np.sqrt(max((a * b).mean(), 0))
    return dcov / np.sqrt(np.sqrt((a * a).mean()) * np.sqrt((b * b).mean()))


def run(U, V, X, K, layers, iterations):
    eu, ei = dgcf_embeddings(torch.as_tensor(U), torch.as_tensor(V), graph_of(X, K), layers,
                             iterations)
    return eu.numpy(), ei.numpy()


def test_one_intent_one_iteration_is_symmetric_normalised_propagation():
    rng = np.random.default_rng(0)
    U, V = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    A = np.zeros((9, 9))
    A[:5, 5:], A[5:, :5] = R, R.T
    d = A.sum(1)
    Ahat = A / np.sqrt(np.outer(d, d))
    E0 = np.vstack([U, V])
    for layers, expected in ((1, E0 + Ahat @ E0), (2, E0 + Ahat @ E0 + Ahat @ Ahat @ E0)):
        eu, ei = run(U, V, R, K=1, layers=layers, iterations=1)
        assert eu.shape == (5, 3) and ei.shape == (4, 3)
        np.testing.assert_allclose(np.vstack([eu, ei]), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("K,layers,iterations", [(2, 1, 2), (3, 2, 3), (2, 2, 1)])
def test_routing_matches_dense_reference(K, layers, iterations):
    rng = np.random.default_rng(K + layers)
    X = R.copy()
    X = np.vstack([X, np.zeros((1, 4))])               # a user without interactions: stays 0
    U, V = rng.normal(size=(6, 2 * K)), rng.normal(size=(4, 2 * K))
    eu, ei = run(U, V, X, K, layers, iterations)
    ru, ri = reference_embeddings(U, V, X, K, layers, iterations)
    np.testing.assert_allclose(eu, ru, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ei, ri, rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(eu[5], U[5])         # isolated: only its ego embedding


def test_intent_distribution_and_normalisation():
    g = graph_of(R, 3)
    scores = torch.as_tensor(np.random.default_rng(1).normal(size=(3, 10)) * 4)
    P = intent_distribution(scores)
    np.testing.assert_allclose(P.sum(0).numpy(), 1.0, rtol=1e-12)
    assert (P > 0).all()
    np.testing.assert_allclose(intent_distribution(scores + torch.arange(10.0)).numpy(),
                               P.numpy(), rtol=1e-12)       # a per-edge shift changes nothing
    # each intent's symmetric-normalised matrix has sqrt(D_k) as eigenvector of eigenvalue 1
    w = sym_normalised_weights(P, g["users"], g["items"], 5, 4)
    du = torch.zeros(3, 5, dtype=P.dtype).index_add_(1, g["users"], P)
    di = torch.zeros(3, 4, dtype=P.dtype).index_add_(1, g["items"], P)
    yu, yi = bipartite_propagate(w, g, du.sqrt().unsqueeze(-1), di.sqrt().unsqueeze(-1))
    np.testing.assert_allclose(yu.squeeze(-1).numpy(), du.sqrt().numpy(), rtol=1e-12)
    np.testing.assert_allclose(yi.squeeze(-1).numpy(), di.sqrt().numpy(), rtol=1e-12)


def test_routing_updates_use_normalised_chunks():
    # the score update reads L2-normalised chunks, so routing is scale-free: scaling all
    # embeddings scales the output exactly (it would not with raw u.tanh(i) updates)
    rng = np.random.default_rng(2)
    U, V = rng.normal(size=(5, 4)), rng.normal(size=(4, 4))
    eu, ei = run(U, V, R, K=2, layers=2, iterations=3)
    eu2, ei2 = run(50 * U, 50 * V, R, K=2, layers=2, iterations=3)
    np.testing.assert_allclose(eu2, 50 * eu, rtol=1e-9)
    np.testing.assert_allclose(ei2, 50 * ei, rtol=1e-9)


def test_hand_written_backward_passes_gradcheck():
    g = graph_of(R, 2)
    rng = np.random.default_rng(3)
    w = torch.tensor(rng.random((2, 10)), requires_grad=True)
    xu = torch.tensor(rng.normal(size=(2, 5, 3)), requires_grad=True)
    xi = torch.tensor(rng.normal(size=(2, 4, 3)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: bipartite_propagate(a, g, b, c), (w, xu, xi),
                                   fast_mode=True)
    U = torch.tensor(rng.normal(size=(5, 4)), requires_grad=True)
    V = torch.tensor(rng.normal(size=(4, 4)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: dgcf_embeddings(a, b, g, 2, 2), (U, V),
                                   fast_mode=True)


def test_distance_correlation_against_numpy():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(30, 3)), rng.normal(size=(30, 2))
    y[:, 0] += x[:, 0] ** 2
    got = float(distance_correlation(torch.as_tensor(x), torch.as_tensor(y), eps=0))
    assert got == pytest.approx(numpy_dcor(x, y), rel=1e-7) and 0.1 < got < 1
    # identical chunks: 1; the empirical distribution of a product of two-point laws: 0
    assert float(distance_correlation(torch.as_tensor(x), torch.as_tensor(x))) == \
        pytest.approx(1.0, abs=1e-6)
    a = torch.tensor([[0.0], [0.0], [1.0], [1.0]])
    b = torch.tensor([[0.0], [1.0], [0.0], [1.0]])
    assert numpy_dcor(a.numpy(), b.numpy()) == pytest.approx(0.0, abs=1e-12)
    assert float(distance_correlation(a, b)) < 1e-3
    # the independence loss sums all pairs k < k'
    e = torch.as_tensor(rng.normal(size=(20, 6)))
    c = e.chunk(3, 1)
    want = sum(numpy_dcor(c[p].numpy(), c[q].numpy()) for p, q in ((0, 1), (0, 2), (1, 2)))
    assert float(independence_loss(e, 3)) == pytest.approx(want, rel=1e-4)   # eps=1e-8 shifts


def tiny_split():
    u, i = np.nonzero(R)
    inter = Interactions.from_raw(u, i, timestamps=np.arange(len(u), dtype=float))
    return Split(inter, np.zeros(len(u), np.int8))


def test_loss_on_a_hand_computed_tiny_case():
    split = tiny_split()
    rng = np.random.default_rng(5)
    U, V = rng.normal(size=(5, 4)).astype(np.float32), rng.normal(size=(4, 4)).astype(np.float32)
    m = DGCF(dim=4, factors=2, layers=1, routing_iterations=2, reg=0.1, cor_weight=0.5,
             init=(U, V), batch_size=3)
    m._build(split)
    u, i, j = torch.tensor([0, 2, 4]), torch.tensor([2, 3, 0]), torch.tensor([1, 0, 2])
    cu, ci = torch.tensor([0, 2, 4]), torch.tensor([2, 3, 0])
    loss = float(m.batch_loss((u, i, j, cu, ci)).detach())
    eu, ei = reference_embeddings(U.astype(float), V.astype(float), R, 2, 1, 2)
    x = (eu[u] * (ei[i] - ei[j])).sum(1)
    bpr = np.mean(np.log1p(np.exp(-x)))
    l2 = 0.1 * np.mean((U[u] ** 2).sum(1) + (V[i] ** 2).sum(1) + (V[j] ** 2).sum(1))
    E = np.vstack([eu[cu], ei[ci]])
    cor = 0.5 * numpy_dcor(E[:, :2], E[:, 2:])
    assert loss == pytest.approx(bpr + l2 + cor, rel=1e-4)


def test_parameters_are_validated():
    with pytest.raises(ValueError, match="divisible"):
        DGCF(dim=10, factors=4)
    for bad in ({"factors": 0}, {"layers": 0}, {"routing_iterations": 0},
                {"cor_weight": -1.0}, {"cor_samples": 1}, {"reg": -1}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            DGCF(dim=8, **bad)


def planted_split(seed=0):
    """4 user groups, each interacting with its own block of 15 items (plus one random item)."""
    rng = np.random.default_rng(seed)
    users, items = [], []
    for u in range(80):
        g = u % 4
        chosen = rng.choice(15, 10, replace=False) + 15 * g
        chosen = np.append(chosen, rng.integers(60))
        users += [u] * len(chosen)
        items += list(chosen)
    ts = rng.random(len(users))
    from leporid.data import prepare
    return prepare(Interactions.from_raw(np.array(users), np.array(items), timestamps=ts),
                   min_count=2)


def test_learns_planted_structure():
    split = planted_split()
    m = DGCF(dim=16, factors=4, lr=0.02, epochs=4, batch_size=128, eval_every=1000, threads=1)
    m.fit(split)
    hr = evaluate(m, split, "test")["all"]["HR@10"]
    top = evaluate(TopPop().fit(split), split, "test")["all"]["HR@10"]
    assert hr > top + 0.3, (hr, top)


def test_uniform_weights_match_the_shared_normalised_adjacency():
    from leporid.models.graph_ops import normalized_adjacency

    u, i = bipartite_edges(sp.csr_matrix(R))
    w = sym_normalised_weights(torch.ones(1, len(u), dtype=torch.float64), torch.as_tensor(u),
                               torch.as_tensor(i), 5, 4)[0].numpy()
    L = normalized_adjacency(R).toarray()
    np.testing.assert_allclose(w, L[u, 5 + i], rtol=1e-12)
