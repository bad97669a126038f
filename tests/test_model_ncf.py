"""NeuMF: the loss by hand, batched scoring equals the pairwise network, both towers seeded,
negatives, learning."""

import numpy as np
import pytest
import scipy.sparse as sp

torch = pytest.importorskip("torch")

from planted_data import hr10, planted_split, toppop_hr10  # noqa: E402

from leporid.models.ncf import NeuMF  # noqa: E402


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_loss_on_a_hand_computed_case():
    X = sp.csr_matrix(np.array([[1, 0, 0]]))
    m = NeuMF(dim=1, mlp_layers=[1], n_neg=2)
    m._build(X)
    net = m.network_
    with torch.no_grad():
        net.user_gmf.weight.fill_(2.0)
        net.item_gmf.weight.copy_(torch.tensor([[1.0], [-1.0], [0.5]]))
        net.user_mlp.weight.fill_(1.0)
        net.item_mlp.weight.copy_(torch.tensor([[3.0], [-2.0], [0.0]]))
        net.mlp[0].weight.copy_(torch.tensor([[1.0, 1.0]]))       # relu(p + q - 1)
        net.mlp[0].bias.fill_(-1.0)
        net.out.weight.copy_(torch.tensor([[0.5, -1.0]]))          # 0.5 * gmf - 1 * mlp + 0.1
        net.out.bias.fill_(0.1)

    def y(i):
        g = 2.0 * [1.0, -1.0, 0.5][i]
        h = max(1.0 + [3.0, -2.0, 0.0][i] - 1.0, 0.0)
        return 0.5 * g - h + 0.1

    # y(0) = 1 - 3 + .1 = -1.9 (label 1); y(1) = -1 + 0 + .1 = -0.9, y(2) = .5 + .1 = .6 (label 0)
    expected = -(np.log(_sigmoid(y(0))) + np.log(1 - _sigmoid(y(1)))
                 + np.log(1 - _sigmoid(y(2)))) / 3
    batch = (torch.tensor([0]), torch.tensor([0]), torch.tensor([[1, 2]]))
    assert float(m.batch_loss(batch).detach()) == pytest.approx(expected, rel=1e-6)
    np.testing.assert_allclose(m.score(np.array([0]), "test"), [[y(0), y(1), y(2)]], rtol=1e-6)


def test_batched_scoring_equals_the_network_and_negatives_are_unseen():
    split = planted_split()
    m = NeuMF(dim=8, mlp_layers=[16, 8, 4], epochs=1, batch_size=64).fit(split)
    users = np.arange(split.n_users)
    s = m.score(users, "test")
    assert s.shape == (split.n_users, split.n_items) and s.dtype == np.float32
    uu, ii = np.meshgrid(users, np.arange(split.n_items), indexing="ij")
    with torch.no_grad():
        ref = m.network_(torch.as_tensor(uu), torch.as_tensor(ii)).numpy()
    np.testing.assert_allclose(s, ref, rtol=1e-5, atol=1e-5)
    with torch.no_grad():     # tiny chunks give the same result
        small = m.network_.score_all(torch.as_tensor(users), max_pairs=7).numpy()
    np.testing.assert_allclose(small, s, rtol=1e-6, atol=1e-6)
    batches = m.batches(np.random.default_rng(0))
    X = split.train.toarray().astype(bool)
    u = torch.cat([b[0] for b in batches]).numpy()
    i = torch.cat([b[1] for b in batches]).numpy()
    j = torch.cat([b[2] for b in batches]).numpy()
    assert j.shape == (split.train.nnz, 4) and X[u, i].all()
    assert not X[u[:, None], j].any()
    assert sorted(zip(u, i)) == sorted(zip(*split.train.nonzero()))


def test_both_towers_seeded_from_the_initial_arrays():
    split = planted_split()
    rng = np.random.default_rng(0)
    U = rng.normal(size=(split.n_users, 8)).astype(np.float32)
    V = rng.normal(size=(split.n_items, 8)).astype(np.float32)
    m = NeuMF(dim=8, init=(U, V), freeze_embeddings=True, epochs=1).fit(split)
    tables = m.embedding_tables()
    assert len(tables) == 2
    for ut, it in tables:                                 # frozen: still the initial arrays
        np.testing.assert_array_equal(ut.weight.detach().numpy(), U)
        np.testing.assert_array_equal(it.weight.detach().numpy(), V)
        assert not ut.weight.requires_grad


def test_learns_planted_structure():
    split = planted_split()
    m = NeuMF(dim=16, mlp_layers=[16, 8], epochs=20, batch_size=64, lr=0.01, seed=1).fit(split)
    assert hr10(m, split) > toppop_hr10(split) + 0.4
    assert NeuMF(mlp_layers="64,32").mlp_layers == [64, 32] == NeuMF(mlp_layers="64-32").mlp_layers
    for bad in ({"mlp_layers": []}, {"mlp_layers": "6x4"}, {"n_neg": 0}, {"mlp_layers": [0]}):
        with pytest.raises(ValueError):
            NeuMF(**bad)


def test_search_space_builds_valid_models():
    optuna = pytest.importorskip("optuna")
    trial = optuna.trial.FixedTrial({"lr": 1e-3, "weight_decay": 0.0, "n_neg": 3, "mlp_depth": 3})
    p = NeuMF.search_space(trial, {"dim": 16})
    assert p["mlp_layers"] == [16, 8, 4] and p["n_neg"] == 3
    assert NeuMF(dim=16, **p).mlp_layers == [16, 8, 4]
